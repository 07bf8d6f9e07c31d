from freezegun import freeze_time

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import NOW, LastmileCase


@tagged("post_install", "-at_install")
class TestSecurity(LastmileCase):
    def test_group_ladder(self):
        """Manager implies Dispatcher implies Driver implies internal user."""
        self.assertTrue(self.manager_user.has_group("lastmile_delivery.group_lastmile_dispatcher"))
        self.assertTrue(self.manager_user.has_group("lastmile_delivery.group_lastmile_driver"))
        self.assertTrue(self.dispatcher_user.has_group("lastmile_delivery.group_lastmile_driver"))
        self.assertFalse(self.dispatcher_user.has_group("lastmile_delivery.group_lastmile_manager"))
        self.assertFalse(self.driver_user.has_group("lastmile_delivery.group_lastmile_dispatcher"))
        self.assertTrue(self.driver_user.has_group("base.group_user"))
        privilege = self.env.ref("lastmile_delivery.res_groups_privilege_lastmile")
        self.assertLessEqual({"Driver", "Dispatcher", "Manager"}, set(privilege.group_ids.mapped("name")))
        self.assertTrue(self.env.ref("base.user_admin").has_group("lastmile_delivery.group_lastmile_manager"))

    def test_driver_sees_only_own_record(self):
        Driver = self.env["lastmile.driver"].with_user(self.driver_user)
        self.assertEqual(Driver.search([]), self.driver)
        with self.assertRaises(AccessError):
            self.other_driver.with_user(self.driver_user).read(["name"])
        with self.assertRaises(AccessError):
            self.driver.with_user(self.driver_user).write({"capacity_weight": 10})

    def test_dispatcher_sees_all_drivers_of_company_only(self):
        other_company = self.env["res.company"].create({"name": "Other Shop"})
        foreign = self._create_driver("Carla", company_id=other_company.id)
        Driver = self.env["lastmile.driver"].with_user(self.dispatcher_user)
        drivers = Driver.search([])
        self.assertIn(self.driver, drivers)
        self.assertIn(self.other_driver, drivers)
        self.assertNotIn(foreign, drivers)
        was_on_duty = self.driver.on_duty
        self.driver.with_user(self.dispatcher_user).action_toggle_on_duty()
        self.assertEqual(self.driver.on_duty, not was_on_duty)
        with self.assertRaises(AccessError):
            Driver.create({"name": "Not allowed", "resource_calendar_id": self.calendar.id})

    def test_manager_manages_drivers(self):
        Driver = self.env["lastmile.driver"].with_user(self.manager_user)
        driver = Driver.create({"name": "Dora", "resource_calendar_id": self.calendar.id})
        self.assertEqual(driver.resource_id.name, "Dora")
        driver.unlink()
        self.assertFalse(driver.exists())

    def test_driver_user_needs_driver_group(self):
        plain_user = new_test_user(self.env, "lm_plain", groups="base.group_user")
        with self.assertRaisesRegex(ValidationError, "Driver access"):
            self._create_driver("Eve", plain_user)

    def test_negative_capacity_refused(self):
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self._create_driver("Fay", capacity_weight=-5)

    def test_menu_visibility(self):
        root = self.env.ref("lastmile_delivery.menu_root")
        drivers_menu = self.env.ref("lastmile_delivery.menu_drivers")
        visible = self.env["ir.ui.menu"].with_user(self.dispatcher_user)._visible_menu_ids()
        self.assertIn(root.id, visible)
        self.assertIn(drivers_menu.id, visible)
        visible = self.env["ir.ui.menu"].with_user(self.driver_user)._visible_menu_ids()
        self.assertNotIn(drivers_menu.id, visible)


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestTaskAccess(LastmileCase):
    def test_driver_sees_only_own_tasks(self):
        mine = self._create_task(driver_id=self.driver.id)
        theirs = self._create_task(driver_id=self.other_driver.id)
        unassigned = self._create_task()
        Task = self.env["lastmile.delivery.task"].with_user(self.driver_user)
        self.assertEqual(Task.search([]), mine)
        with self.assertRaises(AccessError):
            theirs.with_user(self.driver_user).read(["name"])
        with self.assertRaises(AccessError):
            unassigned.with_user(self.driver_user).read(["name"])
        # a driver moves their delivery along, nothing else
        mine.with_user(self.driver_user).action_start()
        self.assertEqual(mine.state, "in_transit")
        with self.assertRaises(AccessError):
            mine.with_user(self.driver_user).write({"driver_id": self.other_driver.id})
        with self.assertRaises(AccessError):
            mine.with_user(self.driver_user).action_dispatch()

    def test_dispatcher_sees_company_tasks_only(self):
        other_company = self.env["res.company"].create({"name": "Other Shop"})
        ours = self._create_task()
        foreign = self._create_task(company_id=other_company.id)
        Task = self.env["lastmile.delivery.task"].with_user(self.dispatcher_user)
        tasks = Task.search([])
        self.assertIn(ours, tasks)
        self.assertNotIn(foreign, tasks)
        # a dispatcher allowed in both companies sees both, each dispatched with its own drivers
        self.dispatcher_user.company_ids |= other_company
        foreign_driver = self._create_driver("Zoe", company_id=other_company.id, on_duty=True)
        both = ours | foreign
        both.with_user(self.dispatcher_user).with_context(
            allowed_company_ids=[self.company.id, other_company.id]
        ).action_dispatch()
        self.assertEqual(foreign.driver_id, foreign_driver)
        self.assertIn(ours.driver_id, self.driver | self.other_driver)

    def test_portal_customer_sees_own_deliveries(self):
        portal_user = new_test_user(self.env, "lm_portal", groups="base.group_portal")
        mine = self._create_task(partner=portal_user.partner_id)
        other = self._create_task()
        Task = self.env["lastmile.delivery.task"].with_user(portal_user)
        self.assertEqual(Task.search([]), mine)
        with self.assertRaises(AccessError):
            other.with_user(portal_user).read(["name"])
        with self.assertRaises(AccessError):
            mine.with_user(portal_user).write({"instructions": "hack"})

    def test_rules_and_settings_are_for_managers(self):
        tag = self.env["lastmile.driver.tag"].create({"name": "Bike"})
        values = {"name": "Bikes downtown", "domain": "[]", "tag_ids": [(6, 0, tag.ids)]}
        with self.assertRaises(AccessError):
            self.env["lastmile.dispatch.rule"].with_user(self.dispatcher_user).create(values)
        rule = self.env["lastmile.dispatch.rule"].with_user(self.manager_user).create(values)
        self.assertTrue(rule.with_user(self.dispatcher_user).read(["name"]))

    def test_driver_reads_only_the_customers_of_own_deliveries(self):
        """The address book is not a driver's: they read the people of the company, their
        depot and the customers (and their companies) of their own deliveries, nothing else."""
        company_of_carla = self._create_customer("Carla's Office", is_company=True)
        self.customer.parent_id = company_of_carla
        orderer = self._create_customer("Olivia (orders for Carla)")
        mine = self._create_task(partner_shipping_id=self.customer.id, partner_id=orderer.id)
        mine.driver_id = self.driver
        stranger = self._create_customer("Stranger")
        bruno_customer = self._create_customer("Bruno's customer")
        self._create_task(partner=bruno_customer, driver_id=self.other_driver.id)
        depot = self._create_customer("Depot North")
        self.driver.start_partner_id = depot

        Partner = self.env["res.partner"].with_user(self.driver_user)
        visible = Partner.search([("id", "in", (stranger | bruno_customer | self.customer).ids)])
        self.assertEqual(visible, self.customer)
        for partner in (stranger, bruno_customer):
            with self.assertRaises(AccessError):
                partner.with_user(self.driver_user).read(["name", "phone"])
        # what My Route and the task's chatter show
        readable = self.customer | company_of_carla | orderer | depot
        readable |= self.dispatcher_user.partner_id | self.company.partner_id
        rows = readable.with_user(self.driver_user).read(["display_name"])  # AccessError if one is hidden
        self.assertEqual({row["id"] for row in rows}, set(readable.ids))
        self.assertEqual(
            mine.with_user(self.driver_user).partner_shipping_id.display_name, "Carla's Office, Carla"
        )
        # a delivery handed to another driver takes its customer with it
        mine.driver_id = self.other_driver
        with self.assertRaises(AccessError):
            orderer.with_user(self.driver_user).read(["name"])

    def test_roles_that_work_with_contacts_keep_them_when_driving(self):
        """A driver who also holds a role of another application (sales, stock, contacts…) and
        dispatchers still see every contact; users without Last Mile rights are unaffected."""
        stranger = self._create_customer("Stranger")
        driving_seller = new_test_user(
            self.env,
            "lm_driving_seller",
            groups="lastmile_delivery.group_lastmile_driver,sales_team.group_sale_salesman",
        )
        driving_clerk = new_test_user(
            self.env,
            "lm_driving_clerk",
            groups="lastmile_delivery.group_lastmile_driver,stock.group_stock_user",
        )
        driving_contact_manager = new_test_user(
            self.env,
            "lm_driving_contacts",
            groups="lastmile_delivery.group_lastmile_driver,base.group_partner_manager",
        )
        employee = new_test_user(self.env, "lm_employee", groups="base.group_user")
        for user in (
            driving_seller,
            driving_clerk,
            driving_contact_manager,
            self.dispatcher_user,
            self.manager_user,
            employee,
        ):
            with self.subTest(user=user.login):
                self.assertEqual(
                    self.env["res.partner"].with_user(user).search([("id", "=", stranger.id)]), stranger
                )
