"""Every flow as the least-privileged person who does it in a shop: a salesperson, a stock
clerk, a driver, a customer, a user of another company. None of them is an administrator."""

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import NOW, LastmileCase


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestShopStaff(LastmileCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.lastmile_auto_dispatch = True
        cls.post = cls.env["delivery.carrier"].create(
            {
                "name": "Post",
                "delivery_type": "fixed",
                "fixed_price": 6,
                "product_id": cls.carrier.product_id.id,
            }
        )
        cls.warehouse_stock = cls.warehouse.lot_stock_id

    def _picking(self, picking_type, qty=2):
        """A transfer of ``qty`` pizza boxes, as the warehouse would get it."""
        inbound = picking_type.code == "incoming"
        source = self.env.ref("stock.stock_location_suppliers") if inbound else self.warehouse_stock
        destination = self.warehouse_stock if inbound else self.env.ref("stock.stock_location_customers")
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": picking_type.id,
                "partner_id": self.customer.id,
                "location_id": source.id,
                "location_dest_id": destination.id,
                "move_ids": [
                    Command.create(
                        {
                            "product_id": self.product.id,
                            "product_uom_qty": qty,
                            "location_id": source.id,
                            "location_dest_id": destination.id,
                        }
                    )
                ],
            }
        )
        picking.action_confirm()
        return picking

    # ------------------------------------------------------------------ salesperson

    def test_salesperson_confirms_own_fleet_and_other_orders(self):
        own = self._create_order(user=self.salesperson)
        self.assertEqual(own.state, "sale")
        task = own.sudo().lastmile_task_ids
        self.assertEqual(len(task), 1)
        self.assertEqual(own.picking_ids.carrier_tracking_ref, task.name)
        # no public tracking page yet: no link to a page that does not exist
        self.assertFalse(own.picking_ids.with_user(self.salesperson).carrier_tracking_url)
        other = self._create_order(user=self.salesperson, carrier=self.post)
        self.assertEqual(other.state, "sale")
        self.assertFalse(other.sudo().lastmile_task_ids)
        none = self._create_order(user=self.salesperson, carrier=self.env["delivery.carrier"])
        self.assertEqual(none.state, "sale")
        # order → task → driver, once the queued job has run
        self.run_queue()
        self.assertEqual(task.state, "assigned")
        self.assertIn(task.driver_id, self.driver | self.other_driver)
        # the salesperson reads nothing of the delivery task itself
        with self.assertRaises(AccessError):
            task.with_user(self.salesperson).read(["name"])

    def test_salesperson_cancels_an_order(self):
        order = self._create_order(user=self.salesperson)
        order.with_user(self.salesperson)._action_cancel()
        self.assertEqual(order.sudo().lastmile_task_ids.state, "cancelled")

    # ------------------------------------------------------------------ stock clerk

    def test_stock_clerk_validates_transfers_of_every_kind(self):
        receipt = self._picking(self.warehouse.in_type_id)
        other = self._create_order(carrier=self.post).picking_ids
        own = self._create_order().picking_ids
        task = own.lastmile_task_ids
        for picking in receipt | other | own:
            picking = picking.with_user(self.stock_user)
            picking.move_ids.picked = True
            picking.button_validate()
            self.assertEqual(picking.state, "done", picking.picking_type_code)
        self.assertEqual(task.state, "delivered", "the task follows its delivery order")
        self.assertTrue(task.date_delivered)

    def test_stock_clerk_cancels_transfers_of_every_kind(self):
        receipt = self._picking(self.warehouse.in_type_id)
        other = self._create_order(carrier=self.post).picking_ids
        own = self._create_order().picking_ids
        task = own.lastmile_task_ids
        (receipt | other | own).with_user(self.stock_user).action_cancel()
        self.assertEqual(set((receipt | other | own).mapped("state")), {"cancel"})
        self.assertEqual(task.state, "cancelled")

    def test_stock_clerk_cannot_cancel_goods_on_the_van(self):
        own = self._create_order().picking_ids
        task = own.lastmile_task_ids
        task.driver_id = self.driver
        task.with_user(self.driver_user).action_start()
        with self.assertRaisesRegex(UserError, "on its way with Ana"):
            own.with_user(self.stock_user).action_cancel()
        self.assertEqual((own.state, task.state), ("assigned", "in_transit"))

    def test_stock_clerk_makes_backorders_of_every_kind(self):
        receipt = self._picking(self.warehouse.in_type_id, qty=2)
        other = self._create_order(carrier=self.post, qty=2).picking_ids
        own = self._create_order(qty=2).picking_ids
        for picking in receipt | other | own:
            picking = picking.with_user(self.stock_user)
            picking.move_ids.quantity = 1
            picking.move_ids.picked = True
            picking.with_context(cancel_backorder=False)._action_done()
            self.assertTrue(picking.backorder_ids, picking.picking_type_code)
        backorder_task = own.backorder_ids.lastmile_task_ids
        self.assertEqual(len(backorder_task), 1, "the rest of the own-fleet order gets its own delivery")
        self.assertEqual(backorder_task.state, "new")
        # with what is left to deliver, for the same order and address
        self.assertEqual((backorder_task.weight, backorder_task.product_ids), (2.0, self.product))
        self.assertEqual(own.lastmile_task_ids.weight, 2.0, "the first delivery carried one box of two")
        self.assertEqual(backorder_task.sale_order_id, own.sale_id)
        self.assertEqual(backorder_task.partner_shipping_id, self.customer)
        self.assertEqual(own.backorder_ids.carrier_price, 0.0, "the rest of an order is not charged again")
        self.assertEqual(own.lastmile_task_ids.state, "delivered")
        self.assertFalse(other.backorder_ids.lastmile_task_ids | receipt.backorder_ids.lastmile_task_ids)

    def test_stock_clerk_opens_the_transfer_form(self):
        own = self._create_order().picking_ids.with_user(self.stock_user)
        self.assertEqual(own.carrier_tracking_ref, own.sudo().lastmile_task_ids.name)
        self.assertFalse(own.carrier_tracking_url)
        own.get_views([(False, "form")])
        own.read(["carrier_tracking_url", "carrier_tracking_ref", "carrier_price"])


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestDriverActions(LastmileCase):
    def _assigned_order_task(self, driver=None):
        task = self._create_order().lastmile_task_ids
        task.driver_id = driver or self.driver
        return task

    def test_driver_delivers_own_task_and_its_order_follows(self):
        task = self._assigned_order_task()
        mine = task.with_user(self.driver_user)
        # over RPC too: the buttons answer True (XML-RPC cannot carry None)
        self.assertIs(mine.action_start(), True)
        self.assertIs(mine.action_deliver(), True)
        self.assertEqual(task.state, "delivered")
        self.assertEqual(task.picking_id.state, "done", "the delivery order is validated with the task")
        self.assertEqual(task.sale_order_id.order_line.qty_delivered, 1)
        self.assertTrue(task.date_delivered)

    def test_driver_fails_own_task(self):
        task = self._assigned_order_task()
        task.with_user(self.driver_user).action_fail()
        self.assertEqual(task.state, "failed")
        self.assertEqual(task.picking_id.state, "assigned", "the goods are still to deliver")

    def test_driver_is_refused_on_another_drivers_task(self):
        theirs = self._assigned_order_task(self.other_driver)
        for action in ("action_start", "action_deliver", "action_fail", "action_cancel", "action_reset"):
            with self.assertRaises(AccessError, msg=action):
                getattr(theirs.with_user(self.driver_user), action)()
        self.assertEqual((theirs.state, theirs.picking_id.state), ("assigned", "assigned"))

    def test_driver_cannot_write_the_status(self):
        task = self._assigned_order_task()
        mine = task.with_user(self.driver_user)
        for values in ({"state": "delivered"}, {"date_delivered": NOW}, {"state": "cancelled"}):
            with self.assertRaises(AccessError):
                mine.write(values)
        # no context key unlocks anything, not even for a dispatcher, who may write on deliveries
        for key in ("lastmile_picking_sync", "lastmile_planning"):
            for user in (self.driver_user, self.dispatcher_user):
                with self.assertRaises(AccessError):
                    task.with_user(user).with_context(**{key: True}).write({"state": "cancelled"})
        self.assertEqual((task.state, task.picking_id.state), ("assigned", "assigned"))

    def test_reading_a_colleagues_task_is_not_enough_to_move_it(self):
        """Should a rule ever let drivers read each other's deliveries (a team view), the
        buttons still move only one's own."""
        theirs = self._assigned_order_task(self.other_driver)
        self.env["ir.rule"].create(
            {
                "name": "Drivers read the team's deliveries",
                "model_id": self.env.ref("lastmile_delivery.model_lastmile_delivery_task").id,
                "domain_force": "[(1, '=', 1)]",
                "groups": [Command.link(self.env.ref("lastmile_delivery.group_lastmile_driver").id)],
                "perm_write": False,
                "perm_create": False,
                "perm_unlink": False,
            }
        )
        self.assertTrue(theirs.with_user(self.driver_user).read(["name"]))
        for action in ("action_start", "action_deliver", "action_fail"):
            with self.assertRaisesRegex(AccessError, "is not assigned to you", msg=action):
                getattr(theirs.with_user(self.driver_user), action)()
        self.assertEqual(theirs.state, "assigned")

    def test_drivers_leave_notes_customers_do_not_post(self):
        task = self._assigned_order_task()
        task.with_user(self.driver_user).message_post(body="Gate code changed: 4321", message_type="comment")
        self.assertIn("Gate code changed", task.message_ids[0].body)
        portal_user = new_test_user(self.env, "lm_portal_poster", groups="base.group_portal")
        task.sudo().partner_id = portal_user.partner_id
        operations = task.with_user(portal_user)._mail_get_operation_for_mail_message_operation("create")
        self.assertEqual(operations[task], "write", "a customer needs write access to post: they have none")
        with self.assertRaises(AccessError):
            task.with_user(portal_user).check_access("write")
        theirs = self._assigned_order_task(self.other_driver)
        operations = theirs.with_user(self.driver_user)._mail_get_operation_for_mail_message_operation(
            "create"
        )
        self.assertEqual(operations[theirs], "write")

    def test_nobody_writes_the_status_directly(self):
        """Not even a dispatcher or a manager: the status moves only through the buttons."""
        task = self._assigned_order_task()
        for user in (self.dispatcher_user, self.manager_user):
            with self.assertRaisesRegex(AccessError, "only through its buttons"):
                task.with_user(user).write({"state": "delivered"})
            with self.assertRaisesRegex(AccessError, "only through its buttons"):
                self.env["lastmile.delivery.task"].with_user(user).create(
                    {
                        "partner_id": self.customer.id,
                        "partner_shipping_id": self.customer.id,
                        "window_start": NOW,
                        "window_end": NOW,
                        "state": "delivered",
                    }
                )

    def test_dispatcher_moves_any_task_of_the_company(self):
        task = self._assigned_order_task(self.other_driver)
        task.with_user(self.dispatcher_user).action_fail()
        task.with_user(self.dispatcher_user).action_reset()
        self.assertEqual((task.state, task.driver_id.id), ("new", False))
        task.with_user(self.dispatcher_user).action_cancel()
        self.assertEqual((task.state, task.picking_id.state), ("cancelled", "cancel"))


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestCustomersAndOtherCompanies(LastmileCase):
    def test_portal_customer_reads_no_internal_text(self):
        portal_user = new_test_user(self.env, "lm_portal_reader", groups="base.group_portal")
        task = self._create_task(partner=portal_user.partner_id, driver_id=self.driver.id)
        task.sudo().write({"geocode_issue": "Nominatim said 503", "dispatch_issue": "x"})
        mine = task.with_user(portal_user)
        self.assertEqual(mine.read(["name", "state"])[0]["state"], "assigned")
        for field in (
            "dispatch_reason",
            "dispatch_issue",
            "geocode_issue",
            "geocode_pending",
            "dispatch_pending",
        ):
            with self.assertRaises(AccessError, msg=field):
                mine.read([field])

    def test_other_company_sells_dispatches_and_plans_on_its_own(self):
        other = self.env["res.company"].create({"name": "Other Shop", "lastmile_auto_dispatch": True})
        other.partner_id.tz = "UTC"
        self.env["stock.warehouse"].search([("company_id", "=", other.id)]).partner_id.write(
            {"partner_latitude": 50.85, "partner_longitude": 4.35}
        )
        seller = new_test_user(
            self.env,
            "lm_other_seller",
            groups="sales_team.group_sale_salesman,stock.group_stock_user",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        dispatcher = new_test_user(
            self.env,
            "lm_other_dispatcher",
            groups="lastmile_delivery.group_lastmile_dispatcher",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        calendar = self.calendar.copy({"company_id": other.id})
        theirs = self._create_driver(
            "Zoe", company_id=other.id, resource_calendar_id=calendar.id, on_duty=True
        )
        carrier = self.carrier.copy({"product_id": self.carrier.product_id.copy({"company_id": other.id}).id})
        ours = self._create_order()
        order = (
            self.env["sale.order"]
            .with_user(seller)
            .create(
                {
                    "partner_id": self.customer.id,
                    "carrier_id": carrier.id,
                    "order_line": [Command.create({"product_id": self.product.id, "product_uom_qty": 1})],
                }
            )
        )
        order.action_confirm()
        task = order.sudo().lastmile_task_ids
        self.assertEqual(task.company_id, other)
        self.run_queue()
        self.assertEqual(task.driver_id, theirs, "dispatched to the other company's own driver")
        self.assertEqual(ours.lastmile_task_ids.state, "new", "our shop does not dispatch on confirmation")
        # their dispatcher sees and plans their deliveries only
        Task = self.env["lastmile.delivery.task"].with_user(dispatcher)
        self.assertEqual(Task.search([]), task)
        with self.assertRaises(AccessError):
            ours.lastmile_task_ids.with_user(dispatcher).read(["name"])
        with self.assertRaises(AccessError):
            ours.lastmile_task_ids.with_user(dispatcher).action_dispatch()
        summary = self.env["lastmile.route"].with_user(dispatcher).plan_routes("2026-11-18", time_limit=1)
        self.assertEqual(summary["planned"], 1)
        self.assertEqual(task.route_id.company_id, other)
        self.assertFalse(ours.lastmile_task_ids.route_id)
        # and our dispatcher does not see theirs
        with self.assertRaises(AccessError):
            task.with_user(self.dispatcher_user).read(["name"])


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestCoordinates(LastmileCase):
    def test_a_dispatcher_sets_coordinates_of_delivery_addresses_only(self):
        dispatcher = new_test_user(
            self.env, "lm_coord_dispatcher", groups="lastmile_delivery.group_lastmile_dispatcher"
        )
        for contact in (self.warehouse.partner_id, self.driver_user.partner_id, self.company.partner_id):
            task = self._create_task(partner=contact)
            with self.assertRaisesRegex(UserError, "contact of a user or of a company"):
                task.with_user(dispatcher).write({"latitude": 1.0, "longitude": 1.0})
        self.assertNotEqual(self.warehouse.partner_id.partner_latitude, 1.0)
