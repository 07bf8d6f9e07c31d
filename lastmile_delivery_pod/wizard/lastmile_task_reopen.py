from odoo import fields, models


class LastmileTaskReopen(models.TransientModel):
    _name = "lastmile.task.reopen"
    _description = "Reopen a Completed Delivery"

    task_id = fields.Many2one("lastmile.delivery.task", required=True, readonly=True)
    reason = fields.Char(required=True, help="Kept in the delivery's chatter.")

    def action_reopen(self):
        self.ensure_one()
        self.task_id._lastmile_reopen(self.reason)
        return {"type": "ir.actions.act_window_close"}
