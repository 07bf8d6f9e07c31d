"""What the customer is told, and when: the moments of a delivery, by SMS and email.

A moment is queued on the task in the transaction that makes it happen (the driver's report,
the route's start) and sent after the commit by a scheduled action: no template, SMS provider
or mail server ever slows down or blocks a delivery step. SMS go through Odoo's SMS framework
(queued, retried, logged), with the company's provider (Twilio with ``sms_twilio``); emails
through the mail queue. Both are posted in the task's chatter.
"""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, format_date

from .lastmile_delivery_task_portal import CUSTOMER_MESSAGE_MAX

_logger = logging.getLogger(__name__)

# the moments, in the order a customer lives them
MOMENTS = ("dispatched", "nearby", "delivered", "failed", "rescheduled")
# a message still worth sending when the job gets to it: the state the delivery must be in
MOMENT_STATES = {
    "dispatched": ("in_transit",),
    "nearby": ("in_transit",),
    "delivered": ("delivered",),
    "failed": ("failed",),
    "rescheduled": ("new", "assigned", "in_transit"),
}
# what a customer texts to stop (or restart) the delivery SMS, as Twilio's own opt-out keywords
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
START_WORDS = {"START", "UNSTOP", "YES"}
SMS_MAX = 1600
MOMENT_OF_STATE = {"in_transit": "dispatched", "delivered": "delivered", "failed": "failed"}
# half the width of the arrival window shown to the customer around the ETA
ETA_MARGIN = timedelta(minutes=15)


class LastmileDeliveryTask(models.Model):
    _inherit = "lastmile.delivery.task"

    notifications = fields.Json(
        string="Customer Messages",
        copy=False,
        readonly=True,
        groups="base.group_user",
        help="Each moment the customer was told of (or is about to be): queued, sent, not sent, stale.",
    )
    notification_pending = fields.Boolean(
        compute="_compute_notification_pending", store=True, copy=False, groups="base.group_user"
    )
    notification_summary = fields.Text(
        string="Messages to the Customer", compute="_compute_notification_summary", groups="base.group_user"
    )
    notification_error = fields.Boolean(
        string="Message Not Delivered",
        compute="_compute_notification_error",
        search="_search_notification_error",
        help="An SMS or email to the customer could not be delivered (see the chatter).",
    )
    eta_window_label = fields.Char(string="Expected Arrival", compute="_compute_eta_window_label")
    driver_first_name = fields.Char(compute="_compute_driver_first_name")
    customer_reference = fields.Char(
        compute="_compute_customer_reference", help="The order's number as the customer knows it."
    )
    delivery_day_label = fields.Char(compute="_compute_delivery_day_label")
    window_hours_label = fields.Char(
        compute="_compute_delivery_day_label", help="“10:00–12:00”: the promised window's hours."
    )
    failure_label = fields.Char(
        string="Why Not Delivered", compute="_compute_failure_label", help="What the customer is told."
    )
    next_step_label = fields.Char(
        string="Next Step", compute="_compute_failure_label", help="What happens after a failed delivery."
    )

    _notification_pending_idx = models.Index("(id) WHERE notification_pending")

    # ------------------------------------------------------------------ computes

    @api.depends("eta", "window_start", "window_end", "state")
    @api.depends_context("lang")
    def _compute_eta_window_label(self):
        """“10:40–11:10”: the ETA give or take a quarter of an hour, on five-minute marks, in the
        shop's time zone; the promised window while there is no ETA."""
        for task in self:
            start, end = task._lastmile_eta_window()
            if not (start and end):
                task.eta_window_label = False
                continue
            company = task.company_id
            today = company._lastmile_date_of(fields.Datetime.now())
            same_day = company._lastmile_date_of(start) == company._lastmile_date_of(end) == today
            first = company._lastmile_format(start, "HH:mm" if same_day else "EEE d MMM HH:mm")
            task.eta_window_label = f"{first}–{company._lastmile_format(end)}"

    @api.depends("notifications")
    @api.depends_context("lang")
    def _compute_notification_summary(self):
        moments = {
            "dispatched": self.env._("Out for delivery"),
            "nearby": self.env._("Driver nearby"),
            "delivered": self.env._("Delivered"),
            "failed": self.env._("Not delivered"),
            "rescheduled": self.env._("Rescheduled"),
        }
        states = {
            "queued": self.env._("waiting to be sent"),
            "sent": self.env._("handed to the SMS and email queues (delivery: see the chatter)"),
            "not_sent": self.env._("not sent (no number or email)"),
            "stale": self.env._("not sent (already past)"),
            "error": self.env._("not sent (template error)"),
        }
        for task in self:
            done = task.notifications or {}
            task.notification_summary = (
                "\n".join(
                    f"{moments[moment]}: {states.get(done[moment], done[moment])}"
                    for moment in MOMENTS
                    if moment in done
                )
                or False
            )

    @api.depends("driver_id.name")
    def _compute_driver_first_name(self):
        for task in self:
            task.driver_first_name = (task.sudo().driver_id.name or "").split(" ")[0] or False

    @api.depends("sale_order_id.name", "picking_id.name", "name")
    def _compute_customer_reference(self):
        for task in self:
            task_sudo = task.sudo()
            task.customer_reference = task_sudo.sale_order_id.name or task_sudo.picking_id.name or task.name

    @api.depends("scheduled_date", "window_start", "window_end")
    @api.depends_context("lang")
    def _compute_delivery_day_label(self):
        """“Tuesday 24 November” and “10:00–12:00”, in the reader's language and the shop's
        time zone."""
        for task in self:
            task.delivery_day_label = task.scheduled_date and format_date(
                self.env, task.scheduled_date, date_format="EEEE d MMMM"
            )
            start, end = (task.company_id._lastmile_format(m) for m in (task.window_start, task.window_end))
            task.window_hours_label = start and end and f"{start}–{end}"

    @api.depends("state")
    @api.depends_context("lang")
    def _compute_failure_label(self):
        """Without proof of delivery the driver gives no reason: the shop calls the customer."""
        for task in self:
            task.failure_label = False
            task.next_step_label = task.state == "failed" and self.env._(
                "The shop will contact you to arrange a new delivery."
            )

    def _lastmile_eta_window(self):
        """The arrival window the customer sees: around the ETA while the delivery is under way,
        else the promised window."""
        self.ensure_one()
        if self.state in ("assigned", "in_transit") and self.eta:
            start = self.eta - ETA_MARGIN
            start -= timedelta(minutes=start.minute % 5, seconds=start.second, microseconds=start.microsecond)
            return start, start + 2 * ETA_MARGIN
        return self.window_start, self.window_end

    def _compute_notification_error(self):
        failed = set(self._lastmile_failed_notification_ids(self.ids)) if self.ids else set()
        for task in self:
            task.notification_error = task.id in failed

    def _search_notification_error(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            return NotImplemented
        failed = Domain("id", "in", self._lastmile_failed_notification_ids())
        return failed if (operator == "=") == value else ~failed

    @api.model
    def _lastmile_failed_notification_ids(self, ids=None):
        """Deliveries with an SMS or email to the customer that failed and was not sent since
        (whoever posted it: the job does, not the dispatcher reading)."""
        self.env["mail.notification"].flush_model(["notification_status", "notification_type"])
        query = SQL(
            """SELECT DISTINCT msg.res_id FROM mail_message msg
               JOIN mail_notification notif ON notif.mail_message_id = msg.id
              WHERE msg.model = %s AND notif.notification_type IN ('sms', 'email')
                AND notif.notification_status IN ('exception', 'bounce')""",
            self._name,
        )
        if ids is not None:
            query = SQL("%s AND msg.res_id IN %s", query, tuple(ids))
        self.env.cr.execute(query)
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _lastmile_workflow_fields(self):
        return super()._lastmile_workflow_fields() | {"notifications", "notification_pending"}

    # ------------------------------------------------------------------ the moments

    def _set_state(self, state, check=True, **values):
        before = {task.id: task.state for task in self}
        result = super()._set_state(state, check=check, **values)
        moved = self.filtered(lambda t: before[t.id] != state)
        # a failed delivery sent back to dispatch goes out again: its customer is told again
        again = moved.filtered(lambda t: before[t.id] == "failed" and state in ("new", "assigned"))
        if again:
            again.sudo().notifications = False
        if state in MOMENT_OF_STATE:
            moved._lastmile_notify(MOMENT_OF_STATE[state])
        if state in ("delivered", "failed"):
            moved._lastmile_notify_next_stop()
        return result

    def write(self, vals):
        """An open delivery moved to another day: its customer is told (once per attempt)."""
        if not {"window_start", "window_end"} & vals.keys():
            return super().write(vals)
        days = {task.id: task.scheduled_date for task in self}
        result = super().write(vals)
        self.filtered(
            lambda t: t.state in ("new", "assigned") and days[t.id] and t.scheduled_date != days[t.id]
        )._lastmile_notify("rescheduled")
        return result

    @api.depends("notifications")
    def _compute_notification_pending(self):
        """A message queued for the notification job."""
        for task in self:
            task.notification_pending = "queued" in (task.notifications or {}).values()

    def _lastmile_notify(self, moment):
        """Queue the customer's message of ``moment`` (see ``MOMENTS``) for these deliveries; the
        notification job sends it after the commit. Each moment is sent once per delivery (a
        new attempt is a new delivery), whatever happens to the route meanwhile."""
        assert moment in MOMENTS, moment
        todo = self.sudo().filtered(
            lambda t: (
                moment not in (t.notifications or {}) and t.company_id[f"lastmile_notify_{moment}"] != "none"
            )
        )
        for task in todo:
            task.notifications = {**(task.notifications or {}), moment: "queued"}
        if todo:
            self.env.ref("lastmile_delivery.ir_cron_lastmile_notify").sudo()._trigger()

    def _lastmile_notify_next_stop(self):
        """A stop is done: the next stop of the round (all those before it done) learns the
        driver is on the way to them."""
        for route in self.sudo().route_id:
            on_the_way = route.task_ids.filtered(lambda t: t.state == "in_transit" and t.sequence)
            if on_the_way:
                first = min(on_the_way.mapped("sequence"))
                on_the_way.filtered(lambda t, s=first: t.sequence == s)._lastmile_notify("nearby")

    def _lastmile_notify_nearby_by_eta(self):
        """Deliveries on the way whose ETA (from the driver's live position) is within the
        company's “driver nearby” minutes."""
        now = fields.Datetime.now()
        self.sudo().filtered(
            lambda t: (
                t.state == "in_transit"
                and t.eta
                and t.eta <= now + timedelta(minutes=t.company_id.lastmile_nearby_minutes)
            )
        )._lastmile_notify("nearby")

    # ------------------------------------------------------------------ sending (the job)

    @api.model
    def _cron_lastmile_notify(self, batch=100):
        """Send the queued messages, one delivery at a time, each committed. A delivery being
        updated meanwhile waits for the next round, seconds later; a message that cannot be
        built (a template broken by an edit) is noted on the delivery and not tried again."""
        Cron = self.env["ir.cron"]
        pending = [("notification_pending", "=", True)]
        busy = self.browse()
        for task in self.sudo().search(pending, limit=batch, order="id"):
            try:
                with self.env.cr.savepoint():
                    if not task.try_lock_for_update(allow_referencing=True):
                        busy |= task  # a driver's report on it right now: the next round
                        continue
                    task._lastmile_send_notifications()
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                busy |= task
                continue
            except Exception as error:  # noqa: BLE001 - any error of a template: noted, the others go on
                _logger.exception("Last Mile: the customer messages of %s could not be sent", task.name)
                task._lastmile_notification_failed(error)
            if not Cron._commit_progress(1):
                break  # the job's time is up: the rest at its next run
        if busy:
            self.env.ref("lastmile_delivery.ir_cron_lastmile_notify")._trigger(
                fields.Datetime.now() + timedelta(seconds=10)
            )
        left = self.sudo().search_count(pending + [("id", "not in", busy.ids)])
        Cron._commit_progress(remaining=left)

    def _lastmile_send_notifications(self):
        self.ensure_one()
        states = dict(self.notifications or {})
        for moment in MOMENTS:
            if states.get(moment) != "queued":
                continue
            if self.state not in MOMENT_STATES[moment]:
                states[moment] = "stale"  # e.g. “nearby” when the driver has already delivered
                continue
            sent = self._lastmile_send_moment(moment, states)
            states[moment] = "sent" if sent else "not_sent"
        self.notifications = states

    def _lastmile_notification_failed(self, error):
        states = {
            moment: "error" if state == "queued" else state
            for moment, state in (self.notifications or {}).items()
        }
        self.notifications = states
        self._message_log(
            body=self.env._(
                "The message to the customer could not be prepared: %(error)s. Check the Last Mile SMS and "
                "email templates.",
                error=error,
            )
        )

    def _lastmile_send_moment(self, moment, states):
        channels = self.company_id[f"lastmile_notify_{moment}"]
        sent = False
        if channels in ("both", "sms"):
            sent = self._lastmile_send_sms(moment, states) or sent
        if channels in ("both", "email"):
            sent = self._lastmile_send_email(moment) or sent
        return sent

    def _lastmile_sms_number(self):
        """The delivery address's phone in E.164, as Odoo keeps it (``phone_sanitized``, with the
        address's country), or False when it is missing or not a valid number. The replies
        webhook finds the customer by the same number."""
        self.ensure_one()
        return self.partner_shipping_id.phone_sanitized or False

    def _lastmile_send_sms(self, moment, states):
        partner = self.partner_shipping_id
        number = self._lastmile_sms_number()
        reason = False
        if not number:
            reason = (
                self.env._(
                    "No SMS to the customer: %(phone)s (%(partner)s) is not a valid phone number.",
                    phone=partner.phone,
                    partner=partner.display_name,
                )
                if partner.phone
                else self.env._(
                    "No SMS to the customer: %(partner)s has no phone number.", partner=partner.display_name
                )
            )
        elif self.env["lastmile.sms.optout"]._lastmile_is_opted_out(number):
            reason = self.env._(
                "No SMS to the customer: %(number)s answered STOP to delivery messages.", number=number
            )
        if reason:
            if "sms_skipped" not in states:  # said once per delivery, not at each moment
                states["sms_skipped"] = True
                self._message_log(body=reason)
            return False
        template = self.env.ref(f"lastmile_delivery.sms_template_{moment}", raise_if_not_found=False)
        if not template:
            return False
        self._message_sms_with_template(
            template=template,
            partner_ids=partner.ids,
            sms_pid_to_number={partner.id: number},
            subtype_id=self.env["ir.model.data"]._xmlid_to_res_id("lastmile_delivery.mt_customer_message"),
            put_in_queue=True,  # the SMS job sends it, and retries it
        )
        return True

    def _lastmile_email_partner(self):
        """Who receives the emails: the delivery address when it has an email, else the customer."""
        self.ensure_one()
        return (self.partner_shipping_id | self.partner_id).filtered("email")[:1]

    def _lastmile_send_email(self, moment):
        partner = self._lastmile_email_partner()
        template = self.env.ref(f"lastmile_delivery.mail_template_{moment}", raise_if_not_found=False)
        if not (partner and template):
            return False
        self.with_context(mail_notify_force_send=False).message_post_with_source(
            template,
            partner_ids=partner.ids,
            subtype_xmlid="lastmile_delivery.mt_customer_message",
            email_layout_xmlid="mail.mail_notification_light",
        )
        self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger()
        return True

    # ------------------------------------------------------------------ replies (the webhook)

    @api.model
    def _lastmile_receive_sms(self, companies, number, body, sid):
        """An SMS a customer sent to the Twilio number of ``companies`` (one Twilio account).
        Returns what was done: ``replay`` (this message was already received: nothing done),
        ``stop``/``start`` (the number opted out of delivery SMS, or back in), ``reply`` (posted
        on their delivery under way, and added to what the driver reads), ``unknown`` (no
        delivery under way for this number: nothing stored)."""
        message_id = f"<twilio-{sid}@lastmile>"
        if self.env["mail.message"].sudo().search_count([("message_id", "=", message_id)], limit=1):
            return "replay"
        country = companies[:1].country_id
        number = self.env["res.partner"]._phone_format(number=number, country=country) or number
        body = (body or "").strip()[:SMS_MAX]
        keyword = body.upper().strip(" .!")
        task = self._lastmile_task_of_number(companies, number)
        log = {
            "author_id": task.partner_shipping_id.id,
            "message_id": message_id,
            "subtype_xmlid": "mail.mt_note",
        }
        if keyword in STOP_WORDS:
            self.env["lastmile.sms.optout"]._lastmile_opt_out(
                number, partner=task.partner_shipping_id, message=body
            )
            if task:
                task.message_post(
                    body=self.env._(
                        "%(word)s by SMS: no more delivery SMS to %(number)s.", word=keyword, number=number
                    ),
                    **log,
                )
            return "stop"
        if keyword in START_WORDS:
            self.env["lastmile.sms.optout"]._lastmile_opt_in(number)
            if task:
                task.message_post(
                    body=self.env._(
                        "%(word)s by SMS: delivery SMS to %(number)s again.", word=keyword, number=number
                    ),
                    **log,
                )
            return "start"
        if not task or not body:
            _logger.info("Last Mile SMS webhook: no delivery under way for the number of message %s", sid)
            return "unknown"
        task._lastmile_customer_reply(body, message_id)
        return "reply"

    @api.model
    def _lastmile_task_of_number(self, companies, number):
        """The delivery under way of the customer with this phone number: the one on the way,
        else the next one."""
        if not number:
            return self.browse()
        tasks = self.sudo().search(
            [
                ("company_id", "in", companies.ids),
                ("state", "in", ("new", "assigned", "in_transit")),
                ("partner_shipping_id.phone_sanitized", "=", number),
            ],
            order="window_start, id",
            limit=10,
        )
        return (tasks.filtered(lambda t: t.state == "in_transit") or tasks)[:1]

    def _lastmile_customer_reply(self, text, message_id):
        """The customer's SMS: in the chatter, and on the driver's screen with the instructions."""
        self.ensure_one()
        line = self.env._(
            "SMS at %(time)s: %(text)s",
            time=self.company_id._lastmile_format(fields.Datetime.now()),
            text=text,
        )
        said = "\n".join(filter(None, [self.customer_message, line]))
        self.sudo().customer_message = said[-CUSTOMER_MESSAGE_MAX:]
        self.message_post(
            body=text,
            author_id=self.partner_shipping_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            message_id=message_id,
        )
