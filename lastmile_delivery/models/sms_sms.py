import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

# failures that may pass on their own or once the shop fixes its account: tried again
RETRY_FAILURES = ("sms_server", "unknown", "sms_credit", "sms_acc")
MAX_RETRIES = 5
FIRST_RETRY = timedelta(minutes=5)


class SmsSms(models.Model):
    _inherit = "sms.sms"

    lastmile_retries = fields.Integer(string="Retries", readonly=True, copy=False)
    lastmile_retry_at = fields.Datetime(string="Next Retry", readonly=True, copy=False)

    def _lastmile_past_moments(self):
        """The SMS written before their delivery closed (delivered, failed or cancelled since):
        what they say is over."""
        messages = self.mail_message_id
        tasks = self.env["lastmile.delivery.task"].sudo().browse(messages.mapped("res_id"))
        closed = {task.id: task.date_closed for task in tasks.exists() if task.date_closed}
        return self.filtered(
            lambda s: (
                s.mail_message_id.res_id in closed
                and s.mail_message_id.date < closed[s.mail_message_id.res_id]
            )
        )

    @api.model
    def _cron_lastmile_retry(self):
        """SMS to delivery customers that failed for a reason that may pass (the provider down
        or timing out, a credentials or credit problem) go back to the queue: 5 minutes after
        the job first sees the failure, then 15, 45… five times, after which they stay in error
        for a person to look at (the deliveries' “Message Not Delivered” filter)."""
        now = fields.Datetime.now()
        failed = self.sudo().search(
            [
                ("state", "=", "error"),
                ("to_delete", "=", False),
                ("failure_type", "in", RETRY_FAILURES),
                ("lastmile_retries", "<", MAX_RETRIES),
                ("mail_message_id.model", "=", "lastmile.delivery.task"),
            ],
            limit=500,
        )
        past = failed._lastmile_past_moments()
        if past:  # “out for delivery” or “driver nearby” of a delivery that is over: too late
            past.action_set_canceled()
            failed -= past
        for sms in failed.filtered(lambda s: not s.lastmile_retry_at):
            sms.lastmile_retry_at = now + FIRST_RETRY * 3**sms.lastmile_retries
        due = failed.filtered(lambda s: s.lastmile_retry_at <= now)
        for sms in due:
            sms.write({"lastmile_retries": sms.lastmile_retries + 1, "lastmile_retry_at": False})
        if due:
            _logger.info("Last Mile: %s delivery SMS back in the queue", len(due))
            due.action_set_outgoing()  # the notifications in the chatter follow
            self.env.ref("sms.ir_cron_sms_scheduler_action")._trigger()
