from odoo import fields, models
from odoo.addons.lastmile_delivery.models.lastmile_route import SAVING_NOTES
from odoo.tools import SQL

from .lastmile_delivery_report import ON_TIME, REPORTED_BY_DRIVER

# measures that are a ratio of sums, exact under any grouping: {aggregate: (numerator, denominator, factor)}
RATIOS = {
    "deliveries_per_hour:avg": ("delivered_on_road", "hours_on_road", 1),
    "saving_pct:avg": ("saving_min", "baseline_duration_min", 100),
}


class LastmileRouteReport(models.Model):
    """One row per route (a driver's shift on one day): its deliveries, planned and driven
    distance and time, and what optimization saved against the order of entry that planning
    recorded. Read-only, from SQL."""

    _name = "lastmile.route.report"
    _description = "Route Analysis"
    _auto = False
    _rec_name = "route_id"
    _order = "date desc, id desc"

    route_id = fields.Many2one("lastmile.route", string="Route", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date = fields.Date(string="Day", readonly=True)
    driver_id = fields.Many2one("lastmile.driver", readonly=True)
    vehicle = fields.Char(readonly=True)
    state = fields.Selection(
        [("planned", "Planned"), ("in_progress", "In Progress"), ("done", "Done")], readonly=True
    )
    date_started = fields.Datetime(string="Started", readonly=True)
    saving_note = fields.Selection(SAVING_NOTES, string="Optimization", readonly=True)

    # measures
    shift_count = fields.Integer(string="Shifts", readonly=True, help="Routes started.")
    planned_count = fields.Integer(string="Deliveries Planned", readonly=True)
    delivered_count = fields.Integer(string="Delivered", readonly=True)
    failed_count = fields.Integer(string="Failed", readonly=True)
    on_time_count = fields.Integer(string="Delivered On Time", readonly=True)
    deliveries_per_shift = fields.Float(
        string="Deliveries per Shift", digits=(16, 1), aggregator="avg", readonly=True
    )
    delivered_on_road = fields.Integer(
        string="Delivered on the Road", readonly=True, help="Deliveries of started routes."
    )
    hours_on_road = fields.Float(
        string="Hours on the Road",
        digits=(16, 2),
        readonly=True,
        help="From the start of the route to its last stop.",
    )
    deliveries_per_hour = fields.Float(
        string="Deliveries per Hour", digits=(16, 2), aggregator="avg", readonly=True
    )
    planned_distance_km = fields.Float(string="Planned (km)", digits=(16, 1), readonly=True)
    planned_duration_min = fields.Float(string="Planned (min)", digits=(16, 0), readonly=True)
    planned_to_last_km = fields.Float(
        string="Planned to Last Stop (km)",
        digits=(16, 1),
        readonly=True,
        help="The plan without its way back: what the driven figures compare with.",
    )
    planned_to_last_min = fields.Float(string="Planned to Last Stop (min)", digits=(16, 0), readonly=True)
    driven_distance_km = fields.Float(
        string="Driven (km)",
        digits=(16, 1),
        readonly=True,
        help="From the start of the route to its last stop.",
    )
    driven_duration_min = fields.Float(
        string="Driven (min)",
        digits=(16, 0),
        readonly=True,
        help="From the start of the route to its last stop.",
    )
    baseline_distance_km = fields.Float(string="Order of Entry (km)", digits=(16, 1), readonly=True)
    baseline_duration_min = fields.Float(string="Order of Entry (min)", digits=(16, 0), readonly=True)
    baseline_late_count = fields.Integer(string="Late Stops in Order of Entry", readonly=True)
    saving_km = fields.Float(string="Saved (km)", digits=(16, 1), readonly=True)
    saving_min = fields.Float(string="Saved (min)", digits=(16, 0), readonly=True)
    saving_pct = fields.Float(string="Saved (% of time)", digits=(16, 1), aggregator="avg", readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT r.id AS id,
                   r.id AS route_id,
                   r.company_id,
                   r.date,
                   r.driver_id,
                   COALESCE(r.vehicle_name, d.vehicle_name) AS vehicle,
                   r.state,
                   r.date_started,
                   r.saving_note,
                   (r.date_started IS NOT NULL)::int AS shift_count,
                   k.planned AS planned_count,
                   k.delivered AS delivered_count,
                   k.failed AS failed_count,
                   k.on_time AS on_time_count,
                   CASE WHEN r.date_started IS NOT NULL THEN k.delivered END AS deliveries_per_shift,
                   CASE WHEN r.date_started IS NOT NULL THEN k.delivered ELSE 0 END AS delivered_on_road,
                   %(hours)s AS hours_on_road,
                   k.delivered / NULLIF(%(hours)s, 0) AS deliveries_per_hour,
                   r.planned_distance_km,
                   r.planned_duration_min,
                   CASE WHEN r.date_started IS NOT NULL
                        THEN r.planned_distance_km - COALESCE(r.planned_return_km, 0)
                   END AS planned_to_last_km,
                   CASE WHEN r.date_started IS NOT NULL
                        THEN r.planned_duration_min - COALESCE(r.planned_return_min, 0)
                   END AS planned_to_last_min,
                   CASE WHEN r.date_started IS NOT NULL THEN r.driven_distance_km END AS driven_distance_km,
                   %(hours)s * 60 AS driven_duration_min,
                   r.baseline_distance_km,
                   r.baseline_duration_min,
                   r.baseline_late_count,
                   r.saving_km,
                   r.saving_min,
                   r.saving_min * 100 / NULLIF(r.baseline_duration_min, 0) AS saving_pct
              FROM lastmile_route r
              LEFT JOIN lastmile_driver d ON d.id = r.driver_id
              CROSS JOIN LATERAL (
                    SELECT COUNT(*) AS planned,
                           COUNT(*) FILTER (WHERE t.state = 'delivered') AS delivered,
                           COUNT(*) FILTER (WHERE t.state = 'failed') AS failed,
                           COUNT(*) FILTER (WHERE %(on_time)s) AS on_time,
                           -- the last stop the driver reported (a closing from the back office,
                           -- maybe the next morning, does not stretch the shift)
                           MAX(t.date_closed) FILTER (
                               WHERE t.state IN ('delivered', 'failed') AND %(reported)s
                           ) AS last_closed
                      FROM lastmile_delivery_task t
                     WHERE t.route_id = r.id AND t.state != 'cancelled'
              ) k
             WHERE r.state != 'draft'
            """,
            on_time=ON_TIME,
            reported=REPORTED_BY_DRIVER,
            hours=SQL(
                "CASE WHEN k.last_closed > r.date_started "
                "THEN EXTRACT(EPOCH FROM k.last_closed - r.date_started) / 3600 END"
            ),
        )

    def _read_group_select(self, aggregate_spec, query):
        """Rates of sums, not averages of each route's rate: 30 deliveries in 6 hours and 2 in
        2 hours make 4 an hour, not 2.5."""
        if aggregate_spec not in RATIOS:
            return super()._read_group_select(aggregate_spec, query)
        numerator, denominator, factor = RATIOS[aggregate_spec]
        return SQL(
            "SUM(CASE WHEN %(den)s > 0 THEN %(num)s END) * %(factor)s / NULLIF(SUM(%(den)s), 0)",
            num=self._field_to_sql(self._table, numerator, query),
            den=self._field_to_sql(self._table, denominator, query),
            factor=factor,
        )
