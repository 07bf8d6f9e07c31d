from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    lastmile_pod_position_interval = fields.Integer(
        related="company_id.lastmile_pod_position_interval", readonly=False
    )
    lastmile_pod_warn_out_of_order = fields.Boolean(
        related="company_id.lastmile_pod_warn_out_of_order", readonly=False
    )
    lastmile_pod_max_image_mb = fields.Float(related="company_id.lastmile_pod_max_image_mb", readonly=False)
    lastmile_pod_default_proof = fields.Selection(
        related="company_id.lastmile_pod_default_proof", readonly=False
    )
