from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged

from .common import all_day_calendar, midday_zone  # common: PyVRP keeps the wall clock under freeze_time


@tagged("post_install", "-at_install")
class TestUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dispatcher = new_test_user(
            cls.env, "tour_dispatcher", groups="lastmile_delivery.group_lastmile_dispatcher"
        )
        Calendar = cls.env["resource.calendar"]
        cls.calendar = Calendar.create(all_day_calendar("Tour shifts (24/7)"))
        # for the tours that run now, whatever the hour: a shift that has hours left
        cls.now_calendar = Calendar.create(all_day_calendar("Tour shifts (now)", midday_zone()))

    def _driver(self, name, calendar=None):
        return self.env["lastmile.driver"].create(
            {"name": name, "resource_calendar_id": (calendar or self.calendar).id, "on_duty": True}
        )

    def _task(self, name, driver=None):
        partner = self.env["res.partner"].create(
            {"name": name, "partner_latitude": 50.85, "partner_longitude": 4.35, "street": "Rue Neuve 1"}
        )
        # today, in the middle of the day in the browser's (the user's) time zone
        now = fields.Datetime.now().replace(hour=10, minute=0, second=0, microsecond=0)
        return self.env["lastmile.delivery.task"].create(
            {
                "partner_id": partner.id,
                "partner_shipping_id": partner.id,
                "window_start": now,
                "window_end": now + timedelta(hours=2),
                "driver_id": driver and driver.id,
            }
        )

    def test_dispatcher_opens_last_mile_app(self):
        """A dispatcher logs in and opens the Last Mile app from the apps menu."""
        self._driver("Tour Driver")
        self.start_tour("/odoo", "lastmile_open_menu", login="tour_dispatcher")

    def test_dispatch_from_the_board(self):
        """Drag a delivery to another driver, dispatch an unassigned one from its card."""
        self.dispatcher.tz = "UTC"
        ana, bruno = self._driver("Ana", self.now_calendar), self._driver("Bruno", self.now_calendar)
        moved = self._task("Tour Customer A", ana)
        waiting = self._task("Tour Customer B")
        self.assertEqual(moved.scheduled_date, fields.Date.today(), "the board opens on today's deliveries")
        self.start_tour("/odoo", "lastmile_board_dispatch", login="tour_dispatcher")
        self.assertEqual(moved.driver_id, bruno)
        self.assertIn("Assigned by hand to Bruno by", moved.dispatch_reason)
        self.assertEqual(waiting.state, "assigned")
        self.assertIn(waiting.driver_id, ana | bruno)
        self.assertTrue(waiting.dispatch_reason.startswith(f"Assigned to {waiting.driver_id.name}: "))

    def test_dispatch_map(self):
        """The map shows today's deliveries and drivers, filters by driver, dispatches."""
        self.dispatcher.tz = "UTC"
        driver = self._driver("Map Driver", self.now_calendar)
        first = self._task("Map Customer 1", driver)
        first.sequence = 1
        waiting = self._task("Map Customer 2")
        self.start_tour("/odoo", "lastmile_dispatch_map", login="tour_dispatcher")
        self.assertEqual(waiting.driver_id, driver)

    # in the morning, before the deliveries' windows (10:00–12:00): an afternoon run would plan
    # them late (PyVRP keeps the wall clock it stops on: see common.py)
    @freeze_time("2026-11-18 08:00:00")
    def test_plan_a_day(self):
        """Plan today's routes from the menu, open the route: stops in order on a map."""
        self.dispatcher.tz = "UTC"
        self.env.company.lastmile_plan_time_limit = 1
        self.env.company.partner_id.tz = "UTC"
        driver = self._driver("Plan Driver")
        depot = self.env["res.partner"].create(
            {"name": "Depot", "partner_latitude": 50.84, "partner_longitude": 4.35}
        )
        driver.start_partner_id = depot
        tasks = self._task("Plan Customer 1") | self._task("Plan Customer 2")
        self.start_tour("/odoo", "lastmile_plan_day", login="tour_dispatcher")
        self.assertEqual(tasks.route_id.driver_id, driver)
        self.assertEqual(sorted(tasks.mapped("sequence")), [1, 2])
