"""The JSON endpoints of the driver's phone (My Route).

Thin: each reads the JSON body, checks the records exist and belong to the caller's reach,
calls one model method (which checks who calls and validates what was sent) and answers JSON.
Refusals are HTTP errors the phone can act on, with a message for the driver and nothing
written: 400 unreadable, 403 not yours, 404 no such record, 413 too large, 415 not JSON, 422
refused by a business rule. The phone sends ``Content-Type: application/json`` with the
session cookie: a page of another site cannot (browsers preflight it), which is what protects
these routes from cross-site requests, as for Odoo's own JSON-RPC routes.
"""

import json
import logging

from odoo import http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request

_logger = logging.getLogger(__name__)

MAX_IDS = 50
# 5 photos and a signature of the largest size allowed, in base64, and some room
BODY_MARGIN = 1.4


class DriverDayController(http.Controller):
    def _answer(self, payload, status=200):
        return request.make_json_response(payload, status=status)

    def _refuse(self, status, message):
        request.env.cr.rollback()  # nothing of a refused request is kept
        return self._answer({"error": message}, status=status)

    def _read_body(self):
        if request.httprequest.mimetype != "application/json":
            raise _Refusal(415, request.env._("Send JSON."))
        company = request.env.user.company_id
        limit = int((company.lastmile_pod_max_image_mb or 10) * 1024 * 1024 * 6 * BODY_MARGIN) + 65536
        length = request.httprequest.content_length
        if length is None or length > limit:
            raise _Refusal(413, request.env._("The photos are too large to send together."))
        try:
            # kept (cache): Odoo serves the request again after a concurrent update
            body = json.loads(request.httprequest.get_data() or b"{}")
        except ValueError as error:
            raise _Refusal(400, request.env._("The request could not be read.")) from error
        if not isinstance(body, dict):
            raise _Refusal(400, request.env._("The request could not be read."))
        return body

    def _records(self, model, ids):
        """The records of ``ids`` (a non-empty list of ids), all existing."""
        if isinstance(ids, int) and not isinstance(ids, bool):
            ids = [ids]
        if (
            not isinstance(ids, list)
            or not 0 < len(ids) <= MAX_IDS
            or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)
        ):
            raise _Refusal(400, request.env._("The request names no valid record."))
        records = request.env[model].browse(ids).exists()
        if len(records) != len(set(ids)):
            raise _Refusal(404, request.env._("This delivery or route no longer exists."))
        return records  # the model's action checks who may act on them (403)

    def _route(self, body, several):
        """The one route the body names (``several``: the refusal when it names more)."""
        route = self._records("lastmile.route", body.get("route_id"))
        if len(route) != 1:
            raise _Refusal(400, several)
        return route

    def _call(self, method):
        try:
            return self._answer(method(self._read_body()))
        except _Refusal as refusal:
            return self._refuse(refusal.status, refusal.message)
        except MissingError as error:
            return self._refuse(404, str(error))
        except AccessError as error:
            _logger.info("Driver endpoint refused for user %s: %s", request.env.uid, error)
            return self._refuse(403, str(error))
        except (UserError, ValidationError) as error:
            return self._refuse(422, str(error))

    @http.route("/lastmile/driver/day", type="http", auth="user", methods=["POST"], csrf=False, readonly=True)
    def driver_day(self):
        return self._call(lambda body: request.env["lastmile.route"].get_driver_day())

    @http.route("/lastmile/driver/route/start", type="http", auth="user", methods=["POST"], csrf=False)
    def start_route(self):
        def start(body):
            self._records("lastmile.route", body.get("route_id")).action_start_route()
            return request.env["lastmile.route"].get_driver_day()

        return self._call(start)

    @http.route("/lastmile/driver/route/break", type="http", auth="user", methods=["POST"], csrf=False)
    def take_break(self):
        def take(body):
            self._route(body, request.env._("Take a break on one route.")).action_take_break()
            return request.env["lastmile.route"].get_driver_day()

        return self._call(take)

    @http.route("/lastmile/driver/position", type="http", auth="user", methods=["POST"], csrf=False)
    def position(self):
        def post(body):
            return self._route(body, request.env._("Send the position for one route.")).action_post_position(
                body
            )

        return self._call(post)

    @http.route("/lastmile/driver/stop/arrive", type="http", auth="user", methods=["POST"], csrf=False)
    def arrive(self):
        def arrive(body):
            self._records("lastmile.delivery.task", body.get("task_ids")).action_arrive()
            return {"ok": True}

        return self._call(arrive)

    @http.route("/lastmile/driver/stop/report", type="http", auth="user", methods=["POST"], csrf=False)
    def report(self):
        def report(body):
            tasks = self._records("lastmile.delivery.task", body.get("task_ids"))
            return tasks.action_submit_proof(body.get("proof"))

        return self._call(report)


class _Refusal(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message
