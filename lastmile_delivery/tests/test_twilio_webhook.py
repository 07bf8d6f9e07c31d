"""Twilio's webhook for the customers' SMS replies, called as Twilio calls it: a signed form."""

from freezegun import freeze_time
from twilio.request_validator import RequestValidator

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import NOW, LastmileCase

SID = "AC12345678987654321234567898765432"
TOKEN = "grimgorironhide"
URL = "/lastmile/twilio/incoming"


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestTwilioWebhook(LastmileCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sudo().write(
            {"sms_provider": "twilio", "sms_twilio_account_sid": SID, "sms_twilio_auth_token": TOKEN}
        )
        cls.customer.phone = "+32 470 12 34 56"

    def setUp(self):
        super().setUp()
        self.task = self._create_task(self.customer, driver_id=self.driver.id)

    def post(self, body, sid="SM" + "1" * 32, sender="+32470123456", signature=True, **extra):
        params = {
            "AccountSid": SID,
            "MessageSid": sid,
            "From": sender,
            "To": "+32455998877",
            "Body": body,
            **extra,
        }
        headers = {}
        if signature:
            url = self.env.company.get_base_url() + URL
            headers["X-Twilio-Signature"] = (
                RequestValidator(TOKEN).compute_signature(url, params) if signature is True else signature
            )
        return self.url_open(URL, data=params, headers=headers)

    def replies(self):
        return self.task.message_ids.filtered(lambda m: m.message_id and m.message_id.startswith("<twilio-"))

    def test_reply_goes_to_the_delivery_and_the_driver(self):
        response = self.post("Please ring twice <b>hard</b>")
        self.assertEqual(response.status_code, 200)
        self.assertIn("<Response>", response.text)
        self.assertEqual(len(self.replies()), 1)
        self.assertEqual(self.replies().author_id, self.customer)
        self.assertIn("&lt;b&gt;hard&lt;/b&gt;", self.replies().body, "escaped")
        self.assertIn("Please ring twice <b>hard</b>", self.task.customer_message, "what the driver reads")
        self.assertIn(
            "Please ring twice",
            self.task.with_user(self.driver_user).read(["customer_message"])[0]["customer_message"],
        )
        self.post("Second message", sid="SM" + "5" * 32)
        second = self.replies().filtered(lambda m: "Second message" in m.body)
        self.assertNotIn("ring twice", second.body, "each reply posts its own text, not all said before")

    def test_replay_changes_nothing(self):
        self.assertEqual(self.post("On my way home").status_code, 200)
        response = self.post("On my way home")  # Twilio retrying, or someone replaying it
        self.assertEqual(response.status_code, 200, "Twilio is answered: it stops retrying")
        self.assertEqual(len(self.replies()), 1, "stored once")
        self.assertEqual(self.task.customer_message.count("On my way home"), 1)

    def test_one_twilio_account_for_two_companies(self):
        other = self.env["res.company"].create({"name": "Second Shop"})
        other.sudo().write(
            {"sms_provider": "twilio", "sms_twilio_account_sid": SID, "sms_twilio_auth_token": TOKEN}
        )
        customer = self._create_customer("Olivia", phone="+32 470 99 98 88")
        theirs = self._create_task(customer, company_id=other.id)
        self.assertEqual(self.post("Second shop's customer", sender="+32470999888").status_code, 200)
        self.assertIn("Second shop's customer", theirs.customer_message)
        self.assertFalse(self.replies())

    def test_bad_or_missing_signature(self):
        for signature in (False, "bm90IGEgc2lnbmF0dXJl"):
            with self.assertLogs("odoo.addons.lastmile_delivery.controllers.twilio", "WARNING"):
                response = self.post("Hello", signature=signature)
            self.assertEqual(response.status_code, 403)
        # signed with another token, or for another account
        params = {"AccountSid": SID, "MessageSid": "SM" + "2" * 32, "From": "+32470123456", "Body": "x"}
        forged = RequestValidator("another-token").compute_signature(
            self.env.company.get_base_url() + URL, params
        )
        with self.assertLogs("odoo.addons.lastmile_delivery.controllers.twilio", "WARNING"):
            response = self.url_open(URL, data=params, headers={"X-Twilio-Signature": forged})
        self.assertEqual(response.status_code, 403)
        with self.assertLogs("odoo.addons.lastmile_delivery.controllers.twilio", "WARNING"):
            response = self.post("Hello", AccountSid="AC" + "9" * 32)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.replies())
        self.assertFalse(self.task.customer_message)

    def test_oversized_body(self):
        response = self.post("x" * 20000)  # refused by the route before its form is read
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.replies())

    def test_unknown_number(self):
        response = self.post("Who are you?", sender="+32470999999")
        self.assertEqual(response.status_code, 200)
        self.assertFalse(self.replies())
        self.assertFalse(self.env["mail.message"].search([("message_id", "like", "<twilio-%")]))

    def test_stop_and_start(self):
        Optout = self.env["lastmile.sms.optout"]
        self.assertEqual(self.post("Stop").status_code, 200)
        self.assertTrue(Optout._lastmile_is_opted_out("+32470123456"))
        self.assertEqual(Optout.search([]).partner_id, self.customer)
        self.assertFalse(self.task.customer_message, "STOP is not an instruction")
        self.assertEqual(self.post("START", sid="SM" + "3" * 32).status_code, 200)
        self.assertFalse(Optout._lastmile_is_opted_out("+32470123456"))
        # STOP from a number without a delivery under way still opts it out
        self.post("STOP", sid="SM" + "4" * 32, sender="+32470999999")
        self.assertTrue(Optout._lastmile_is_opted_out("+32470999999"))

    def test_only_a_manager_lifts_an_opt_out(self):
        self.post("STOP")
        optout = self.env["lastmile.sms.optout"].with_user(self.dispatcher_user).search([])
        self.assertEqual(len(optout), 1, "the dispatcher sees who said STOP")
        with self.assertRaises(AccessError):
            optout.unlink()
        with self.assertRaises(AccessError):  # only the customer opts out, by SMS
            self.env["lastmile.sms.optout"].with_user(self.dispatcher_user).create({"number": "+32470000000"})
        optout.with_user(self.manager_user).unlink()
        self.assertFalse(self.env["lastmile.sms.optout"]._lastmile_is_opted_out("+32470123456"))
