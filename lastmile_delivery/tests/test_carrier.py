"""The own fleet as an Odoo delivery provider: rate, send, track, cancel (stock_delivery's
``<type>_rate_shipment``, ``_send_shipping``, ``_get_tracking_link``, ``_cancel_shipment``)."""

from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import NOW, LastmileCase


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestCarrier(LastmileCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carrier.fixed_price = 5.0
        # a pricelist in another currency than the company's, at 2 units per company unit
        cls.foreign = cls.env["res.currency"].create({"name": "LMX", "symbol": "Ⓛ", "rounding": 0.01})
        cls.env["res.currency.rate"].create(
            {"currency_id": cls.foreign.id, "rate": 2.0, "name": "2026-01-01", "company_id": cls.company.id}
        )
        cls.pricelist = cls.env["product.pricelist"].create({"name": "Export", "currency_id": cls.foreign.id})

    def test_send_shipping_sets_tracking_reference_and_price(self):
        """Handing the order to the fleet goes through send_shipping, as for any carrier: the
        tracking reference is the delivery's, the shipping cost is set and logged."""
        send = type(self.carrier).lastmile_send_shipping
        with patch.object(
            type(self.carrier), "lastmile_send_shipping", autospec=True, side_effect=send
        ) as spy:
            order = self._create_order(user=self.salesperson)
        self.assertEqual(spy.call_count, 1)
        picking = order.picking_ids.sudo()
        task = picking.lastmile_task_ids
        self.assertEqual(picking.carrier_tracking_ref, task.name)
        self.assertEqual(picking.carrier_price, 5.0)
        self.assertIn("Shipment sent to carrier Our drivers", picking.message_ids.mapped("body")[0])
        # validating the delivery order does not send it a second time
        with patch.object(type(self.carrier), "lastmile_send_shipping") as again:
            task.driver_id = self.driver
            task.action_deliver()
        again.assert_not_called()
        self.assertEqual(picking.carrier_tracking_ref, task.name)

    def test_prices_are_in_the_orders_currency(self):
        order = self._create_order(confirm=False, pricelist_id=self.pricelist.id)
        self.assertEqual(order.currency_id, self.foreign)
        self.assertAlmostEqual(self.carrier.rate_shipment(order)["price"], 10.0)
        self.carrier.write(
            {"lastmile_pricing": "distance", "lastmile_base_price": 2, "lastmile_price_per_km": 0}
        )
        self.assertAlmostEqual(self.carrier.rate_shipment(order)["price"], 4.0)
        order.action_confirm()
        picking = order.picking_ids
        self.assertAlmostEqual(
            picking.carrier_price, 4.0, msg="send_shipping's price, in the order's currency"
        )
        self.assertIn("4.00 LMX", picking.message_ids.mapped("body")[0])

    def test_per_km_price_without_coordinates_never_blocks_the_order(self):
        """Confirming asks no geocoder: an address not located yet leaves the price to compute
        later, with a note, and the order is confirmed."""
        self.carrier.write(
            {"lastmile_pricing": "distance", "lastmile_base_price": 2, "lastmile_price_per_km": 1}
        )
        nowhere = self._create_customer("Nowhere")
        with self.mock_geocoder() as service:
            order = self._create_order(partner=nowhere, user=self.salesperson)
        service.assert_not_called()
        self.assertEqual(order.state, "sale")
        picking = order.picking_ids.sudo()
        self.assertIn("computed once the address is located", " ".join(picking.message_ids.mapped("body")))
        self.assertEqual(picking.carrier_price, 0.0)
        # once the queued job has located the address, the delivery is priced
        with self.mock_geocoder(answer=self.nominatim((50.8949, 4.3415))):  # the Atomium, 5.4 km away
            self.run_queue()
        self.assertAlmostEqual(picking.carrier_price, 2 + 5.40 * 1.3, delta=0.1)
        self.assertFalse(picking.lastmile_task_ids.price_pending)

    def test_cancel_shipment_cancels_the_task(self):
        picking = self._create_order().picking_ids
        task = picking.lastmile_task_ids
        picking.with_user(self.stock_user).cancel_shipment()
        self.assertEqual(task.state, "cancelled")
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertEqual(picking.state, "assigned", "the transfer itself stays: another carrier may take it")

    def test_cancel_shipment_refused_once_on_the_way(self):
        picking = self._create_order().picking_ids
        task = picking.lastmile_task_ids
        task.driver_id = self.driver
        task.action_start()
        with self.assertRaisesRegex(UserError, "already on its way or delivered"):
            picking.with_user(self.stock_user).cancel_shipment()
        self.assertEqual(task.state, "in_transit")
        self.assertTrue(picking.carrier_tracking_ref)
