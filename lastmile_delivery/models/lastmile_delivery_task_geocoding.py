import logging
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.fields import Domain

from ..services.geo import has_coordinates
from ..services.geocoding import GeocodingError
from ..tools import notification_action

_logger = logging.getLogger(__name__)


class LastmileDeliveryTask(models.Model):
    """Geocoding, and the work queued after an order is confirmed: nothing slow or global runs
    in the transaction of the person who confirms. New deliveries wait for a scheduled action
    (triggered at once, run after the commit) that locates their address, then dispatches
    them when the shop dispatches automatically."""

    _inherit = "lastmile.delivery.task"

    def _queue_processing(self, dispatch=False):
        """Locate (and, with ``dispatch``, dispatch) these new deliveries after the commit."""
        tasks = self.sudo()
        tasks.filtered(lambda t: not has_coordinates(t.latitude, t.longitude)).geocode_pending = True
        if dispatch:
            tasks.dispatch_pending = True
        if tasks.filtered(lambda t: t.geocode_pending or t.dispatch_pending):
            self._trigger_queue()

    def _geocode(self):
        """Locate the addresses without coordinates. Never raises: failures flag the task.

        Every request to the geocoder is made before anything is written, so no row stays
        locked while a service is waited for.
        """
        tasks = self.sudo()
        to_locate = tasks.filtered(lambda t: not has_coordinates(t.latitude, t.longitude))
        (tasks - to_locate).filtered(lambda t: t.geocode_issue or t.geocode_pending).write(
            {"geocode_issue": False, "geocode_pending": False}
        )
        if not to_locate:
            return
        try:
            geocoder = self.env["res.partner"]._lastmile_geocoder()
        except GeocodingError as error:
            to_locate.write({"geocode_issue": str(error), "geocode_pending": True})
            return
        answers = {}
        for partner in to_locate.partner_shipping_id:
            try:
                answers[partner] = partner._lastmile_geocode_query(geocoder)
            except GeocodingError as error:
                answers[partner] = error
        for partner, tasks in to_locate.grouped("partner_shipping_id").items():
            answer = answers[partner]
            if isinstance(answer, GeocodingError):
                tasks.write({"geocode_issue": str(answer), "geocode_pending": True})
            elif answer:
                partner._lastmile_store_location(answer)
                tasks.write({"geocode_issue": False, "geocode_pending": False})
            else:
                message = self.env._("The address was not found by the geocoder: check the street and city.")
                tasks.write({"geocode_issue": message, "geocode_pending": False})

    def action_geocode(self):
        """Locate the selected addresses: at once for those with coordinates (entered by hand),
        in the background for the others (the geocoder is a remote service)."""
        self._check_dispatcher()
        self.check_access("write")
        located = self.filtered(lambda t: has_coordinates(t.latitude, t.longitude))
        located._geocode()
        waiting = self - located
        if waiting:
            waiting.sudo().write({"geocode_pending": True, "geocode_issue": False})
            self._trigger_queue()
            return notification_action(
                self.env._(
                    "Locating %(count)s address(es) in the background: refresh in a moment.",
                    count=len(waiting),
                ),
                "info",
            )
        return notification_action(self.env._("Every address is located."), "success")

    @api.model
    def _cron_geocode(self, limit=200):
        """Locate the addresses waiting for the geocoder, then dispatch the deliveries waiting
        for automatic dispatch whose address is located. Commits after each step: the geocoder's
        answers are kept even if a dispatch has to wait."""
        tasks = self.search(
            [("geocode_pending", "=", True), ("state", "in", ["new", "assigned", "failed"])], limit=limit
        )
        tasks._geocode()
        self.env["ir.cron"]._commit_progress(len(tasks))
        to_dispatch = self.search(
            Domain("dispatch_pending", "=", True)
            & Domain("state", "=", "new")
            & Domain("address_state", "=", "ok")
        )
        postponed = False
        for (_company, day), group in to_dispatch.grouped(lambda t: (t.company_id, t.scheduled_date)).items():
            postponed |= not group._dispatch_in_cron(day)
        if postponed or len(tasks) == limit:
            # a day someone was planning, or more addresses to locate: come back soon
            self._trigger_queue(fields.Datetime.now() + timedelta(minutes=1))

    @api.model
    def _trigger_queue(self, at=None):
        self.env.ref("lastmile_delivery.ir_cron_lastmile_geocode").sudo()._trigger(at)

    def _dispatch_in_cron(self, day, attempts=3):
        """Dispatch one company's deliveries of one day in its own transaction. A dispatcher
        holding the day means later (returns False); a concurrent commit (a serialization
        failure) means again, on a fresh snapshot."""
        company, ids = self.company_id, self.ids
        for attempt in range(attempts):
            if not company._lastmile_lock_day(day):  # taken again by _dispatch: the lock is ours
                _logger.info("Automatic dispatch of %s postponed: someone is planning that day", day)
                self.env.cr.rollback()
                return False
            tasks = self.browse(ids).exists().filtered(lambda t: t.state == "new" and not t.driver_id)
            try:
                tasks._dispatch()
            except psycopg2.errors.SerializationFailure:
                _logger.info("Automatic dispatch of %s met a concurrent update (try %s)", day, attempt + 1)
                self.env.cr.rollback()
                continue
            self.env["ir.cron"]._commit_progress(len(tasks))
            return True
        return False
