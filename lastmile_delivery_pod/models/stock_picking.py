from odoo import fields, models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    lastmile_proof_count = fields.Integer(compute="_compute_lastmile_proof_count")

    def _compute_lastmile_proof_count(self):
        for picking in self:
            picking.lastmile_proof_count = len(picking._lastmile_report_proofs())

    def action_lastmile_print_proof(self):
        return self.env.ref("lastmile_delivery_pod.action_report_proof_picking").report_action(self)

    def _lastmile_report_proofs(self):
        """The proofs in force of these documents' deliveries, for the proof of delivery report
        (whoever may read the document may read its proof: the report's route checks nothing)."""
        self.check_access("read")
        return self.sudo().lastmile_task_ids.proof_ids.filtered("active").sorted("captured_at")
