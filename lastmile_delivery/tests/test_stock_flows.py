"""The delivery task follows its delivery order through the warehouse's own flows: multi-step
deliveries, transfers entered by hand, quantities changed or cancelled on the order, partial
reservations, backorders and the carrier's shipping steps."""

from datetime import datetime
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import NOW, LastmileCase


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestStockFlows(LastmileCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carrier.fixed_price = 5.0

    def test_multi_step_delivery_gets_its_task_on_the_shipping_step(self):
        """Pick, then ship: the delivery task belongs to the last step, the one that leaves the
        warehouse with the own fleet."""
        self.warehouse.delivery_steps = "pick_ship"
        order = self._create_order(user=self.salesperson)
        for _step in range(3):  # validate each step that is ready, as the warehouse does
            ready = order.picking_ids.filtered(
                lambda p: p.state == "assigned" and p.picking_type_code != "outgoing"
            )
            if not ready:
                break
            ready.with_user(self.stock_user).move_ids.picked = True
            ready.with_user(self.stock_user).button_validate()
        out = order.sudo().picking_ids.filtered(lambda p: p.picking_type_code == "outgoing")
        self.assertEqual(len(out), 1)
        task = out.lastmile_task_ids
        self.assertEqual(len(task), 1)
        self.assertEqual(len(order.sudo().lastmile_task_ids), 1, "one delivery, not one per step")
        self.assertEqual(out.carrier_tracking_ref, task.name)
        self.assertEqual((task.weight, task.sale_order_id), (2.0, order))

    def test_transfer_entered_by_hand_gets_its_task(self):
        picking = (
            self.env["stock.picking"]
            .with_user(self.stock_user)
            .create(
                {
                    "picking_type_id": self.warehouse.out_type_id.id,
                    "partner_id": self.customer.id,
                    "carrier_id": self.carrier.id,
                    "move_ids": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "product_uom_qty": 3,
                                "location_id": self.warehouse.lot_stock_id.id,
                                "location_dest_id": self.env.ref("stock.stock_location_customers").id,
                            }
                        )
                    ],
                }
            )
        )
        self.assertFalse(picking.sudo().lastmile_task_ids, "a draft transfer is not a delivery yet")
        picking.action_confirm()
        task = picking.sudo().lastmile_task_ids
        self.assertEqual(
            (task.weight, task.partner_shipping_id, task.sale_order_id.id), (6.0, self.customer, False)
        )

    def test_the_task_follows_quantities_changed_on_the_order(self):
        order = self._create_order(qty=1, user=self.salesperson)
        task = order.sudo().lastmile_task_ids
        order.with_user(self.salesperson).order_line.product_uom_qty = 4
        self.assertEqual(task.weight, 8.0)
        wine = self.env["product.product"].create({"name": "Wine box", "type": "consu", "weight": 9.0})
        order.with_user(self.salesperson).order_line = [
            Command.create({"product_id": wine.id, "product_uom_qty": 1})
        ]
        self.assertEqual(task.weight, 17.0)
        self.assertEqual(task.product_ids, self.product | wine)
        self.assertEqual(len(order.picking_ids), 1)

    def test_an_order_line_set_to_zero_cancels_the_delivery(self):
        order = self._create_order(qty=2, user=self.salesperson)
        task = order.sudo().lastmile_task_ids
        order.with_user(self.salesperson).order_line.product_uom_qty = 0
        self.assertEqual(order.picking_ids.state, "cancel")
        self.assertEqual(task.state, "cancelled")

    def test_driver_cannot_deliver_what_is_not_reserved(self):
        """Two of three boxes in stock: the driver's Delivered would deliver two and drop the
        third without telling anyone; it is refused, and says why."""
        boxes = self.env["product.product"].create(
            {"name": "Counted box", "is_storable": True, "weight": 1.0, "type": "consu"}
        )
        self.env["stock.quant"]._update_available_quantity(boxes, self.warehouse.lot_stock_id, 2)
        order = self._create_order(product=boxes, qty=3)
        picking = order.picking_ids
        picking.action_assign()
        self.assertEqual(picking.state, "assigned", "partly reserved, a direct transfer is ready")
        task = picking.lastmile_task_ids
        task.driver_id = self.driver
        with self.assertRaisesRegex(UserError, "not fully reserved \\(Counted box\\)"):
            task.with_user(self.driver_user).action_deliver()
        self.assertEqual((task.state, picking.state), ("assigned", "assigned"))
        self.assertEqual(order.order_line.qty_delivered, 0)

    def test_delivered_sends_no_warehouse_sms(self):
        task = self._create_order().lastmile_task_ids
        task.driver_id = self.driver
        validate = type(task.picking_id).button_validate
        contexts = []

        def spy(pickings):
            contexts.append(dict(pickings.env.context))
            return validate(pickings)

        with patch.object(type(task.picking_id), "button_validate", spy):
            task.with_user(self.driver_user).action_deliver()
        self.assertTrue(contexts[0].get("skip_sms"))
        self.assertEqual(task.picking_id.state, "done")

    def test_delivery_line_with_real_cost_and_free_shipping(self):
        """With the invoicing policy “real cost”, handing the order to the fleet sets the price on
        the order's delivery line, once; a large order ships free."""
        self.carrier.invoice_policy = "real"
        order = self._create_order(qty=2, user=self.salesperson)
        line = order.order_line.filtered("is_delivery")
        self.assertEqual(line.price_unit, 5.0)
        picking = order.picking_ids
        picking.move_ids.quantity = 1
        picking.move_ids.picked = True
        picking.with_user(self.stock_user).with_context(cancel_backorder=False)._action_done()
        self.assertEqual(
            len(order.order_line.filtered("is_delivery")), 1, "the backorder is not charged again"
        )
        self.carrier.write({"free_over": True, "amount": 20})
        big = self._create_order(qty=2, user=self.salesperson)  # 24.00
        self.assertEqual(big.picking_ids.carrier_price, 0.0)

    def test_cancelled_shipment_sent_again_reopens_the_delivery(self):
        picking = self._create_order().picking_ids
        task = picking.lastmile_task_ids
        picking.with_user(self.stock_user).cancel_shipment()
        self.assertEqual((task.state, picking.carrier_tracking_ref), ("cancelled", False))
        picking.send_to_shipper()
        self.assertEqual((task.state, picking.carrier_tracking_ref), ("new", task.name))
        # validated in the warehouse without the fleet (say, picked up at the shop): no tracking
        picking.with_user(self.stock_user).cancel_shipment()
        picking.move_ids.picked = True
        picking.with_user(self.stock_user).button_validate()
        self.assertEqual(picking.state, "done")
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertEqual(task.state, "cancelled")

    def test_shipping_wizard_prices_the_own_fleet_at_once(self):
        order = self._create_order(confirm=False, carrier=self.env["delivery.carrier"])
        wizard = Form(
            self.env["choose.delivery.carrier"]
            .with_user(self.salesperson)
            .with_context(default_order_id=order.id, default_carrier_id=self.carrier.id)
        )
        self.assertEqual(wizard.delivery_price, 5.0, "no “Get rate” needed for a fixed price")

    def test_delivery_method_added_or_changed_after_confirmation(self):
        """“Add shipping” on a confirmed order gives the own fleet the delivery; another method
        chosen later takes it back."""
        order = self._create_order(carrier=self.env["delivery.carrier"], user=self.salesperson)
        picking = order.picking_ids.sudo()
        self.assertFalse(picking.lastmile_task_ids)
        order.with_user(self.salesperson).set_delivery_line(self.carrier, 5.0)
        task = picking.lastmile_task_ids
        self.assertEqual((len(task), picking.carrier_tracking_ref), (1, task.name))
        post = self.env["delivery.carrier"].create(
            {"name": "Post", "delivery_type": "fixed", "product_id": self.carrier.product_id.id}
        )
        picking.with_user(self.stock_user).carrier_id = post
        self.assertEqual(task.state, "cancelled")

    def test_a_return_is_no_delivery(self):
        """Goods coming back, even through the delivery operation type, get no delivery task."""
        self.warehouse.out_type_id.return_picking_type_id = False
        picking = self._create_order().picking_ids
        picking.move_ids.picked = True
        picking.button_validate()
        wizard = (
            self.env["stock.return.picking"]
            .with_context(active_id=picking.id, active_model="stock.picking")
            .create({})
        )
        wizard.product_return_moves.quantity = 1
        returned = self.env["stock.picking"].browse(wizard.action_create_returns()["res_id"])
        self.assertTrue(returned.return_id)
        self.assertFalse(returned.lastmile_task_ids)

    def test_backorders_are_not_charged_even_with_a_margin(self):
        self.carrier.write({"invoice_policy": "real", "fixed_margin": 3.0})
        order = self._create_order(qty=2)
        picking = order.picking_ids
        self.assertEqual(picking.carrier_price, 8.0)
        picking.move_ids.quantity = 1
        picking.move_ids.picked = True
        picking.with_context(cancel_backorder=False)._action_done()
        self.assertEqual(picking.backorder_ids.carrier_price, 0.0)
        self.assertEqual(len(order.order_line.filtered("is_delivery")), 1)

    def test_shipment_sent_again_starts_from_dispatch(self):
        picking = self._create_order().picking_ids
        task = picking.lastmile_task_ids
        task.driver_id = self.driver
        picking.with_user(self.stock_user).cancel_shipment()
        picking.send_to_shipper()
        self.assertEqual(
            (task.state, task.driver_id.id, task.route_id.id, task.sequence), ("new", False, False, 0)
        )

    def test_the_delivery_follows_address_date_and_instructions(self):
        """Changed on the delivery order or the sales order after confirmation: the address, the
        window and the instructions of the delivery follow; a planned one leaves its round."""
        order = self._create_order(user=self.salesperson)
        task = order.sudo().lastmile_task_ids
        task.driver_id = self.driver
        self.env["lastmile.route"].plan_routes("2026-11-18", time_limit=1)
        self.assertTrue(task.route_id)
        elsewhere = self._create_customer("Elsewhere", (50.8357, 4.3365))
        order.picking_ids.with_user(self.stock_user).partner_id = elsewhere
        self.assertEqual(task.partner_shipping_id, elsewhere)
        self.assertEqual((task.route_id.id, task.eta), (False, False))
        self.assertEqual(task.driver_id, self.driver, "still the driver's: to plan again")
        self.assertIn("plan the day again", task.message_ids[0].body)
        order.with_user(self.salesperson).write(
            {"commitment_date": datetime(2026, 11, 19, 15, 0), "lastmile_instructions": "Side door"}
        )
        self.assertEqual(task.window_start, datetime(2026, 11, 19, 15, 0))
        self.assertIn("Side door", task.instructions)
