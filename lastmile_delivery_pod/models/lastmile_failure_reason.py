from odoo import fields, models


class LastmileFailureReason(models.Model):
    """Why a driver could not deliver, and what happens next."""

    _name = "lastmile.failure.reason"
    _description = "Failed Delivery Reason"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", help="Leave empty to offer the reason in every company.")
    photo_required = fields.Boolean(
        string="Photo Required", help="The driver must take a photo (the closed door, the damage…)."
    )
    outcome = fields.Selection(
        [
            ("retry", "New attempt on the next delivery day"),
            ("return", "Return to the warehouse"),
        ],
        required=True,
        default="retry",
        help="New attempt: the delivery goes out again on the next delivery day, its attempts "
        "counted. Return: the delivery order is cancelled and the goods stay in stock.",
    )
