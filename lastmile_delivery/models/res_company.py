import pytz

from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    lastmile_auto_dispatch = fields.Boolean(
        string="Dispatch on Confirmation",
        default=True,
        help="Assign a driver as soon as an order is confirmed.",
    )
    lastmile_delivery_hour_from = fields.Float(string="Deliveries From", default=9.0)
    lastmile_delivery_hour_to = fields.Float(string="Deliveries Until", default=18.0)
    lastmile_window_minutes = fields.Integer(
        string="Promised Window (min)",
        default=60,
        help="Length of the time window that starts at the delivery date promised on the order.",
    )
    lastmile_service_minutes = fields.Float(string="Service Time (min)", default=5.0)
    lastmile_weight_distance = fields.Float(
        string="Distance Weight", default=1.0, help="Score points per km."
    )
    lastmile_weight_stops = fields.Float(
        string="Stops Weight", default=0.5, help="Score points per delivery already planned that day."
    )
    lastmile_weight_hours = fields.Float(
        string="Hours Weight", default=1.0, help="Score points per hour already planned that day."
    )
    lastmile_weight_preference = fields.Float(
        string="Preference Bonus", default=5.0, help="Score points won by drivers a “prefer” rule points to."
    )
    lastmile_road_factor = fields.Float(
        string="Road Factor",
        default=1.3,
        help="Road distance per straight-line distance (1.3 in most cities).",
    )
    lastmile_speed_kmh = fields.Float(string="Average Speed (km/h)", default=25.0)
    lastmile_plan_time_limit = fields.Integer(
        string="Planning Time Limit (s)",
        default=10,
        help="How long route planning searches for a better plan.",
    )

    @api.constrains(
        "lastmile_delivery_hour_from",
        "lastmile_delivery_hour_to",
        "lastmile_window_minutes",
        "lastmile_service_minutes",
        "lastmile_weight_distance",
        "lastmile_weight_stops",
        "lastmile_weight_hours",
        "lastmile_weight_preference",
        "lastmile_road_factor",
        "lastmile_speed_kmh",
    )
    def _check_lastmile_settings(self):
        for company in self:
            if not 0 <= company.lastmile_delivery_hour_from < company.lastmile_delivery_hour_to <= 24:
                raise ValidationError(
                    self.env._(
                        "Delivery hours: the start must come before the end, both between 00:00 and 24:00."
                    )
                )
            numbers = [
                company.lastmile_window_minutes,
                company.lastmile_service_minutes,
                company.lastmile_weight_distance,
                company.lastmile_weight_stops,
                company.lastmile_weight_hours,
                company.lastmile_weight_preference,
            ]
            if any(value < 0 for value in numbers):
                raise ValidationError(
                    self.env._("Dispatch weights, window and service time cannot be negative.")
                )
            if company.lastmile_road_factor < 1 or company.lastmile_speed_kmh <= 0:
                raise ValidationError(
                    self.env._("The road factor must be at least 1 and the average speed above 0 km/h.")
                )

    def _lastmile_tz(self):
        """Time zone of the shop's delivery hours: its address's, else its working calendar's."""
        self.ensure_one()
        name = self.partner_id.tz or self.resource_calendar_id.tz or "UTC"
        return pytz.timezone(name)
