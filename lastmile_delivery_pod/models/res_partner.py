from odoo import fields, models

from .lastmile_delivery_task import PROOF_REQUIREMENTS


class ResPartner(models.Model):
    _inherit = "res.partner"

    lastmile_proof_required = fields.Selection(
        PROOF_REQUIREMENTS,
        string="Proof of Delivery",
        help="What our drivers capture when delivering here. Empty: the delivery method's rule.",
    )
