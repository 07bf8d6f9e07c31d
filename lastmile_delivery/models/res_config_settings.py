from odoo import fields, models

from ..services.geocoding import DEFAULT_NOMINATIM_URL
from .res_company import DEFAULT_TILE_ATTRIBUTION, DEFAULT_TILE_URL


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    lastmile_auto_dispatch = fields.Boolean(related="company_id.lastmile_auto_dispatch", readonly=False)
    lastmile_delivery_hour_from = fields.Float(
        related="company_id.lastmile_delivery_hour_from", readonly=False
    )
    lastmile_delivery_hour_to = fields.Float(related="company_id.lastmile_delivery_hour_to", readonly=False)
    lastmile_window_minutes = fields.Integer(related="company_id.lastmile_window_minutes", readonly=False)
    lastmile_service_minutes = fields.Float(related="company_id.lastmile_service_minutes", readonly=False)
    lastmile_weight_distance = fields.Float(related="company_id.lastmile_weight_distance", readonly=False)
    lastmile_weight_stops = fields.Float(related="company_id.lastmile_weight_stops", readonly=False)
    lastmile_weight_hours = fields.Float(related="company_id.lastmile_weight_hours", readonly=False)
    lastmile_weight_preference = fields.Float(related="company_id.lastmile_weight_preference", readonly=False)
    lastmile_road_factor = fields.Float(related="company_id.lastmile_road_factor", readonly=False)
    lastmile_speed_kmh = fields.Float(related="company_id.lastmile_speed_kmh", readonly=False)
    lastmile_plan_time_limit = fields.Integer(related="company_id.lastmile_plan_time_limit", readonly=False)
    lastmile_prefer_minutes = fields.Integer(related="company_id.lastmile_prefer_minutes", readonly=False)
    lastmile_notify_dispatched = fields.Selection(
        related="company_id.lastmile_notify_dispatched", readonly=False
    )
    lastmile_notify_nearby = fields.Selection(related="company_id.lastmile_notify_nearby", readonly=False)
    lastmile_notify_delivered = fields.Selection(
        related="company_id.lastmile_notify_delivered", readonly=False
    )
    lastmile_notify_failed = fields.Selection(related="company_id.lastmile_notify_failed", readonly=False)
    lastmile_notify_rescheduled = fields.Selection(
        related="company_id.lastmile_notify_rescheduled", readonly=False
    )
    lastmile_nearby_minutes = fields.Integer(related="company_id.lastmile_nearby_minutes", readonly=False)
    lastmile_tracking_days = fields.Integer(related="company_id.lastmile_tracking_days", readonly=False)
    lastmile_rating_alert = fields.Integer(related="company_id.lastmile_rating_alert", readonly=False)
    lastmile_manager_id = fields.Many2one(related="company_id.lastmile_manager_id", readonly=False)
    lastmile_twilio_webhook_url = fields.Char(
        string="Twilio Webhook", compute="_compute_lastmile_twilio_webhook_url"
    )
    lastmile_matrix_provider = fields.Selection(
        [
            ("straight_line", "Straight line (road factor and average speed)"),
            ("osrm", "OSRM server (road network)"),
        ],
        string="Travel Times",
        default="straight_line",
        config_parameter="lastmile.matrix_provider",
    )
    lastmile_osrm_url = fields.Char(string="OSRM URL", config_parameter="lastmile.osrm_url")
    lastmile_osrm_timeout = fields.Integer(
        string="OSRM Timeout (s)",
        default=10,
        config_parameter="lastmile.osrm_timeout",
        help="How long to wait for the server, 1 to 15 s; planning falls back to straight lines after it.",
    )

    lastmile_geocoder = fields.Selection(
        [("nominatim", "OpenStreetMap Nominatim"), ("google", "Google Maps")],
        string="Geocoder",
        default="nominatim",
        config_parameter="lastmile.geocoder",
    )
    lastmile_nominatim_url = fields.Char(
        string="Nominatim URL", default=DEFAULT_NOMINATIM_URL, config_parameter="lastmile.nominatim_url"
    )
    lastmile_nominatim_user_agent = fields.Char(
        string="User Agent",
        config_parameter="lastmile.nominatim_user_agent",
        help="Nominatim's usage policy asks for an application name and a contact, e.g. “myshop-delivery "
        "(ops@myshop.example)”.",
    )
    lastmile_google_api_key = fields.Char(string="Google API Key", config_parameter="lastmile.google_api_key")
    lastmile_geocoder_timeout = fields.Integer(
        string="Geocoder Timeout (s)",
        default=5,
        config_parameter="lastmile.geocoder_timeout",
        help="How long to wait for the service, 1 to 15 s; the address is tried again later after it.",
    )
    lastmile_map_tile_url = fields.Char(
        string="Map Tiles URL",
        default=DEFAULT_TILE_URL,
        config_parameter="lastmile.map_tile_url",
    )
    lastmile_map_tile_attribution = fields.Char(
        string="Map Attribution",
        default=DEFAULT_TILE_ATTRIBUTION,
        config_parameter="lastmile.map_tile_attribution",
    )

    def _compute_lastmile_twilio_webhook_url(self):
        for settings in self:
            settings.lastmile_twilio_webhook_url = (
                settings.company_id.get_base_url() + "/lastmile/twilio/incoming"
            )

    def _lastmile_templates_action(self, model, name):
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "list,form",
            "domain": [("model", "=", "lastmile.delivery.task")],
            "context": {"default_model": "lastmile.delivery.task"},
        }

    def action_lastmile_sms_templates(self):
        return self._lastmile_templates_action("sms.template", self.env._("Delivery SMS Templates"))

    def action_lastmile_mail_templates(self):
        return self._lastmile_templates_action("mail.template", self.env._("Delivery Email Templates"))
