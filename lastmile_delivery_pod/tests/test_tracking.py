"""What the customer hears and sees of the driver's reports: the proof on the tracking page,
the reason and the next attempt of a failed delivery, the driver nearby from the live ETA."""

from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.addons.lastmile_delivery.tests.common import MIDI
from odoo.addons.sms_twilio.tests.common import MockSmsTwilioApi
from odoo.tests import HttpCase, tagged

from .common import PodCase

NOW = "2026-11-18 09:00:00"


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestCustomerTracking(MockSmsTwilioApi, PodCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_sms_twilio(cls.company)
        cls.customer.write({"phone": "+32 470 12 34 56", "email": "carla@example.com"})
        cls.midi = cls._create_customer("Marc", MIDI, phone="+32 470 00 00 02")
        cls.not_home = cls.env.ref("lastmile_delivery_pod.failure_reason_not_home")
        cls.refused = cls.env.ref("lastmile_delivery_pod.failure_reason_refused")

    def start(self, tasks):
        self.as_driver(tasks.route_id).action_start_route()

    def send_queued(self):
        with patch.object(self.env.cr, "commit"):
            self.env["lastmile.delivery.task"]._cron_lastmile_notify()
            self.env["sms.sms"].sudo()._process_queue()

    def sms_to(self, number):
        return [sms["body"] for sms in self._sms if sms["number"] == number]

    # ------------------------------------------------------------------ the proof on the page

    def test_proof_on_the_tracking_page(self):
        _orders, task = self._planned_orders([self.customer])
        self.start(task)
        self.as_driver(task).action_submit_proof(self.proof(photos=2))
        token = task.sudo()._portal_ensure_token()
        page = self.url_open(f"/my/deliveries/{task.id}?access_token={token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Proof of delivery", page.text)
        self.assertIn("received by <strong>Carla</strong>", page.text)
        self.assertIn("How was your delivery?", page.text)
        photos = task.proof_id.photo_ids
        for photo in photos:
            url = f"/my/deliveries/{task.id}/proof/photo/{photo.id}?access_token={token}"
            self.assertIn(url.replace("&", "&amp;"), page.text)
            response = self.url_open(url)
            self.assertEqual((response.status_code, response.headers["Content-Type"]), (200, "image/jpeg"))
        signature = self.url_open(f"/my/deliveries/{task.id}/proof/signature?access_token={token}")
        self.assertEqual(signature.status_code, 200)
        pdf = self.url_open(f"/my/deliveries/{task.id}/proof.pdf?access_token={token}")
        self.assertEqual(pdf.status_code, 200)
        self.assertIn("attachment", pdf.headers["Content-Disposition"])
        self.assertIn("Proof of delivery", pdf.text, "the proof report (HTML: tests run no PDF engine)")
        self.assertIn(task.name, pdf.text)

        # nothing without the token, nor another delivery's photo through this one
        for path in ("/proof.pdf", "/proof/signature", f"/proof/photo/{photos[0].id}"):
            self.assertEqual(self.url_open(f"/my/deliveries/{task.id}{path}").status_code, 404)
            self.assertEqual(self.url_open(f"/my/deliveries/{task.id}{path}?access_token=x").status_code, 404)
        other = self.env["ir.attachment"].create({"name": "secret.jpg", "raw": b"secret"})
        response = self.url_open(f"/my/deliveries/{task.id}/proof/photo/{other.id}?access_token={token}")
        self.assertEqual(response.status_code, 404)

    def test_no_proof_before_delivery(self):
        _orders, task = self._planned_orders([self.customer])
        token = task.sudo()._portal_ensure_token()
        page = self.url_open(f"/my/deliveries/{task.id}?access_token={token}")
        self.assertNotIn("Proof of delivery", page.text)
        self.assertEqual(
            self.url_open(f"/my/deliveries/{task.id}/proof.pdf?access_token={token}").status_code, 404
        )

    # ------------------------------------------------------------------ the messages of the reports

    def test_failed_then_tried_again(self):
        """One message: the reason, the new day, and the page leads to the new attempt's."""
        _orders, task = self._planned_orders([self.customer])
        self.start(task)
        self.send_queued()
        with self.mock_sms_twilio_gateway():
            self.as_driver(task).action_submit_proof(
                self.proof(kind="failed", signature=False, failure_reason_id=self.not_home.id)
            )
            attempt = task.next_attempt_ids
            self.assertEqual(task.sudo().notifications.get("failed"), "queued")
            self.assertFalse(attempt.sudo().notifications, "its day is in the failed message")
            self.send_queued()
        (failed,) = self.sms_to("+32470123456")
        self.assertIn("Nobody at home", failed)
        self.assertIn("We will try again on Thursday 19 November", failed)
        self.assertIn(f"/my/deliveries/{task.id}?", failed)
        page = self.url_open(task.tracking_url)
        self.assertIn("Nobody at home", page.text)
        self.assertIn("We will try again on Thursday 19 November", page.text)
        self.assertIn(attempt.get_portal_url().replace("&", "&amp;"), page.text, "the new attempt's page")
        # the shop moves the new attempt to another day: now the customer is told
        with self.mock_sms_twilio_gateway():
            attempt.with_user(self.dispatcher_user).write(
                {
                    "window_start": attempt.window_start + timedelta(days=1),
                    "window_end": attempt.window_end + timedelta(days=1),
                }
            )
            self.send_queued()
        (rescheduled,) = self.sms_to("+32470123456")
        self.assertIn("Friday 20 November", rescheduled)
        self.assertIn(f"/my/deliveries/{attempt.id}?", rescheduled)

    def test_failed_and_returned(self):
        _orders, task = self._planned_orders([self.customer])
        self.start(task)
        with self.mock_sms_twilio_gateway():
            self.as_driver(task).action_submit_proof(
                self.proof(kind="failed", photos=0, signature=False, failure_reason_id=self.refused.id)
            )
            self.send_queued()
        body = self.sms_to("+32470123456")[-1]
        self.assertIn("goes back to our warehouse", body)
        self.assertFalse(task.next_attempt_ids)

    def test_delivered_links_the_proof(self):
        _orders, task = self._planned_orders([self.customer])
        self.start(task)
        with self.mock_sms_twilio_gateway():
            self.as_driver(task).action_submit_proof(self.proof())
            self.send_queued()
        delivered = [b for b in self.sms_to("+32470123456") if "was delivered" in b]
        self.assertEqual(len(delivered), 1)
        self.assertIn(task.tracking_url, delivered[0])

    def test_driver_nearby_from_the_phone_position(self):
        _orders, tasks = self._planned_orders([self.customer, self.midi])
        self.start(tasks)
        first = tasks.sorted("sequence")[0]
        route = tasks.route_id
        self.company.lastmile_nearby_minutes = 10
        # the driver is almost at the first stop: its live ETA falls under 10 minutes
        self.as_driver(route).action_post_position(
            {"latitude": first.latitude + 0.001, "longitude": first.longitude, "accuracy": 10}
        )
        with patch.object(self.env.cr, "commit"):
            route._cron_refresh_etas()
        self.assertLessEqual(first.eta, first.eta.now() + timedelta(minutes=10))
        self.assertEqual(first.sudo().notifications.get("nearby"), "queued")
        second = tasks - first
        self.assertNotIn("nearby", second.sudo().notifications or {})

    def test_driver_reads_the_customers_message(self):
        _orders, task = self._planned_orders([self.customer])
        task.sudo()._lastmile_portal_set_instructions("Leave it with the neighbour at n°3")
        day = self.as_driver(self.env["lastmile.route"]).get_driver_day()
        self.assertIn("Leave it with the neighbour at n°3", day["stops"][0]["instructions"])
