"""The customer's SMS and emails at each moment of a delivery (Twilio mocked at its HTTP API,
as Odoo's own sms_twilio tests do)."""

from datetime import timedelta
from unittest.mock import patch

import requests
from freezegun import freeze_time

from odoo.addons.sms_twilio.tests.common import MockSmsTwilioApi
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import MIDI, NOW, LastmileCase

DAY = "2026-11-18"


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestNotifications(MockSmsTwilioApi, LastmileCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_sms_twilio(cls.company)
        cls.customer.write({"phone": "0470 12 34 56", "email": "carla@example.com"})
        cls.second = cls._create_customer("Dora", MIDI, phone="+32 470 65 43 21", email="dora@example.com")

    # ------------------------------------------------------------------ helpers

    def send_queued(self):
        """The notification job, then Odoo's SMS queue (both run after the commit)."""
        with patch.object(self.env.cr, "commit"):
            self.env["lastmile.delivery.task"]._cron_lastmile_notify()
            self.env["sms.sms"].sudo()._process_queue()

    def sms_of(self, task):
        return (
            self.env["sms.sms"]
            .sudo()
            .search([("mail_message_id.res_id", "=", task.id), ("mail_message_id.model", "=", task._name)])
        )

    def mails_of(self, task):
        return self.env["mail.mail"].sudo().search([("model", "=", task._name), ("res_id", "=", task.id)])

    def planned(self, *partners):
        orders = self.env["sale.order"]
        for partner in partners:
            orders |= self._create_order(partner=partner)
        tasks = orders.lastmile_task_ids
        tasks.write({"driver_id": self.driver.id})
        self.env["lastmile.route"].plan_routes(DAY, time_limit=1)
        return tasks.sorted("sequence")

    # ------------------------------------------------------------------ the moments

    def test_out_for_delivery_sent_once_after_commit(self):
        task = self.planned(self.customer)
        with self.mock_sms_twilio_gateway():
            task.with_user(self.driver_user).action_start()
            self.assertEqual(task.sudo().notifications, {"dispatched": "queued"})
            self.assertFalse(self._new_sms, "nothing is sent in the driver's transaction")
            self.send_queued()
        self.assertEqual(len(self._sms), 1)
        self.assertEqual(self._sms[0]["number"], "+32470123456", "normalised with the address's country")
        body = self._sms[0]["body"]
        self.assertIn(task.sale_order_id.name, body)
        self.assertIn(task.eta_window_label, body)
        self.assertIn(f"/my/deliveries/{task.id}?access_token={task.access_token}", body)
        mail = self.mails_of(task)
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.recipient_ids, self.customer)
        self.assertIn("is on its way", mail.subject)
        self.assertIn(task.tracking_url, mail.body_html)
        self.assertEqual(task.sudo().notifications, {"dispatched": "sent"})
        messages = task.message_ids.filtered(lambda m: m.message_type == "sms")
        self.assertEqual(len(messages), 1, "the SMS is in the chatter")

        # a change of plan and a new start do not spam the customer
        with self.mock_sms_twilio_gateway():
            task.with_user(self.driver_user).action_undo_start()
            task.with_user(self.driver_user).action_start()
            self.send_queued()
        self.assertFalse(self._sms)
        self.assertEqual(len(self.mails_of(task)), 1)

    def test_delivered_tells_the_next_stop_the_driver_is_coming(self):
        first, second = self.planned(self.customer, self.second)
        (first | second).with_user(self.driver_user).action_start()
        self.send_queued()
        with self.mock_sms_twilio_gateway():
            first.with_user(self.driver_user).action_deliver()
            self.assertEqual(second.sudo().notifications.get("nearby"), "queued")
            self.send_queued()
        bodies = {sms["number"]: sms["body"] for sms in self._sms}
        delivered, coming = first._lastmile_sms_number(), second._lastmile_sms_number()
        self.assertEqual(set(bodies), {delivered, coming})
        self.assertIn("was delivered", bodies[delivered])
        self.assertIn("is on the way to you", bodies[coming])
        self.assertIn("Ana", bodies[coming], "the driver's first name")
        # the stop already told by the previous stop's delivery is not told again by its ETA
        second.sudo().eta = NOW + timedelta(minutes=5)
        second._lastmile_notify_nearby_by_eta()
        self.assertEqual(second.sudo().notifications["nearby"], "sent")

    def test_driver_nearby_from_the_live_eta(self):
        first, second = self.planned(self.customer, self.second)
        (first | second).with_user(self.driver_user).action_start()
        self.company.lastmile_nearby_minutes = 10
        first.sudo().eta = NOW + timedelta(minutes=25)
        second.sudo().eta = NOW + timedelta(minutes=40)
        (first | second)._lastmile_notify_nearby_by_eta()
        self.assertNotIn("nearby", first.sudo().notifications)
        first.sudo().eta = NOW + timedelta(minutes=9)
        (first | second)._lastmile_notify_nearby_by_eta()
        self.assertEqual(first.sudo().notifications["nearby"], "queued")
        self.assertNotIn("nearby", second.sudo().notifications)

    def test_failed_says_what_happens_next(self):
        task = self.planned(self.customer)
        with self.mock_sms_twilio_gateway():
            task.with_user(self.driver_user).action_fail()
            self.send_queued()
        self.assertEqual(len(self._sms), 1)
        self.assertIn("we could not deliver", self._sms[0]["body"])
        self.assertIn("The shop will contact you", self._sms[0]["body"])
        self.assertIn("could not deliver", self.mails_of(task).subject)

    def test_moved_to_another_day(self):
        task = self.planned(self.customer)
        with self.mock_sms_twilio_gateway():
            task.with_user(self.dispatcher_user).write(
                {"window_end": task.window_end + timedelta(minutes=30)}
            )
            self.assertFalse(task.sudo().notifications, "the same day: nothing to say")
            task.with_user(self.dispatcher_user).write(
                {
                    "window_start": task.window_start + timedelta(days=1),
                    "window_end": task.window_end + timedelta(days=1),
                }
            )
            self.send_queued()
        (sms,) = self._sms
        self.assertIn("will now be delivered on Thursday 19 November", sms["body"])
        self.assertIn(task.window_hours_label, sms["body"])
        self.assertNotIn("Thu 19 Nov", sms["body"], "the day is said once")

    def test_retries_stop_when_the_moment_is_past(self):
        task = self.planned(self.customer)
        task.with_user(self.driver_user).action_start()
        with patch.object(
            requests.Session, "post", side_effect=requests.exceptions.ConnectTimeout("timed out")
        ):
            self.send_queued()
        dispatched = self.sms_of(task)
        self.assertEqual(dispatched.state, "error")
        with freeze_time(NOW + timedelta(minutes=1)):
            task.with_user(self.driver_user).action_deliver()
        with freeze_time(NOW + timedelta(minutes=10)):
            self.env["sms.sms"]._cron_lastmile_retry()
        self.assertEqual(dispatched.state, "canceled", "“on its way” after the delivery: not sent")

    def test_back_to_dispatch_tells_the_customer_again(self):
        task = self.planned(self.customer)
        task.with_user(self.driver_user).action_start()
        task.with_user(self.driver_user).action_fail()
        self.send_queued()
        task.with_user(self.dispatcher_user).action_reset()
        self.assertFalse(task.sudo().notifications, "a new round for the same delivery")
        task.with_user(self.dispatcher_user).write({"driver_id": self.driver.id})
        task.with_user(self.driver_user).action_start()
        self.assertEqual(task.sudo().notifications, {"dispatched": "queued"})

    def test_a_stale_moment_is_not_sent(self):
        """“Driver nearby” queued, then the delivery done before the job ran: only “delivered”."""
        first, second = self.planned(self.customer, self.second)
        (first | second).with_user(self.driver_user).action_start()
        first._lastmile_notify("nearby")
        with self.mock_sms_twilio_gateway():
            first.with_user(self.driver_user).action_deliver()
            self.send_queued()
        self.assertEqual(first.sudo().notifications["nearby"], "stale")
        self.assertEqual(first.sudo().notifications["delivered"], "sent")
        self.assertEqual(
            len([s for s in self._sms if s["number"] == "+32470123456"]), 2
        )  # dispatched, delivered

    def test_company_channels(self):
        self.company.write({"lastmile_notify_dispatched": "email", "lastmile_notify_delivered": "none"})
        task = self.planned(self.customer)
        with self.mock_sms_twilio_gateway():
            task.with_user(self.driver_user).action_start()
            self.send_queued()
            self.assertFalse(self._sms)
            self.assertEqual(len(self.mails_of(task)), 1)
            task.with_user(self.driver_user).action_deliver()
            self.assertNotIn("delivered", task.sudo().notifications, "a moment turned off is not queued")

    # ------------------------------------------------------------------ numbers

    def test_invalid_number_skipped_with_a_note(self):
        self.customer.phone = "12"
        task = self.planned(self.customer)
        with self.mock_sms_twilio_gateway():
            task.with_user(self.driver_user).action_start()
            self.send_queued()
            task.with_user(self.driver_user).action_deliver()
            self.send_queued()
        self.assertFalse(self._sms)
        notes = task.message_ids.filtered(lambda m: "is not a valid phone number" in (m.body or ""))
        self.assertEqual(len(notes), 1, "said once, not at each moment")
        self.assertEqual(len(self.mails_of(task)), 2, "the emails still go")
        self.assertEqual(task.sudo().notifications["dispatched"], "sent")

    def test_opted_out_number(self):
        self.env["lastmile.sms.optout"]._lastmile_opt_out("+32470123456")
        task = self.planned(self.customer)
        with self.mock_sms_twilio_gateway():
            task.with_user(self.driver_user).action_start()
            self.send_queued()
        self.assertFalse(self._sms)
        self.assertTrue(task.message_ids.filtered(lambda m: "answered STOP" in (m.body or "")))

    # ------------------------------------------------------------------ a failing provider

    def test_provider_down_then_retried(self):
        task = self.planned(self.customer)
        dispatcher = self.env(user=self.dispatcher_user)["lastmile.delivery.task"]
        task.with_user(self.driver_user).action_start()
        self.assertEqual(task.state, "in_transit", "the delivery step is not held by the provider")
        with patch.object(
            requests.Session, "post", side_effect=requests.exceptions.ConnectTimeout("timed out")
        ):
            self.send_queued()
        sms = self.sms_of(task)
        self.assertEqual(
            (sms.state, sms.failure_type), ("error", "sms_server"), "kept in the queue with its error"
        )
        self.assertIn(task, dispatcher.search([("notification_error", "=", True)]), "the dispatcher's filter")

        # the retry job puts it back in the queue after 5 minutes, and the queue sends it
        self.env["sms.sms"]._cron_lastmile_retry()
        self.assertEqual(sms.state, "error", "not before 5 minutes")
        self.assertEqual(sms.lastmile_retry_at, NOW + timedelta(minutes=5))
        with freeze_time(NOW + timedelta(minutes=6)), self.mock_sms_twilio_gateway():
            self.env["sms.sms"]._cron_lastmile_retry()
            self.assertEqual((sms.state, sms.lastmile_retries), ("outgoing", 1))
            self.send_queued()
        self.assertEqual(len(self._sms), 1)
        self.assertNotIn(task, dispatcher.search([("notification_error", "=", True)]))

    def test_provider_errors_and_bad_credentials(self):
        """A 5xx page and a 401 (wrong token) leave the SMS in error, to retry; a wrong number is
        not retried."""
        task = self.planned(self.customer)
        task.with_user(self.driver_user).action_start()
        with patch.object(MockSmsTwilioApi, "_request_handler", side_effect=self._server_error(503)):
            self.send_queued()
        sms = self.sms_of(task)
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_server"))
        sms.action_set_outgoing()
        with patch.object(MockSmsTwilioApi, "_request_handler", side_effect=self._auth_error):
            self.send_queued()
        self.assertEqual((sms.state, sms.failure_type), ("error", "unknown"))
        self.env["sms.sms"]._cron_lastmile_retry()
        with freeze_time(NOW + timedelta(minutes=6)):
            self.env["sms.sms"]._cron_lastmile_retry()
        self.assertEqual(sms.state, "outgoing")
        with self.mock_sms_twilio_gateway(error_type="wrong_number_format"):
            self.send_queued()
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_number_format"))
        self.env["sms.sms"]._cron_lastmile_retry()
        with freeze_time(NOW + timedelta(hours=3)):
            self.env["sms.sms"]._cron_lastmile_retry()
        self.assertEqual(sms.state, "error", "a wrong number is not tried again")

    @staticmethod
    def _server_error(status):
        def handler(session, request, **kwargs):
            response = requests.Response()
            response.status_code = status
            response._content = b"<html>Service Unavailable</html>"
            return response

        return handler

    @staticmethod
    def _auth_error(session, request, **kwargs):
        response = requests.Response()
        response.status_code = 401
        response._content = b'{"code": 20003, "message": "Authenticate", "status": 401}'
        return response

    def test_a_broken_template_does_not_block_anything(self):
        template = self.env.ref("lastmile_delivery.sms_template_dispatched")
        template.body = "{{ object.no_such_field }}"
        task = self.planned(self.customer)
        task.with_user(self.driver_user).action_start()
        self.assertEqual(task.state, "in_transit")
        with self.mock_sms_twilio_gateway():
            self.send_queued()
        self.assertEqual(task.sudo().notifications["dispatched"], "error")
        self.assertFalse(task.sudo().notification_pending, "not tried forever")
        self.assertTrue(task.message_ids.filtered(lambda m: "could not be prepared" in (m.body or "")))

    # ------------------------------------------------------------------ who may touch it

    def test_nobody_writes_the_notification_log(self):
        task = self.planned(self.customer)
        for user in (self.dispatcher_user, self.manager_user):
            with self.assertRaises(AccessError):
                task.with_user(user).write({"notifications": {"dispatched": "sent"}})
            with self.assertRaises(AccessError):
                task.with_user(user).write({"notification_pending": False})

    def test_order_emails_carry_the_tracking_link(self):
        order = self._create_order(partner=self.customer)
        task = order.lastmile_task_ids
        order._send_order_confirmation_mail()
        mail = self.env["mail.mail"].sudo().search([("model", "=", "sale.order"), ("res_id", "=", order.id)])
        self.assertTrue(mail)
        self.assertIn(task.tracking_url, mail.body_html)
        self.assertIn("Follow your delivery", mail.body_html)
