from odoo import api, fields, models
from odoo.tools import format_datetime


class LastmileDeliveryProof(models.Model):
    """What a driver captured at a stop: photos, signature, recipient, where and when. One proof
    covers every delivery of the stop. Created complete from the phone (see
    ``lastmile.delivery.task._lastmile_submit_proof``) and never edited afterwards: a manager
    who reopens the delivery archives it, with the reason in the delivery's chatter."""

    _name = "lastmile.delivery.proof"
    _description = "Proof of Delivery"
    _order = "captured_at desc, id desc"
    _check_company_auto = True
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    kind = fields.Selection(
        [("delivered", "Delivered"), ("failed", "Failed")], required=True, readonly=True, index=True
    )
    active = fields.Boolean(default=True, readonly=True, help="Archived when a manager reopens the delivery.")
    task_ids = fields.Many2many(
        "lastmile.delivery.task",
        "lastmile_delivery_proof_task_rel",
        "proof_id",
        "task_id",
        string="Deliveries",
        required=True,
        readonly=True,
        check_company=True,
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    driver_id = fields.Many2one(
        "lastmile.driver", required=True, readonly=True, index=True, check_company=True
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Delivery Address",
        readonly=True,
        index="btree_not_null",
        help="Where the stop is.",
    )
    route_id = fields.Many2one("lastmile.route", readonly=True, index="btree_not_null", check_company=True)
    key = fields.Char(
        string="Capture Key",
        required=True,
        readonly=True,
        copy=False,
        help="Made by the phone for each capture: a capture sent twice is stored once.",
    )
    captured_at = fields.Datetime(string="Captured", required=True, readonly=True, help="On the phone.")
    received_at = fields.Datetime(
        string="Received", required=True, readonly=True, default=fields.Datetime.now
    )
    latitude = fields.Float(digits=(10, 7), readonly=True)
    longitude = fields.Float(digits=(10, 7), readonly=True)
    accuracy = fields.Float(string="Accuracy (m)", digits=(10, 1), readonly=True)
    has_position = fields.Boolean(readonly=True, help="The phone gave its position.")
    recipient_name = fields.Char(string="Received By", readonly=True)
    note = fields.Text(readonly=True)
    signature = fields.Image(max_width=1920, max_height=1920, readonly=True, attachment=True)
    photo_ids = fields.Many2many(
        "ir.attachment",
        "lastmile_delivery_proof_photo_rel",
        "proof_id",
        "attachment_id",
        string="Photos",
        readonly=True,
    )
    photo_count = fields.Integer(compute="_compute_photo_count")
    failure_reason_id = fields.Many2one(
        "lastmile.failure.reason", string="Reason", readonly=True, ondelete="restrict"
    )
    delivered_quantities = fields.Json(
        readonly=True,
        help="What the driver handed over where it differs from the order: {move id: quantity}.",
    )
    reopen_reason = fields.Char(readonly=True)

    _key_uniq = models.Constraint("UNIQUE(driver_id, key)", "This capture was already received.")

    @api.depends("kind", "task_ids")
    def _compute_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for proof in self:
            proof.name = f"{labels.get(proof.kind, '')} – {', '.join(proof.task_ids.mapped('name'))}"

    @api.depends("photo_ids")
    def _compute_photo_count(self):
        for proof in self:
            proof.photo_count = len(proof._unique_photos())

    def _unique_photos(self):
        """The photos taken: each is stored on every delivery of the stop, these are the first
        delivery's copies."""
        self.ensure_one()
        first = self.task_ids.sorted("id")[:1]
        return self.photo_ids.filtered(lambda a: a.res_id == first.id) or self.photo_ids

    def _format_moment(self):
        self.ensure_one()
        tz = self.env.context.get("tz") or self.company_id._lastmile_tz().zone
        return format_datetime(self.env, self.captured_at, tz=tz, dt_format="medium")

    def _lastmile_report_proofs(self):
        self.check_access("read")
        return self.sorted("captured_at")

    def _handed_quantities(self):
        """What the driver handed over where it differs from the order: {move id: quantity}."""
        self.ensure_one()
        return {int(move_id): qty for move_id, qty in (self.delivered_quantities or {}).items()}

    def _report_lines(self):
        """(delivery, product, quantity delivered, quantity ordered, unit) of the stop: what the
        driver reported handing over (everything ordered unless told otherwise), whether the
        warehouse has validated it yet or not."""
        self.ensure_one()
        handed = self._handed_quantities()
        lines = []
        for task in self.sudo().task_ids:
            for move in task._lastmile_delivery_moves():
                if self.kind != "delivered":
                    delivered = 0.0
                elif move.state == "done":
                    delivered = move.quantity
                else:
                    delivered = handed.get(move.id, move.product_uom_qty)
                lines.append((task, move.product_id, delivered, move.product_uom_qty, move.product_uom))
        return lines
