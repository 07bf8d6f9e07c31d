import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

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
        Returns True when the geocoding service failed (the rest waits for the next round).

        Every request to the geocoder is made before anything is written, so no row stays
        locked while a service is waited for; a service that fails is not asked again for the
        other addresses of the batch.
        """
        tasks = self.sudo()
        to_locate = tasks.filtered(lambda t: not has_coordinates(t.latitude, t.longitude))
        answers, failure = {}, None
        if to_locate:
            try:
                geocoder = self.env["res.partner"]._lastmile_geocoder()
            except GeocodingError as error:
                failure = error
            else:
                answers, failure = to_locate.partner_shipping_id._lastmile_geocode_batch(geocoder)
        found = tasks - to_locate
        for partner, group in to_locate.grouped("partner_shipping_id").items():
            if partner not in answers:
                group.write({"geocode_issue": str(failure), "geocode_pending": True})
            elif answers[partner]:
                partner._lastmile_store_location(answers[partner].latitude, answers[partner].longitude)
                found |= group
            else:
                message = self.env._("The address was not found by the geocoder: check the street and city.")
                group.write({"geocode_issue": message, "geocode_pending": False})
        found._on_located()
        return failure is not None

    def _on_located(self):
        """These deliveries have their coordinates: the address is fine, an old reason not to
        dispatch them is gone, a price per km can be set, and an automatic dispatch can go."""
        tasks = self.sudo()
        was_to_check = tasks.filtered(lambda t: t.geocode_issue or t.geocode_pending)
        was_to_check.write({"geocode_issue": False, "geocode_pending": False})
        was_to_check.filtered(lambda t: t.state == "new" and t.dispatch_issue).dispatch_issue = False
        for task in tasks.filtered("price_pending"):
            task.price_pending = False  # priced now, or the reason is noted: it is not retried
            try:
                with self.env.cr.savepoint():
                    if task.picking_id.carrier_id.delivery_type == "lastmile":
                        task.picking_id.send_to_shipper()
            except UserError as error:
                task.picking_id.message_post(
                    body=self.env._("The delivery price could not be set: %(error)s", error=error)
                )
        if tasks.filtered(lambda t: t.dispatch_pending and t.state == "new"):
            self._trigger_queue()

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
    def _cron_geocode(self, batch=10):
        """One round of the queue; the scheduler runs it again while work remains. Dispatches
        the located deliveries waiting for it, then locates a batch of addresses (committed,
        so an answer is never lost), then dispatches what they located."""
        self._dispatch_queued()
        Partner = self.env["res.partner"]
        partners = Partner.search(
            [("lastmile_geocode_state", "=", "pending")], limit=batch, order="write_date, id"
        )
        service_down = partners._lastmile_locate_pending()
        pending = Domain("geocode_pending", "=", True) & Domain("state", "in", ["new", "assigned", "failed"])
        tasks = self.browse() if service_down else self.search(pending, limit=batch, order="write_date, id")
        service_down = tasks._geocode() or service_down
        remaining = (
            0
            if service_down
            else self.search_count(pending)
            + Partner.search_count([("lastmile_geocode_state", "=", "pending")])
        )  # service down: the next scheduled round
        self.env["ir.cron"]._commit_progress(len(tasks) + len(partners), remaining=remaining)
        if tasks:
            self._dispatch_queued()

    @api.model
    def _dispatch_queued(self):
        to_dispatch = self.search(
            Domain("dispatch_pending", "=", True)
            & Domain("state", "=", "new")
            & Domain("address_state", "=", "ok")
        )
        postponed = False
        for (company, day), group in to_dispatch.grouped(lambda t: (t.company_id, t.scheduled_date)).items():
            # the reasons written in the shop's language (a cron has none), as its people read them
            lang = company.partner_id.lang or self.env.lang
            postponed |= not group.with_context(lang=lang)._dispatch_in_cron(day)
        if postponed:  # a day someone was planning: come back soon
            self._trigger_queue(fields.Datetime.now() + timedelta(minutes=1))

    @api.model
    def _trigger_queue(self, at=None):
        self.env.ref("lastmile_delivery.ir_cron_lastmile_geocode").sudo()._trigger(at)

    def _dispatch_in_cron(self, day, attempts=3):
        """Dispatch one company's deliveries of one day in its own transaction. A dispatcher
        holding the day means later (returns False); a concurrent commit (a serialization
        failure) means again, on a fresh snapshot; any other failure is written on the
        deliveries, which are then left to the dispatcher, and the other days go on."""
        company, ids = self.company_id, self.ids
        for attempt in range(attempts):
            if not company._lastmile_lock_day(day):  # taken again by _dispatch: the lock is ours
                _logger.info("Automatic dispatch of %s postponed: someone is planning that day", day)
                self.env.cr.rollback()
                return False
            tasks = self.browse(ids).exists().filtered(lambda t: t.state == "new" and not t.driver_id)
            try:
                tasks._dispatch()
                self.env.flush_all()  # a conflict shows at the write: within the retry
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                _logger.info("Automatic dispatch of %s met a concurrent update (try %s)", day, attempt + 1)
                self.env.cr.rollback()
                continue
            except Exception as error:  # noqa: BLE001 - one day's failure must not stop the others
                _logger.exception("Automatic dispatch of %s failed", day)
                self.env.cr.rollback()
                self.browse(ids).exists().sudo().write(
                    {
                        "dispatch_pending": False,
                        "dispatch_issue": self.env._("Automatic dispatch failed: %(error)s", error=error),
                    }
                )
            self.env["ir.cron"]._commit_progress()  # progress counts addresses; this only commits
            return True
        return False
