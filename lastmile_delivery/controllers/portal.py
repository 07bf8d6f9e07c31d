"""The customer's delivery pages: ``/my/deliveries`` for logged-in customers, and each
delivery's tracking page, which its link (with its token) opens without an account.

Thin, in the four steps of Odoo's portal pages: check access (the token, compared in constant
time, or the portal user's record rules), answer 404 on any failure (no hint whether the
delivery exists), prepare the values on the model, render.
"""

import logging

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request

_logger = logging.getLogger(__name__)

PAGE_SIZE = 20


class LastmileCustomerPortal(CustomerPortal):
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "lastmile_delivery_count" in counters:
            Task = request.env["lastmile.delivery.task"]
            values["lastmile_delivery_count"] = Task.search_count([]) if Task.has_access("read") else 0
        return values

    def _lastmile_task(self, task_id, access_token):
        """The delivery in superuser mode, if the visitor may see it; else 404."""
        try:
            task_sudo = self._document_check_access("lastmile.delivery.task", task_id, access_token)
        except (AccessError, MissingError) as error:
            raise NotFound() from error
        # the link expires some days after the delivery; its customer still finds it under /my
        own = request.env["lastmile.delivery.task"].browse(task_id).has_access("read")
        return task_sudo, own

    def _lastmile_open_task(self, task_id, access_token):
        """The delivery in superuser mode, if the visitor may see it and its link has not
        expired; else 404."""
        task_sudo, own = self._lastmile_task(task_id, access_token)
        if not own and task_sudo._lastmile_tracking_expired():
            raise NotFound()
        return task_sudo

    def _lastmile_page_url(self, task_sudo, access_token):
        return task_sudo.access_url + (f"?access_token={access_token}" if access_token else "")

    @http.route(["/my/deliveries", "/my/deliveries/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_deliveries(self, page=1, **kw):
        Task = request.env["lastmile.delivery.task"]
        count = Task.search_count([])
        pager = portal_pager(url="/my/deliveries", total=count, page=page, step=PAGE_SIZE)
        tasks = Task.search([], order="window_start desc, id desc", limit=PAGE_SIZE, offset=pager["offset"])
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "tasks": tasks,
                "pager": pager,
                "page_name": "lastmile_delivery",
                "default_url": "/my/deliveries",
            }
        )
        return request.render("lastmile_delivery.portal_my_deliveries", values)

    @http.route("/my/deliveries/<int:task_id>", type="http", auth="public", website=True)
    def portal_delivery_page(self, task_id, access_token=None, message=None, **kw):
        task_sudo, own = self._lastmile_task(task_id, access_token)
        if not own and task_sudo._lastmile_tracking_expired():
            return request.render(
                "lastmile_delivery.portal_delivery_expired", {"company": task_sudo.company_id}, status=410
            )
        values = task_sudo._prepare_tracking_values()
        values.update(
            {
                "access_token": access_token or "",
                "page_name": "lastmile_delivery",
                "own": own,
                "message": message if message in ("instructions", "rated", "error") else None,
                "error": request.session.pop("lastmile_portal_error", None) if message == "error" else None,
            }
        )
        return request.render("lastmile_delivery.portal_delivery_page", values)

    @http.route(
        "/my/deliveries/<int:task_id>/live",
        type="http",
        auth="public",
        methods=["GET"],
        readonly=True,
        save_session=False,
    )
    def portal_delivery_live(self, task_id, access_token=None, **kw):
        """What the page refreshes every 15 s: status, ETA, stops before, driver's position."""
        task_sudo = self._lastmile_open_task(task_id, access_token)
        response = request.make_json_response(task_sudo._prepare_tracking_live())
        response.headers["Cache-Control"] = "no-store"
        return response

    def _lastmile_post(self, task_id, access_token, act, done):
        task_sudo = self._lastmile_open_task(task_id, access_token)
        message = done
        try:
            act(task_sudo)
        except (UserError, ValidationError) as error:
            request.env.cr.rollback()
            request.session["lastmile_portal_error"] = str(error.args[0])
            message = "error"
        url = self._lastmile_page_url(task_sudo, access_token)
        return request.redirect(f"{url}{'&' if access_token else '?'}message={message}#lastmile_form")

    @http.route(
        "/my/deliveries/<int:task_id>/instructions",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_delivery_instructions(self, task_id, access_token=None, instructions="", **kw):
        return self._lastmile_post(
            task_id,
            access_token,
            lambda task: task._lastmile_portal_set_instructions(instructions),
            "instructions",
        )

    @http.route(
        "/my/deliveries/<int:task_id>/rate", type="http", auth="public", methods=["POST"], website=True
    )
    def portal_delivery_rate(self, task_id, access_token=None, rating="", comment="", **kw):
        try:
            value = int(rating)
        except ValueError:
            value = 0
        return self._lastmile_post(
            task_id, access_token, lambda task: task._lastmile_portal_rate(value, comment), "rated"
        )
