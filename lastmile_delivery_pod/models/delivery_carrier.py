from odoo import fields, models

from .lastmile_delivery_task import PROOF_REQUIREMENTS


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    lastmile_proof_required = fields.Selection(
        PROOF_REQUIREMENTS,
        string="Proof of Delivery",
        default="either",
        help="What the driver captures at the door to deliver; a customer's own rule comes first.",
    )
