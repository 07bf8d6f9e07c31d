from datetime import timedelta

from odoo import fields
from odoo.addons.lastmile_delivery.tests.common import all_day_calendar, midday_zone
from odoo.tests import HttpCase, tagged

from .common import PodCase


class AllDayTourCase(PodCase, HttpCase):
    """Tours run now, whatever the day and hour: shifts and windows cover the whole day, in a
    shop whose time zone puts now around midday (Etc/GMT-N is N hours east of UTC), so that
    its day is not over before the tour is."""

    browser_size = "390x844"
    touch_enabled = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        zone = midday_zone()
        cls.calendar.write(all_day_calendar(cls.calendar.name, zone))
        cls.company.write({"lastmile_delivery_hour_from": 0.0, "lastmile_delivery_hour_to": 24.0})
        cls.company.partner_id.tz = zone
        cls.driver_user.tz = zone
        cls.driver.tz = zone  # the time zone of the driver's working hours and break

    def _today(self):
        """(the shop's day now, its start, its end) as naive UTC."""
        today = self.company._lastmile_date_of(fields.Datetime.now())
        return today, self.company._lastmile_localize(today), self.company._lastmile_localize(today, 23.99)


@tagged("post_install", "-at_install")
class TestDriverDayTour(AllDayTourCase):
    """A driver runs her route on a phone (390×844, touch): My Route in the browser, as the
    driver herself, against the real endpoints."""

    def _day_of_orders(self):
        """Today's route of Ana, in a known order: 1 Sam (photo and signature), 2 Gina (two
        orders, one stop), 3 Olga, 4 Fred."""
        today, start, end = self._today()
        people = {
            name: self._create_customer(name, point)
            for name, point in (
                ("Sam Single", (50.8503, 4.3517)),
                ("Gina Grouped", (50.8420, 4.3600)),
                ("Olga Offline", (50.8357, 4.3365)),
                ("Fred Failed", (50.8600, 4.3400)),
            )
        }
        people["Sam Single"].lastmile_proof_required = "both"
        orders = {name: self._create_order(partner=partner, qty=2) for name, partner in people.items()}
        gina = people["Gina Grouped"]
        orders["Gina Grouped"] |= self._create_order(partner=gina, product=self.second_product)
        tasks = {name: order.lastmile_task_ids for name, order in orders.items()}
        every = self.env["lastmile.delivery.task"].union(*tasks.values())
        every.write({"window_start": start, "window_end": end, "driver_id": self.driver.id})
        self.env["lastmile.route"].plan_routes(today, time_limit=1)
        self.assertEqual(len(every.route_id), 1, "one route for Ana today")
        for number, name in enumerate(tasks, 1):
            tasks[name].sequence = number
        return orders, tasks

    def test_driver_runs_her_route(self):
        # a 30-minute break whenever the round allows it
        self.driver.write({"break_minutes": 30, "break_from": 0.0, "break_until": 24.0})
        orders, tasks = self._day_of_orders()
        route = tasks["Sam Single"].route_id
        later = fields.Datetime.now() + timedelta(hours=3)
        route.write({"break_start": later, "break_end": later + timedelta(minutes=30)})  # as planned

        self.start_tour("/odoo", "lastmile_driver_day", login=self.driver_user.login)
        self.run_stock_queue()  # what the scheduled action does right after the reports

        self.assertTrue(route.date_started)
        self.assertTrue(route.break_reported, "she started her break from My Route")
        self.assertLess(route.break_start, later, "earlier than planned")
        self.assertEqual(route.break_end - route.break_start, timedelta(minutes=30))
        self.assertEqual(route.state, "done", "every stop is reported")
        # photo and signature, by the driver, with the phone's position
        proof = tasks["Sam Single"].proof_ids
        self.assertEqual(len(proof), 1)
        self.assertEqual(proof.kind, "delivered")
        self.assertEqual(proof.driver_id, self.driver)
        self.assertEqual(len(proof.photo_ids), 1)
        self.assertTrue(proof.signature)
        self.assertEqual(proof.recipient_name, "Sam")
        self.assertAlmostEqual(proof.latitude, 50.8504, places=4)
        self.assertEqual(orders["Sam Single"].picking_ids.state, "done")
        # two orders, one stop, one proof
        grouped = tasks["Gina Grouped"]
        self.assertEqual(len(grouped), 2)
        self.assertEqual(set(grouped.mapped("state")), {"delivered"})
        self.assertEqual(len(grouped.proof_ids), 1)
        self.assertEqual(grouped.proof_ids.task_ids, grouped)
        self.assertEqual(set(orders["Gina Grouped"].picking_ids.mapped("state")), {"done"})
        # done out of order with a photo: a new attempt tomorrow, the goods still in stock
        failed = tasks["Fred Failed"]
        self.assertEqual(failed.state, "failed")
        not_home = self.env.ref("lastmile_delivery_pod.failure_reason_not_home")
        self.assertEqual(failed.failure_reason_id, not_home)
        self.assertEqual(len(failed.proof_ids.photo_ids), 1)
        self.assertEqual(failed.next_attempt_ids.attempt, 2)
        self.assertEqual(failed.driven_sequence, 3, "the order actually driven is kept")
        # captured offline, then an answer lost on the way back, then sent again: one proof
        offline = tasks["Olga Offline"]
        self.assertEqual(offline.state, "delivered")
        self.assertEqual(offline.driven_sequence, 4)
        proofs = self.env["lastmile.delivery.proof"].search([("task_ids", "in", offline.ids)])
        self.assertEqual(len(proofs), 1, "a capture sent three times is one proof")
        self.assertEqual(proofs.recipient_name, "Olga")
        self.assertEqual(orders["Olga Offline"].picking_ids.state, "done")
        self.assertEqual(route.stop_count, 4)


@tagged("post_install", "-at_install")
class TestTrackingTour(AllDayTourCase):
    """A customer follows a delivery on a phone from the link of an SMS, without an account."""

    def test_customer_follows_the_delivery(self):
        today, start, end = self._today()
        order = self._create_order(partner=self.customer, qty=2)
        task = order.lastmile_task_ids
        task.write({"window_start": start, "window_end": end, "driver_id": self.driver.id})
        self.env["lastmile.route"].plan_routes(today, time_limit=1)
        url = task.get_portal_url()

        self.start_tour(url, "lastmile_tracking_before")
        self.assertEqual(task.customer_message, "Ring at the blue door <b>please</b>")

        self.as_driver(task.route_id).action_start_route()
        self.as_driver(task.route_id).action_post_position(
            {"latitude": task.latitude + 0.002, "longitude": task.longitude, "accuracy": 10}
        )
        self.start_tour(url, "lastmile_tracking_on_the_way")

        self.as_driver(task).action_submit_proof(
            self.proof(captured_at=fields.Datetime.now().isoformat() + "Z")
        )
        self.start_tour(url, "lastmile_tracking_after")
        self.assertEqual(task.rating_last_value, 4)
        self.assertEqual(task.rating_last_feedback, "Friendly driver")
        # the dispatcher reads the customer's side of it
        self.start_tour(
            f"/odoo/lastmile.delivery.task/{task.id}", "lastmile_rated_delivery_form", login="lm_dispatcher"
        )
