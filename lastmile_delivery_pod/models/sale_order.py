from odoo import models


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "lastmile.proof.document.mixin"]
    _lastmile_proof_report = "lastmile_delivery_pod.action_report_proof_order"
