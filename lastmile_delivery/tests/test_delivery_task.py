from datetime import datetime

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import NOW, LastmileCase


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestDeliveryTask(LastmileCase):
    def test_task_created_from_own_fleet_order(self):
        self.customer.lastmile_instructions = "Ring twice"
        order = self._create_order(qty=3, lastmile_instructions="Leave at the reception")
        task = order.lastmile_task_ids
        self.assertEqual(len(task), 1)
        picking = order.picking_ids
        self.assertEqual(task.picking_id, picking)
        self.assertEqual(task.partner_shipping_id, self.customer)
        self.assertEqual(task.partner_id, self.customer)
        self.assertEqual(task.state, "new")
        self.assertAlmostEqual(task.weight, 6.0)
        self.assertAlmostEqual(task.volume, 0.03)
        self.assertEqual(task.product_ids, self.product)
        self.assertEqual(task.instructions, "Ring twice\nLeave at the reception")
        self.assertEqual(task.address_state, "ok")
        # default window: the shop's delivery hours on the scheduled day
        self.assertEqual(task.window_start, datetime(2026, 11, 18, 9, 0))
        self.assertEqual(task.window_end, datetime(2026, 11, 18, 18, 0))
        self.assertEqual(task.scheduled_date.isoformat(), "2026-11-18")
        self.assertTrue(task.name.startswith("DLV/2026/"))
        self.assertEqual(picking.carrier_tracking_ref, task.name)
        self.assertFalse(picking.carrier_tracking_url, "no public tracking page to link to yet")
        self.assertEqual(order.lastmile_task_count, 1)

    def test_no_task_without_own_fleet(self):
        fixed = self.env["delivery.carrier"].create(
            {"name": "Post", "delivery_type": "fixed", "product_id": self.carrier.product_id.id}
        )
        self.assertFalse(self._create_order(carrier=fixed).lastmile_task_ids)
        self.assertFalse(self._create_order(carrier=self.env["delivery.carrier"]).lastmile_task_ids)

    def test_window_from_promised_date(self):
        order = self._create_order(commitment_date=datetime(2026, 11, 19, 14, 30))
        task = order.lastmile_task_ids
        self.assertEqual(task.window_start, datetime(2026, 11, 19, 14, 30))
        self.assertEqual(task.window_end, datetime(2026, 11, 19, 15, 30))

    def test_window_from_customer_preference_in_shop_timezone(self):
        self.company.partner_id.tz = "Europe/Brussels"  # UTC+1 in November
        self.company.resource_calendar_id.tz = "Europe/Brussels"
        self.customer.write({"lastmile_window_from": 18.0, "lastmile_window_to": 20.0})
        task = self._create_order().lastmile_task_ids
        self.assertEqual(task.window_start, datetime(2026, 11, 18, 17, 0))
        self.assertEqual(task.window_end, datetime(2026, 11, 18, 19, 0))

    def test_order_cancel_cancels_task(self):
        order = self._create_order()
        task = order.lastmile_task_ids
        order._action_cancel()
        self.assertEqual(task.state, "cancelled")
        self.assertEqual(order.picking_ids.state, "cancel")

    def test_task_cancel_cancels_picking(self):
        order = self._create_order()
        task = order.lastmile_task_ids
        task.action_cancel()
        self.assertEqual(task.state, "cancelled")
        self.assertEqual(task.picking_id.state, "cancel")

    def test_delivered_task_validates_picking_and_back(self):
        task = self._create_order().lastmile_task_ids
        task.driver_id = self.driver
        self.assertEqual(task.state, "assigned")
        task.action_start()
        task.action_deliver()
        self.assertEqual(task.state, "delivered")
        self.assertEqual(task.picking_id.state, "done")
        self.assertTrue(task.date_delivered)
        # and the other way: a delivery order validated in the warehouse delivers its task
        other = self._create_order().lastmile_task_ids
        picking = other.picking_id
        picking.move_ids.picked = True
        picking.button_validate()
        self.assertEqual(other.state, "delivered")

    def test_transitions_are_enforced_and_tracked(self):
        task = self._create_task()
        self.env.cr.precommit.run()
        with self.assertRaisesRegex(UserError, "To Dispatch: it cannot become On the Way"):
            task.action_start()
        task.driver_id = self.driver
        self.env.cr.precommit.run()  # chatter tracking is written just before the commit
        tracking = task.message_ids.tracking_value_ids.filtered(lambda v: v.field_id.name == "state")
        self.assertEqual(tracking[:1].new_value_char, "Assigned")
        task.action_start()
        with self.assertRaisesRegex(UserError, "cannot change driver"):
            task.driver_id = self.other_driver
        task.action_fail()
        task.action_reset()
        self.assertEqual((task.state, task.driver_id.id), ("new", False))
        task.action_cancel()
        with self.assertRaisesRegex(UserError, "Cancelled: it cannot become To Dispatch"):
            task.action_reset()
        on_the_way = self._create_task(driver_id=self.driver.id)
        on_the_way.action_start()
        with self.assertRaisesRegex(UserError, "On the Way: it cannot become Cancelled"):
            on_the_way.action_cancel()

    def test_manual_assignment_from_board(self):
        task = self._create_task()
        task.with_user(self.dispatcher_user).write({"driver_id": self.driver.id})
        self.assertEqual(task.state, "assigned")
        self.assertIn("Assigned by hand to Ana", task.dispatch_reason)
        task.with_user(self.dispatcher_user).write({"driver_id": self.other_driver.id})
        self.assertEqual(task.driver_id, self.other_driver)
        task.with_user(self.dispatcher_user).write({"driver_id": False})
        self.assertEqual(task.state, "new")
        self.assertIn("Unassigned by", task.message_ids[0].body)

    def test_bad_input(self):
        with self.assertRaisesRegex(ValidationError, "ends .* before it starts"):
            self._create_task(start=datetime(2026, 11, 18, 12, 0), end=datetime(2026, 11, 18, 9, 0))
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self._create_task(weight=-1)
        with self.assertRaisesRegex(ValidationError, "no working hours"):
            empty = self.env["resource.calendar"].create({"name": "Empty", "attendance_ids": False})
            self._create_driver("Nobody", resource_calendar_id=empty.id)
        with self.assertRaisesRegex(UserError, "cancel .* first"):
            task = self._create_task(driver_id=self.driver.id)
            task.unlink()

    def test_form_edition_by_dispatcher(self):
        task = self._create_task()
        with Form(task.with_user(self.dispatcher_user)) as form:
            form.driver_id = self.other_driver
            form.instructions = "Back door"
        self.assertEqual((task.state, task.instructions), ("assigned", "Back door"))

    def test_backorder_gets_its_own_task(self):
        order = self._create_order(qty=2)
        picking = order.picking_ids
        picking.move_ids.quantity = 1
        picking.move_ids.picked = True
        picking.with_context(cancel_backorder=False)._action_done()
        backorder = order.picking_ids - picking
        self.assertTrue(backorder)
        self.assertEqual(len(backorder.lastmile_task_ids), 1)
        self.assertEqual(picking.lastmile_task_ids.state, "delivered")

    def test_rate_shipment(self):
        self.carrier.fixed_price = 4.5
        order = self._create_order(confirm=False)
        self.assertEqual(self.carrier.rate_shipment(order)["price"], 4.5)
        self.carrier.write(
            {"lastmile_pricing": "distance", "lastmile_base_price": 2, "lastmile_price_per_km": 1}
        )
        far = self._create_customer("Far", (50.8949, 4.3415))
        rate = self.carrier.rate_shipment(self._create_order(partner=far, confirm=False))
        self.assertTrue(rate["success"])
        self.assertAlmostEqual(rate["price"], 2 + 5.40 * 1.3, delta=0.1)
        # price rules, as for any carrier
        self.carrier.write(
            {
                "lastmile_pricing": "rules",
                "price_rule_ids": [
                    (0, 0, {"variable": "weight", "operator": "<=", "max_value": 5, "list_base_price": 3}),
                    (0, 0, {"variable": "weight", "operator": ">", "max_value": 5, "list_base_price": 7}),
                ],
            }
        )
        self.assertEqual(self.carrier.rate_shipment(self._create_order(qty=1, confirm=False))["price"], 3)
        self.assertEqual(self.carrier.rate_shipment(self._create_order(qty=4, confirm=False))["price"], 7)
        self.carrier.lastmile_pricing = "distance"
        # an address without coordinates: no geocoder in the salesperson's request, the address
        # is queued, and the price comes a moment later
        somewhere = self._create_customer("Somewhere")
        order = self._create_order(partner=somewhere, confirm=False, user=self.salesperson)
        with self.mock_geocoder(answer=self.nominatim((50.8949, 4.3415))) as service:
            rate = self.carrier.with_user(self.salesperson).rate_shipment(order)
            self.assertEqual(service.call_count, 0)
            self.assertFalse(rate["success"])
            self.assertIn("it is being located, ask for the price again in a minute", rate["error_message"])
            self.run_queue()
            self.assertEqual(service.call_count, 1)
        rate = self.carrier.with_user(self.salesperson).rate_shipment(order)
        self.assertAlmostEqual(rate["price"], 2 + 5.40 * 1.3, delta=0.1)
        # an address the geocoder does not know says so
        nowhere = self._create_customer("Nowhere")
        order = self._create_order(partner=nowhere, confirm=False)
        self.carrier.rate_shipment(order)
        with self.mock_geocoder(answer=[]):
            self.run_queue()
        rate = self.carrier.rate_shipment(order)
        self.assertIn("the geocoder does not know it: check its street and city", rate["error_message"])
        nowhere.street = "Rue Neuve 1"  # corrected: located again
        self.assertIn("being located", self.carrier.rate_shipment(order)["error_message"])

    def test_address_follows_the_partner(self):
        task = self._create_task()
        self.assertEqual(task.address, "Rue Carla 1, 1000 Bruxelles")
        self.customer.write({"street": "Avenue Louise 54", "city": "Ixelles", "zip": "1050"})
        self.assertEqual(task.address, "Avenue Louise 54, 1050 Ixelles")

    def test_day_follows_the_shop_time_zone(self):
        """23:30 UTC on the 18th is already the 19th in Brussels."""
        task = self._create_task(start=datetime(2026, 11, 18, 23, 30), end=datetime(2026, 11, 18, 23, 45))
        self.assertEqual(task.scheduled_date.isoformat(), "2026-11-18")
        self.company.partner_id.tz = "Europe/Brussels"
        self.assertEqual(task.scheduled_date.isoformat(), "2026-11-19")
        self.assertEqual(
            self.env["lastmile.delivery.task"].search(
                [("id", "=", task.id), ("scheduled_date", "=", "2026-11-19")]
            ),
            task,
        )

    def test_window_after_closing_time_is_tomorrow(self):
        """Confirmed at 19:00, after the shop's 18:00 closing, a delivery without promised time
        goes out the next day, not late today."""
        with freeze_time("2026-11-18 19:00:00"):
            task = self._create_order().lastmile_task_ids
        self.assertEqual(task.window_start, datetime(2026, 11, 19, 9, 0))
        self.assertEqual(task.scheduled_date.isoformat(), "2026-11-19")

    def test_customer_and_address_of_the_tasks_company(self):
        other = self.env["res.company"].create({"name": "Other Shop"})
        foreign = self._create_customer("Their customer", company_id=other.id)
        with self.assertRaises(UserError):
            self._create_task(partner=foreign)
