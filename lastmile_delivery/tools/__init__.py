"""Small helpers shared by the models of Last Mile Delivery (no ORM access of their own)."""


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
