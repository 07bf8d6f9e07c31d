"""The customer's tracking page and /my/deliveries, opened as customers open them: a link with
a token and no account, or a portal account."""

import json
import re
from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import MIDI, NEAR, NOW, LastmileCase

DAY = "2026-11-18"


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestTrackingPage(LastmileCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = new_test_user(
            cls.env, "lm_customer", groups="base.group_portal", name="Carla Portal"
        )
        cls.portal_user.partner_id.write(
            {
                "street": "Rue Neuve 1",
                "city": "Bruxelles",
                "zip": "1000",
                "country_id": cls.env.ref("base.be").id,
                "partner_latitude": NEAR[0],
                "partner_longitude": NEAR[1],
            }
        )
        cls.other_portal_user = new_test_user(
            cls.env, "lm_customer2", groups="base.group_portal", name="Dora"
        )
        cls.other_portal_user.partner_id.write(
            {
                "street": "Gare du Midi",
                "city": "Bruxelles",
                "partner_latitude": MIDI[0],
                "partner_longitude": MIDI[1],
            }
        )
        cls.company.phone = "+32 2 555 12 12"

    def setUp(self):
        super().setUp()
        orders = self._create_order(partner=self.portal_user.partner_id) | self._create_order(
            partner=self.other_portal_user.partner_id
        )
        self.order = orders[0]
        tasks = orders.lastmile_task_ids
        tasks.write({"driver_id": self.driver.id})
        self.env["lastmile.route"].plan_routes(DAY, time_limit=1)
        self.task = self.order.lastmile_task_ids
        self.other = tasks - self.task
        self.token = self.task.sudo()._portal_ensure_token()
        self.other_token = self.other.sudo()._portal_ensure_token()

    # ------------------------------------------------------------------ helpers

    def open(self, task, token=None, path="", **kwargs):
        query = f"?access_token={token}" if token else ""
        return self.url_open(f"/my/deliveries/{task.id}{path}{query}", **kwargs)

    def live(self, task, token):
        response = self.open(task, token, "/live")
        self.assertEqual(response.status_code, 200)
        return response.json()

    def csrf(self):
        """A CSRF token of the visitor's session (any form of the site carries one)."""
        page = self.url_open("/web/login")
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def post_form(self, task, token, action, **data):
        csrf = self.csrf()
        return self.url_open(
            f"/my/deliveries/{task.id}/{action}",
            data={"csrf_token": csrf, "access_token": token or "", **data},
        )

    def start_route(self):
        (self.task | self.other).with_user(self.driver_user).action_start()
        self.driver.sudo().write(
            {"current_latitude": 50.848, "current_longitude": 4.350, "last_seen": NOW - timedelta(minutes=1)}
        )

    def first_and_second(self):
        return (self.task | self.other).sorted("sequence")

    # ------------------------------------------------------------------ access

    def test_the_link_opens_without_an_account(self):
        response = self.open(self.task, self.token)
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.order.name, response.text)
        self.assertIn(self.task.eta_window_label, response.text)
        self.assertIn("Ana", response.text, "the driver's first name")
        self.assertIn("o_lastmile_tracking_map", response.text)
        self.assertIn("Instructions for the driver", response.text)

    def test_wrong_missing_or_foreign_token_gives_nothing(self):
        reference = self.order.name
        for task, token in (
            (self.task, None),
            (self.task, "not-the-token"),
            (self.task, self.other_token),  # another delivery's token
            (self.task, self.token[:-1]),
        ):
            for path in ("", "/live"):
                response = self.open(task, token, path)
                self.assertEqual(response.status_code, 404, (token, path))
                self.assertNotIn(reference, response.text)
        # enumerating ids: existing or not, the same answer
        missing = self.url_open(f"/my/deliveries/{self.task.id + 100000}?access_token={self.token}")
        existing = self.open(self.other, self.token)
        self.assertEqual((missing.status_code, existing.status_code), (404, 404))

    def test_my_deliveries_shows_only_mine(self):
        self.authenticate("lm_customer", "lm_customer")
        page = self.url_open("/my/deliveries")
        self.assertEqual(page.status_code, 200)
        self.assertIn(self.order.name, page.text)
        self.assertNotIn(self.other.sale_order_id.name, page.text)
        self.assertEqual(self.open(self.task).status_code, 200, "their own, without a token")
        self.assertEqual(self.open(self.other).status_code, 404, "another customer's, without a token")
        home = self.url_open("/my/home")
        self.assertIn("/my/deliveries", home.text)

    def test_order_page_links_to_the_tracking(self):
        self.authenticate("lm_customer", "lm_customer")
        page = self.url_open(f"/my/orders/{self.order.id}")
        self.assertEqual(page.status_code, 200)
        self.assertIn(f"/my/deliveries/{self.task.id}?access_token={self.token}", page.text)

    # ------------------------------------------------------------------ what the page shows

    def test_driver_position_only_on_the_way_to_this_customer(self):
        first, second = self.first_and_second()
        tokens = {self.task: self.token, self.other: self.other_token}
        self.driver.sudo().write({"current_latitude": 50.848, "current_longitude": 4.350, "last_seen": NOW})
        before = self.live(first, tokens[first])
        self.assertIsNone(before["driver"], "not before the driver is on the way")
        self.assertEqual(before["state"], "assigned")

        self.start_route()
        now_first, now_second = self.live(first, tokens[first]), self.live(second, tokens[second])
        self.assertEqual(now_first["driver"]["lat"], 50.848)
        self.assertEqual(now_first["stops_before"], 0)
        self.assertIsNone(now_second["driver"], "another customer's stop comes first")
        self.assertEqual(now_second["stops_before"], 1)
        self.assertTrue(now_second["eta_label"])

        first.with_user(self.driver_user).action_deliver()
        after_first, after_second = self.live(first, tokens[first]), self.live(second, tokens[second])
        self.assertIsNone(after_first["driver"], "none after delivery")
        self.assertTrue(after_first["closed"])
        self.assertIsNone(after_second["driver"], "not the position at the first customer's door")
        self.driver.sudo().write(
            {"current_latitude": 50.845, "current_longitude": 4.345, "last_seen": NOW + timedelta(seconds=20)}
        )
        with freeze_time(NOW + timedelta(seconds=30)):
            self.assertEqual(self.live(second, tokens[second])["driver"]["lng"], 4.345)
        self.assertEqual([s["done"] for s in after_first["steps"]], [True, True, True])

    def test_live_endpoint_queries_do_not_grow(self):
        self.start_route()
        first, _second = self.first_and_second()
        token = first.sudo().access_token
        self.live(first, token)  # warm up the caches
        with self.assertQueryCount(__system__=30):
            first.invalidate_recordset()
            self.live(first, token)

    def test_expired_link(self):
        self.start_route()
        self.task.with_user(self.driver_user).action_deliver()
        self.company.lastmile_tracking_days = 7
        with freeze_time(NOW + timedelta(days=6)):
            self.assertEqual(self.open(self.task, self.token).status_code, 200)
        with freeze_time(NOW + timedelta(days=8)):
            response = self.open(self.task, self.token)
            self.assertEqual(response.status_code, 410)
            self.assertIn("This tracking link has expired", response.text)
            self.assertNotIn(self.order.name, response.text)
            self.assertEqual(self.open(self.task, self.token, "/live").status_code, 404)
            self.authenticate("lm_customer", "lm_customer")
            self.assertEqual(self.open(self.task).status_code, 200, "their own account still shows it")

    # ------------------------------------------------------------------ what the customer sends

    def test_instructions_before_departure(self):
        text = "Gate code 1234 <script>alert('x')</script>"
        response = self.post_form(self.task, self.token, "instructions", instructions=text)
        self.assertEqual(response.status_code, 200)
        self.assertIn("the driver will read your instructions", response.text)
        self.assertEqual(self.task.customer_message, text)
        self.assertNotIn("<script>alert", response.text)
        self.assertIn("&lt;script&gt;", response.text)
        self.assertIn(text, self.task.with_user(self.driver_user).customer_message, "the driver reads them")
        self.assertTrue(self.task.message_ids.filtered(lambda m: "Gate code 1234" in (m.body or "")))

        response = self.post_form(self.task, self.token, "instructions", instructions="x" * 501)
        self.assertIn("limited to 500 characters", response.text)
        self.assertEqual(self.task.customer_message, text, "nothing lost, nothing half-saved")

        self.start_route()
        response = self.post_form(self.task, self.token, "instructions", instructions="Too late?")
        self.assertNotIn("Instructions for the driver", response.text, "no form once on the way")
        self.assertIn("already on its way", response.text)
        self.assertEqual(self.task.customer_message, text)

    def test_instructions_need_the_token(self):
        csrf = self.csrf()
        response = self.url_open(
            f"/my/deliveries/{self.task.id}/instructions",
            data={"csrf_token": csrf, "access_token": self.other_token, "instructions": "Hijack"},
        )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.task.customer_message)

    def test_rating_after_delivery(self):
        self.manager_user.company_ids = self.company
        self.company.lastmile_manager_id = self.manager_user
        response = self.post_form(self.task, self.token, "rate", rating="4")
        self.assertIn("once it is delivered", response.text)
        self.start_route()
        self.task.with_user(self.driver_user).action_deliver()
        response = self.post_form(self.task, self.token, "rate", rating="9")
        self.assertIn("Choose from 1 to 5 stars", response.text)
        response = self.post_form(self.task, self.token, "rate", rating="2", comment="Late and <b>rude</b>")
        self.assertIn("Thank you for your rating", response.text)
        self.assertNotIn("<b>rude</b>", response.text)
        self.assertEqual(self.task.rating_last_value, 2)
        self.assertEqual(self.task.rating_ids.rated_partner_id, self.driver_user.partner_id)
        activity = self.task.activity_ids
        self.assertEqual(activity.user_id, self.manager_user, "a low rating alerts the manager")
        self.assertIn("2/5", activity.summary)
        response = self.post_form(self.task, self.token, "rate", rating="5")
        self.assertNotIn("How was your delivery", response.text)
        self.assertEqual(self.task.rating_last_value, 2, "rated once")
        self.assertEqual(len(self.task.rating_ids.filtered("consumed")), 1)

    def test_good_rating_alerts_nobody(self):
        self.start_route()
        self.task.with_user(self.driver_user).action_deliver()
        self.post_form(self.task, self.token, "rate", rating="5", comment="Perfect")
        self.assertEqual(self.task.rating_last_value, 5)
        self.assertFalse(self.task.activity_ids)

    def test_live_json_has_no_more_than_the_customer_may_know(self):
        self.start_route()
        first, _second = self.first_and_second()
        data = self.live(first, first.sudo().access_token)
        self.assertEqual(
            set(data),
            {
                "state",
                "state_label",
                "steps",
                "eta_label",
                "stops_before",
                "stops_label",
                "driver",
                "destination",
                "closed",
            },
        )
        self.assertEqual(set(data["driver"]), {"lat", "lng", "at"})
        json.dumps(data)

    # ------------------------------------------------------------------ what the token does not open

    def test_the_token_does_not_open_odoo_chatter_nor_ratings(self):
        """The link's token is for the tracking page: Odoo's chatter route refuses it (no post,
        no rating of any value, in any state)."""
        self.start_route()
        self.task.with_user(self.driver_user).action_deliver()
        messages = len(self.task.message_ids)
        response = self.url_open(
            "/mail/message/post",
            data=json.dumps(
                {
                    "params": {
                        "thread_model": "lastmile.delivery.task",
                        "thread_id": self.task.id,
                        "post_data": {"body": "Spam", "message_type": "comment", "rating_value": 1},
                        "token": self.token,
                    }
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertIn("error", response.json())
        self.task.invalidate_recordset()
        self.assertEqual(len(self.task.message_ids), messages)
        self.assertFalse(self.task.rating_ids)
        self.assertIn(
            "How was your delivery?", self.open(self.task, self.token).text, "the real form is still there"
        )

    def test_nobody_writes_a_rating_from_the_back_office(self):
        self.start_route()
        self.task.with_user(self.driver_user).action_deliver()
        values = {
            "res_model_id": self.env["ir.model"]._get_id("lastmile.delivery.task"),
            "res_id": self.task.id,
            "rating": 5,
            "consumed": True,
        }
        for user in (self.driver_user, self.dispatcher_user, self.manager_user):
            with self.assertRaises(AccessError):
                self.env["rating.rating"].with_user(user).create(values)
        self.post_form(self.task, self.token, "rate", rating="3")
        rating = self.task.rating_ids
        with self.assertRaises(AccessError):
            rating.with_user(self.driver_user).write({"rating": 5})
        self.assertEqual(rating.rating, 3)

    def test_nobody_writes_what_the_customer_said(self):
        for user in (self.dispatcher_user, self.manager_user):
            with self.assertRaises(AccessError):
                self.task.with_user(user).write({"customer_message": "The customer said: leave it outside"})

    def test_no_position_outside_the_round_nor_an_old_one(self):
        first, second = self.first_and_second()
        self.start_route()
        # a delivery set on the way by hand, outside the planned round
        loose = self._create_task(self.portal_user.partner_id, driver_id=self.driver.id)
        loose.with_user(self.dispatcher_user).action_start()
        self.assertIsNone(self.live(loose, loose.sudo().access_token)["driver"])
        token = first.sudo().access_token
        self.assertTrue(self.live(first, token)["driver"])
        # the phone stopped sending three quarters of an hour ago
        with freeze_time(NOW + timedelta(minutes=45)):
            self.assertIsNone(self.live(first, token)["driver"])
        # the previous stop was just closed: the last position is at that customer's door
        first.with_user(self.driver_user).action_deliver()
        self.assertIsNone(self.live(second, second.sudo().access_token)["driver"])
        self.driver.sudo().write(
            {"current_latitude": 50.84, "current_longitude": 4.34, "last_seen": NOW + timedelta(seconds=30)}
        )
        with freeze_time(NOW + timedelta(minutes=1)):
            self.assertEqual(self.live(second, second.sudo().access_token)["driver"]["lat"], 50.84)
