"""Twilio's webhook for the SMS customers send back (“A message comes in”).

Checked before anything else: the size of the request, then Twilio's signature of it
(``X-Twilio-Signature``, made with the auth token of the company whose account sent the
message). A request that fails a check is refused, logged, and stores nothing; a message received
again (Twilio retries) changes nothing. Then one model
method does the work: the reply goes to the customer's delivery under way, STOP opts the
number out of delivery SMS.
"""

import logging

from twilio.request_validator import RequestValidator
from werkzeug.urls import url_join

from odoo import http
from odoo.http import request

_logger = logging.getLogger(__name__)

# Twilio sends a few form fields; an SMS body is at most 1,600 characters
MAX_BODY = 16 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class LastmileTwilioController(http.Controller):
    def _refuse(self, status, reason):
        _logger.warning(
            "Last Mile SMS webhook: %s refused (%s) from %s", status, reason, request.httprequest.remote_addr
        )
        return request.make_response(reason, headers=[("Content-Type", "text/plain")], status=status)

    def _signed_companies(self, params, signature):
        """The companies of the Twilio account that signed these parameters (several companies
        may share one account), else an empty recordset."""
        Company = request.env["res.company"].sudo()
        account = params.get("AccountSid") or ""
        if not (signature and account.startswith("AC") and len(account) == 34):
            return Company
        companies = Company.search(
            [("sms_provider", "=", "twilio"), ("sms_twilio_account_sid", "=", account)]
        )
        # the URL Twilio called: as pasted from the README (the public base URL), or as this
        # server sees it behind a proxy that passes the host and scheme on (proxy mode)
        path = request.httprequest.full_path.rstrip("?")
        for token in set(companies.filtered("sms_twilio_auth_token").mapped("sms_twilio_auth_token")):
            validator = RequestValidator(token)
            signed = companies.filtered(lambda c, t=token: c.sms_twilio_auth_token == t)
            urls = {url_join(signed[0].get_base_url(), path), request.httprequest.url}
            if any(validator.validate(url, params, signature) for url in urls):
                return signed
        return Company

    @http.route(
        "/lastmile/twilio/incoming",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=MAX_BODY,  # a larger form is refused before Odoo reads it
    )
    def twilio_incoming(self, **kw):
        if request.httprequest.content_length is None:  # a larger one never gets here (the route's limit)
            return self._refuse(413, "Request too large")
        params = request.httprequest.form.to_dict()
        companies = self._signed_companies(params, request.httprequest.headers.get("X-Twilio-Signature", ""))
        if not companies:
            return self._refuse(403, "Invalid signature")
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        if not (sid.startswith(("SM", "MM")) and len(sid) == 34 and params.get("From")):
            return self._refuse(400, "Not an incoming message")
        outcome = (
            request.env["lastmile.delivery.task"]
            .sudo()
            ._lastmile_receive_sms(companies, params["From"], params.get("Body") or "", sid)
        )
        if outcome == "replay":  # Twilio sending it again: already done, nothing more to do
            _logger.info("Last Mile SMS webhook: message %s received again, ignored", sid)
        return request.make_response(EMPTY_TWIML, headers=[("Content-Type", "text/xml")])
