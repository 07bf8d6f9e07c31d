import zlib

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date, format_datetime

from ..services import dispatch as dispatch_service
from ..services import matrix as matrix_service
from ..tools import local_time

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
# how the customer is told of each moment of a delivery (see lastmile.delivery.task notifications)
NOTIFY_CHANNELS = [
    ("both", "SMS and email"),
    ("sms", "SMS only"),
    ("email", "Email only"),
    ("none", "Not sent"),
]


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
    lastmile_prefer_minutes = fields.Integer(
        string="Preference in Planning (min)",
        default=10,
        help="Route planning gives a delivery to a driver its “prefer” rules point to unless another "
        "driver saves more than these minutes of work.",
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
        help="How long route planning searches for a better plan (1 to 90 s).",
    )

    lastmile_notify_dispatched = fields.Selection(
        NOTIFY_CHANNELS,
        string="Out for Delivery",
        default="both",
        required=True,
        help="When the driver starts the route: the time to expect the driver and the tracking link.",
    )
    lastmile_notify_nearby = fields.Selection(
        NOTIFY_CHANNELS,
        string="Driver Nearby",
        default="sms",
        required=True,
        help="When the stop before is done, or the driver's live position puts the arrival within "
        "the minutes set below.",
    )
    lastmile_notify_delivered = fields.Selection(
        NOTIFY_CHANNELS,
        string="Delivered",
        default="both",
        required=True,
        help="When the driver reports the delivery: the link to the proof of delivery.",
    )
    lastmile_notify_failed = fields.Selection(
        NOTIFY_CHANNELS,
        string="Not Delivered",
        default="both",
        required=True,
        help="When the driver could not deliver: the reason and what happens next.",
    )
    lastmile_notify_rescheduled = fields.Selection(
        NOTIFY_CHANNELS,
        string="Rescheduled",
        default="both",
        required=True,
        help="When the delivery moves to another day: the new day and time window.",
    )
    lastmile_nearby_minutes = fields.Integer(
        string="Nearby Within",
        default=10,
        help="The customer is told the driver is near when the arrival expected from the driver's live "
        "position is this many minutes away or less.",
    )
    lastmile_tracking_days = fields.Integer(
        string="Tracking Link Valid",
        default=7,
        help="How many days after the delivery (or its failure) the customer's tracking link still opens.",
    )
    lastmile_rating_alert = fields.Integer(
        string="Low Rating Alert",
        default=2,
        help="A customer rating of this many stars or fewer gives the delivery manager an activity.",
    )
    lastmile_manager_id = fields.Many2one(
        "res.users",
        string="Delivery Manager",
        domain=[("share", "=", False)],
        help="Gets an activity for each low customer rating. Empty: the first Last Mile manager.",
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
        "lastmile_plan_time_limit",
        "lastmile_nearby_minutes",
        "lastmile_tracking_days",
        "lastmile_rating_alert",
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
            if not 1 <= company.lastmile_plan_time_limit <= 90:
                raise ValidationError(
                    self.env._("The planning time limit goes from 1 to 90 seconds of search.")
                )
            if not 1 <= company.lastmile_nearby_minutes <= 120:
                raise ValidationError(
                    self.env._("“Driver nearby” goes from 1 to 120 minutes before arrival.")
                )
            if not 1 <= company.lastmile_tracking_days <= 365:
                raise ValidationError(
                    self.env._("The tracking link stays valid from 1 to 365 days after the delivery.")
                )
            if not 0 <= company.lastmile_rating_alert <= 5:
                raise ValidationError(self.env._("The low rating alert goes from 0 (never) to 5 stars."))

    def _lastmile_delivery_manager(self):
        """Who gets the activities about customers' feedback: the manager set in the settings,
        else the first Last Mile manager of the company."""
        self.ensure_one()
        if self.lastmile_manager_id.active:
            return self.lastmile_manager_id
        group = self.env.ref("lastmile_delivery.group_lastmile_manager")
        return (
            self.env["res.users"]
            .sudo()
            .search(
                [("all_group_ids", "in", group.ids), ("company_ids", "in", self.ids), ("share", "=", False)],
                order="id",
                limit=1,
            )
        )

    def _lastmile_dispatch_weights(self):
        self.ensure_one()
        return dispatch_service.Weights(
            distance=self.lastmile_weight_distance,
            stops=self.lastmile_weight_stops,
            hours=self.lastmile_weight_hours,
            preference=self.lastmile_weight_preference,
        )

    def _lastmile_travel_model(self):
        """Driving time from straight-line distance, for dispatch estimates."""
        self.ensure_one()
        return dispatch_service.TravelModel(
            road_factor=self.lastmile_road_factor, speed_kmh=self.lastmile_speed_kmh
        )

    def _lastmile_travel_matrix(self, points):
        """Travel times and distances between ``points`` from the provider set in the settings;
        the straight line when it fails, with the reason in ``matrix.warning``."""
        self.ensure_one()
        params = self.env["ir.config_parameter"].sudo()
        straight = matrix_service.StraightLineMatrix(self.lastmile_road_factor, self.lastmile_speed_kmh)
        provider, warning = straight, ""
        if (params.get_param("lastmile.matrix_provider") or "straight_line") == "osrm":
            try:
                provider = matrix_service.OsrmMatrix(
                    params.get_param("lastmile.osrm_url") or "",
                    # a short wait: the server is remote, and the plan falls back without it
                    timeout=min(max(float(params.get_param("lastmile.osrm_timeout") or 10), 1), 15),
                    # the server's --max-table-size (OSRM's default: 100)
                    table_limit=self._lastmile_int_param("lastmile.osrm_table_limit", 100, minimum=2),
                    fallback=straight,
                )
            except matrix_service.MatrixError as error:
                warning = str(error)
        matrix = matrix_service.travel_matrix(points, provider, fallback=straight)
        if warning and not matrix.warning:
            matrix = matrix_service.Matrix(matrix.durations, matrix.distances, matrix.provider, warning)
        return matrix

    @api.model
    def _lastmile_int_param(self, key, default, minimum):
        """A whole-number system parameter, its default when it is not one."""
        try:
            return max(int(self.env["ir.config_parameter"].sudo().get_param(key) or default), minimum)
        except ValueError:
            return default

    @api.model
    def _lastmile_map_tiles(self):
        params = self.env["ir.config_parameter"].sudo()
        return {
            "tile_url": params.get_param("lastmile.map_tile_url") or DEFAULT_TILE_URL,
            "tile_attribution": params.get_param("lastmile.map_tile_attribution") or DEFAULT_TILE_ATTRIBUTION,
        }

    def _lastmile_tz(self):
        """Time zone of the shop's delivery hours: its address's, else its working calendar's."""
        self.ensure_one()
        company = self.sudo()  # the shop's time zone is no secret (drivers read few contacts)
        name = company.partner_id.tz or company.resource_calendar_id.tz or "UTC"
        return pytz.timezone(name)

    def _lastmile_format(self, moment, pattern="HH:mm"):
        """``moment`` (naive UTC) in the shop's time zone, in the reader's language: what the
        customer is told (“10:40”, “Sun 22 Nov 10:40” with ``pattern`` “EEE d MMM HH:mm”)."""
        self.ensure_one()
        return (
            format_datetime(self.env, moment, tz=self._lastmile_tz().zone, dt_format=pattern)
            if moment
            else ""
        )

    def _lastmile_localize(self, day, hours=0.0):
        """``day`` at ``hours`` (e.g. 9.5 for 09:30) in the shop's time zone, as naive UTC."""
        return local_time(day, min(max(hours, 0.0), 24.0), self._lastmile_tz())

    def _lastmile_date_of(self, moment):
        """The shop's day of ``moment`` (naive UTC)."""
        return pytz.utc.localize(moment).astimezone(self._lastmile_tz()).date()

    def _lastmile_lock_day(self, day):
        """Take, for this transaction, the lock of the company's deliveries of ``day``: their
        dispatch and route planning run one at a time, while other days and companies (and
        every order confirmation) go on. Returns False, without waiting, when it is taken."""
        self.ensure_one()
        key = zlib.crc32(f"lastmile.day:{self.id}:{day}".encode()) - 2**31
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", 4242, key))
        return self.env.cr.fetchone()[0]

    def _lastmile_check_day_lock(self, day):
        """Take the lock of ``day`` (see :meth:`_lastmile_lock_day`) or tell the user, in words,
        that someone else holds it."""
        if not self._lastmile_lock_day(day):
            raise UserError(
                self.env._(
                    "Someone else is dispatching or planning the deliveries of %(day)s right now. "
                    "Wait a moment and refresh: their result will be there.",
                    day=format_date(self.env, day),
                )
            )
