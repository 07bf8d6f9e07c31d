"""Small helpers shared by the models of Last Mile Delivery (no ORM access of their own)."""

from datetime import datetime, time, timedelta

import pytz


def local_time(day, hours, tz):
    """``day`` at ``hours`` (e.g. 9.5 for 09:30, 24 for the next midnight) in the time zone
    ``tz`` (a pytz zone), as naive UTC."""
    moment = datetime.combine(day, time.min) + timedelta(hours=hours)
    return tz.localize(moment).astimezone(pytz.utc).replace(tzinfo=None)


def notification_action(message, kind="info", sticky=False, next_action=None):
    """The client action that shows ``message`` as a notification (``kind``: info, success,
    warning or danger), then runs ``next_action`` (by default it closes the dialog)."""
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "message": message,
            "type": kind,
            "sticky": sticky,
            "next": next_action or {"type": "ir.actions.act_window_close"},
        },
    }


# what a caller may choose of the context of the workflow's actions
TRUSTED_CONTEXT_KEYS = ("lang", "tz", "allowed_company_ids")


def trusted(records):
    """``records`` with only the context keys a user may choose (language, time zone, active
    companies): whatever else an RPC caller sends in the context (``default_*`` values,
    ``skip_*`` or ``tracking_disable`` flags) does not reach what the action does."""
    context = {key: value for key, value in records.env.context.items() if key in TRUSTED_CONTEXT_KEYS}
    return records.with_env(records.env(context=context))
