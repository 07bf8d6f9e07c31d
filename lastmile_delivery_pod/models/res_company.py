from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .lastmile_delivery_task import PROOF_REQUIREMENTS


class ResCompany(models.Model):
    _inherit = "res.company"

    lastmile_pod_position_interval = fields.Integer(
        string="Position Every (s)",
        default=30,
        help="While a route is in progress the driver's phone sends its position this often.",
    )
    lastmile_pod_warn_out_of_order = fields.Boolean(
        string="Warn Out of Order",
        default=True,
        help="Ask the driver to confirm before doing a stop ahead of its turn.",
    )
    lastmile_pod_max_image_mb = fields.Float(
        string="Largest Picture (MB)", default=10.0, help="Photos and signatures above this size are refused."
    )

    lastmile_pod_default_proof = fields.Selection(
        PROOF_REQUIREMENTS,
        string="Proof Without Delivery Method",
        default="either",
        help="What drivers capture for deliveries entered by hand (no delivery method).",
    )

    @api.constrains("lastmile_pod_position_interval", "lastmile_pod_max_image_mb")
    def _check_lastmile_pod_settings(self):
        for company in self:
            if not 5 <= company.lastmile_pod_position_interval <= 3600:
                raise ValidationError(self.env._("The phone sends its position every 5 s to 1 hour."))
            if not 0.1 <= company.lastmile_pod_max_image_mb <= 50:
                raise ValidationError(self.env._("The largest picture is between 0.1 and 50 MB."))
