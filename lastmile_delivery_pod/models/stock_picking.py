from odoo import models


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "lastmile.proof.document.mixin"]
    _lastmile_proof_report = "lastmile_delivery_pod.action_report_proof_picking"
