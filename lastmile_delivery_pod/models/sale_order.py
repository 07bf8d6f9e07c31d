from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    lastmile_proof_count = fields.Integer(compute="_compute_lastmile_proof_count")

    def _compute_lastmile_proof_count(self):
        for order in self:
            order.lastmile_proof_count = len(order.sudo().lastmile_task_ids.proof_ids.filtered("active"))

    def action_lastmile_print_proof(self):
        return self.env.ref("lastmile_delivery_pod.action_report_proof_order").report_action(self)

    def _lastmile_report_proofs(self):
        """The proofs in force of these documents' deliveries, for the proof of delivery report
        (whoever may read the document may read its proof: the report's route checks nothing)."""
        self.check_access("read")
        return self.sudo().lastmile_task_ids.proof_ids.filtered("active").sorted("captured_at")
