import json
import uuid
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import ConcurrencyError
from odoo.tests import HttpCase, tagged

from ..models.lastmile_delivery_task import LastmileDeliveryTask
from .common import PodCase, b64, picture


@freeze_time("2026-11-18 09:00:00")
@tagged("post_install", "-at_install")
class TestDriverEndpoints(PodCase, HttpCase):
    """The phone's JSON endpoints over HTTP, as the driver: every refusal is a 4xx with a
    message, and nothing of a refused request is written."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.near = cls.customer

    def setUp(self):
        super().setUp()
        _orders, self.tasks = self._planned_orders([self.near])
        self.route = self.tasks.route_id
        self.authenticate(self.driver_user.login, self.driver_user.login)

    def post(self, endpoint, body=None, data=None, headers=None):
        return self.url_open(
            f"/lastmile/driver/{endpoint}",
            data=data if data is not None else json.dumps(body),
            headers=headers or {"Content-Type": "application/json"},
        )

    def report(self, tasks=None, **proof):
        values = {
            "key": uuid.uuid4().hex,
            "kind": "delivered",
            "photos": [b64(picture())],
            **proof,
        }
        return self.post("stop/report", {"task_ids": (tasks or self.tasks).ids, "proof": values})

    def assertRefused(self, response, status, message):
        self.assertEqual(response.status_code, status, response.text)
        self.assertIn(message, response.json()["error"])

    def test_the_day_and_a_stop_over_http(self):
        day = self.post("day", {}).json()
        self.assertEqual(day["route"]["id"], self.route.id)
        self.assertEqual(day["stops"][0]["task_ids"], self.tasks.ids)
        started = self.post("route/start", {"route_id": self.route.id})
        self.assertEqual(started.status_code, 200)
        self.assertEqual(self.route.state, "in_progress")
        position = self.post(
            "position", {"route_id": self.route.id, "latitude": 50.85, "longitude": 4.35, "accuracy": 9}
        )
        self.assertEqual(position.status_code, 200)
        self.assertIn(str(self.tasks.id), position.json()["etas"])
        self.assertEqual(self.post("stop/arrive", {"task_ids": self.tasks.ids}).status_code, 200)
        answer = self.report()
        self.assertEqual(answer.status_code, 200, answer.text)
        self.assertEqual((answer.json()["state"], self.tasks.state), ("delivered", "delivered"))

    def test_a_break_over_http(self):
        self.driver.write({"break_minutes": 30, "break_from": 0.0, "break_until": 24.0})
        self.assertRefused(
            self.post("route/break", {"route_id": self.route.id}), 422, "Start your route first"
        )
        self.post("route/start", {"route_id": self.route.id})
        self.assertRefused(self.post("route/break", {"route_id": "x"}), 400, "no valid record")
        with patch.object(type(self.env["ir.cron"]), "_trigger"):
            answer = self.post("route/break", {"route_id": self.route.id})
        self.assertEqual(answer.status_code, 200, answer.text)
        self.assertTrue(answer.json()["route"]["on_break"])
        self.assertTrue(self.route.break_reported)
        self.assertRefused(self.post("route/break", {"route_id": self.route.id}), 422, "already recorded")

    def test_refusals_are_4xx_and_write_nothing(self):
        self.post("route/start", {"route_id": self.route.id})
        theirs = self._create_task(partner=self._create_customer("Theirs"), driver_id=self.other_driver.id)
        self.assertRefused(
            self.post(
                "stop/report",
                data="task_ids=1",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            415,
            "Send JSON",
        )
        self.assertRefused(self.post("stop/report", data="{not json"), 400, "could not be read")
        self.assertRefused(self.post("stop/report", data="[1, 2]"), 400, "could not be read")
        for ids in (None, [], "1", [True], [-3], [1.5], list(range(1, 60))):
            with self.subTest(ids=ids):
                self.assertRefused(self.post("stop/arrive", {"task_ids": ids}), 400, "no valid record")
        self.assertRefused(self.post("stop/arrive", {"task_ids": [10**9]}), 404, "no longer exists")
        self.assertRefused(self.report(theirs), 403, "")
        self.assertRefused(self.post("route/start", {"route_id": 10**9}), 404, "no longer exists")
        self.assertRefused(
            self.post("position", {"route_id": self.route.id, "latitude": 95, "longitude": 4.35}), 422, ""
        )
        self.assertRefused(self.report(kind="failed", photos=[]), 422, "why the delivery failed")
        self.assertRefused(self.report(photos=["bm90IGFuIGltYWdl"]), 422, "")
        self.company.lastmile_pod_max_image_mb = 0.1
        self.assertRefused(self.report(photos=[b64(b"x" * 900_000)]), 413, "too large")
        self.assertEqual(self.tasks.state, "in_transit")
        self.assertFalse(self.env["lastmile.delivery.proof"].search([]))
        self.assertFalse(self.tasks.date_arrived)
        self.assertFalse(self.route.position_ids)

    def test_a_report_served_again_after_a_concurrent_update_keeps_its_body(self):
        """Odoo serves a request again when the database reports a concurrent update (another
        driver validating a delivery of the same product): the second time reads the same
        JSON body and stores one proof."""
        self.post("route/start", {"route_id": self.route.id})
        submit = LastmileDeliveryTask.action_submit_proof
        calls = []

        def first_time_concurrent(tasks, values):
            calls.append(values["key"])
            if len(calls) == 1:
                raise ConcurrencyError("could not serialize access due to concurrent update")
            return submit(tasks, values)

        with (
            patch.object(LastmileDeliveryTask, "action_submit_proof", first_time_concurrent),
            patch("odoo.service.model.random.uniform", return_value=0),
        ):
            answer = self.report()
        self.assertEqual(answer.status_code, 200, answer.text)
        self.assertEqual(len(calls), 2)
        self.assertEqual(calls[0], calls[1], "the same capture, read again")
        self.assertEqual(self.tasks.state, "delivered")
        self.assertEqual(len(self.tasks.proof_ids), 1)

    def test_each_document_prints_its_own_proof(self):
        """The web client downloads /report/<type>/<report name>/<ids>: each document's button
        finds its own report by name and prints the proof of that document's delivery."""
        self.post("route/start", {"route_id": self.route.id})
        self.assertEqual(self.report().status_code, 200)
        order = self.tasks.sale_order_id
        order.user_id = self.dispatcher_user
        self.company.external_report_layout_id = self.env.ref("web.external_layout_standard")
        prints = (
            (order.with_user(self.dispatcher_user), self.dispatcher_user),
            (self.tasks.picking_id.with_user(self.stock_user), self.stock_user),
            (self.tasks.with_user(self.dispatcher_user), self.dispatcher_user),
        )
        names = {record.action_lastmile_print_proof()["report_name"] for record, _user in prints}
        self.assertEqual(len(names), 3, "one report name per model")
        for record, user in prints:
            with self.subTest(model=record._name):
                self.authenticate(user.login, user.login)
                name = record.action_lastmile_print_proof()["report_name"]
                page = self.url_open(f"/report/html/{name}/{record.id}")
                self.assertEqual(page.status_code, 200)
                self.assertIn(self.tasks.name, page.text)
                self.assertIn(order.name, page.text)
                self.assertEqual(page.text.count(">2.0 Units<"), 2, "delivered as handed over, and ordered")
