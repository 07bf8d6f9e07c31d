from odoo import fields, models


class LastmileProofDocumentMixin(models.AbstractModel):
    """A document whose deliveries carry proofs (sales order, delivery order): how many, the
    Proof of Delivery PDF, and the proofs it prints. The inheriting model has
    ``lastmile_task_ids`` and names its report in ``_lastmile_proof_report``."""

    _name = "lastmile.proof.document.mixin"
    _description = "Document with Proofs of Delivery"
    _lastmile_proof_report = None  # xml id of the document's ir.actions.report

    lastmile_proof_count = fields.Integer(compute="_compute_lastmile_proof_count")

    def _lastmile_proofs_in_force(self):
        return self.sudo().lastmile_task_ids.proof_ids.filtered("active")

    def _compute_lastmile_proof_count(self):
        for document in self:
            document.lastmile_proof_count = len(document._lastmile_proofs_in_force())

    def action_lastmile_print_proof(self):
        return self.env.ref(self._lastmile_proof_report).report_action(self)

    def _lastmile_report_proofs(self):
        """The proofs in force of these documents' deliveries, for the proof of delivery report
        (whoever may read the document may read its proof: the report's route checks nothing)."""
        self.check_access("read")
        return self._lastmile_proofs_in_force().sorted("captured_at")
