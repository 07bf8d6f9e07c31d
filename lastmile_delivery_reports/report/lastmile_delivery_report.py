from odoo import fields, models
from odoo.tools import SQL

RATING_STARS = [("1", "1 star"), ("2", "2 stars"), ("3", "3 stars"), ("4", "4 stars"), ("5", "5 stars")]
# an arrival within this many minutes of its planned ETA counts as accurate
ETA_TOLERANCE_MIN = 10
# a delivery ``t`` made within its promised window (both reports count it the same way)
ON_TIME = SQL("(t.state = 'delivered' AND t.date_delivered BETWEEN t.window_start AND t.window_end)")
# a delivery ``t`` the driver reported from the phone (a back-office closing may come much later)
REPORTED_BY_DRIVER = SQL("t.driven_sequence > 0")


class LastmileDeliveryReport(models.Model):
    """One row per delivery attempt that ended, delivered or failed, with what happened: the
    promised window against the time of delivery (the phone's, from its proof), the planned
    ETA against the arrival, the order's confirmation, the start of the route, the reason of a
    failure and the customer's rating. The rates are averages of 100/0 per row (empty where a
    rate does not apply), so they stay exact under any grouping. Read-only, from SQL."""

    _name = "lastmile.delivery.report"
    _description = "Delivery Analysis"
    _auto = False
    _rec_name = "task_id"
    _order = "date desc, id desc"

    task_id = fields.Many2one("lastmile.delivery.task", string="Delivery", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    state = fields.Selection([("delivered", "Delivered"), ("failed", "Failed")], readonly=True)
    date = fields.Date(
        string="Day", readonly=True, help="The day of the promised window, in the shop's time zone."
    )
    date_closed = fields.Datetime(string="Delivered or Failed At", readonly=True)
    driver_id = fields.Many2one("lastmile.driver", readonly=True)
    vehicle = fields.Char(readonly=True)
    route_id = fields.Many2one("lastmile.route", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    zone = fields.Char(string="Zone (Postcode)", readonly=True)
    city = fields.Char(readonly=True)
    sale_order_id = fields.Many2one("sale.order", string="Sales Order", readonly=True)
    warehouse_id = fields.Many2one("stock.warehouse", readonly=True)
    carrier_id = fields.Many2one("delivery.carrier", string="Delivery Method", readonly=True)
    failure_reason_id = fields.Many2one("lastmile.failure.reason", string="Failure Reason", readonly=True)
    attempt = fields.Integer(readonly=True, aggregator=None)
    first_attempt = fields.Boolean(readonly=True)
    timing = fields.Selection(
        [("early", "Early"), ("on_time", "On Time"), ("late", "Late")],
        readonly=True,
        help="Delivered before, within or after the promised window.",
    )
    on_time = fields.Boolean(string="On Time", readonly=True)
    rating_stars = fields.Selection(RATING_STARS, string="Rating", readonly=True)

    # measures
    closed_count = fields.Integer(string="Attempts", readonly=True)
    delivered_count = fields.Integer(string="Delivered", readonly=True)
    failed_count = fields.Integer(string="Failed", readonly=True)
    on_time_count = fields.Integer(string="Delivered On Time", readonly=True)
    on_time_rate = fields.Float(string="On-Time Rate (%)", digits=(16, 1), aggregator="avg", readonly=True)
    late_minutes = fields.Float(
        string="Minutes Late (late ones)", digits=(16, 0), aggregator="avg", readonly=True
    )
    order_to_delivery_min = fields.Float(
        string="Order to Delivery (min)", digits=(16, 0), aggregator="avg", readonly=True
    )
    out_to_delivery_min = fields.Float(
        string="Out for Delivery to Delivered (min)", digits=(16, 0), aggregator="avg", readonly=True
    )
    first_attempt_rate = fields.Float(
        string="First-Attempt Success (%)", digits=(16, 1), aggregator="avg", readonly=True
    )
    attempts_per_delivery = fields.Float(
        string="Attempts per Delivered Order", digits=(16, 2), aggregator="avg", readonly=True
    )
    eta_error_min = fields.Float(string="ETA Error (min)", digits=(16, 1), aggregator="avg", readonly=True)
    eta_accurate_rate = fields.Float(
        string="ETA within ±10 min (%)", digits=(16, 1), aggregator="avg", readonly=True
    )
    rating = fields.Float(string="Average Rating", digits=(16, 2), aggregator="avg", readonly=True)
    rated_count = fields.Integer(string="Ratings", readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT t.id AS id,
                   t.id AS task_id,
                   t.company_id,
                   t.state,
                   t.scheduled_date AS date,
                   t.date_closed,
                   t.driver_id,
                   COALESCE(r.vehicle_name, d.vehicle_name) AS vehicle,
                   t.route_id,
                   t.partner_id,
                   a.zip AS zone,
                   a.city,
                   t.sale_order_id,
                   pt.warehouse_id,
                   COALESCE(p.carrier_id, so.carrier_id) AS carrier_id,
                   t.failure_reason_id,
                   t.attempt,
                   t.attempt = 1 AS first_attempt,
                   CASE WHEN t.state = 'delivered' THEN
                        CASE WHEN t.date_delivered < t.window_start THEN 'early'
                             WHEN t.date_delivered > t.window_end THEN 'late'
                             ELSE 'on_time' END
                   END AS timing,
                   CASE WHEN t.state = 'delivered' THEN %(on_time)s END AS on_time,
                   CASE WHEN t.rating_last_value > 0
                        THEN LEAST(5, GREATEST(1, ROUND(t.rating_last_value)))::int::text END AS rating_stars,
                   1 AS closed_count,
                   (t.state = 'delivered')::int AS delivered_count,
                   (t.state = 'failed')::int AS failed_count,
                   %(on_time)s::int AS on_time_count,
                   CASE WHEN t.state = 'delivered' THEN %(on_time)s::int * 100.0 END AS on_time_rate,
                   CASE WHEN t.state = 'delivered' AND t.date_delivered > t.window_end
                        THEN EXTRACT(EPOCH FROM t.date_delivered - t.window_end) / 60 END AS late_minutes,
                   CASE WHEN t.state = 'delivered'
                        THEN EXTRACT(EPOCH FROM t.date_delivered
                                                - COALESCE(so.date_order, t.create_date)) / 60
                   END AS order_to_delivery_min,
                   CASE WHEN t.state = 'delivered' AND r.date_started IS NOT NULL
                        THEN EXTRACT(EPOCH FROM t.date_delivered - r.date_started) / 60
                   END AS out_to_delivery_min,
                   CASE WHEN t.attempt = 1 THEN (t.state = 'delivered')::int * 100.0
                   END AS first_attempt_rate,
                   CASE WHEN t.state = 'delivered' THEN t.attempt END AS attempts_per_delivery,
                   ABS(EXTRACT(EPOCH FROM %(arrival)s - t.eta_planned)) / 60 AS eta_error_min,
                   CASE WHEN t.eta_planned IS NOT NULL AND %(arrival)s IS NOT NULL
                        THEN (ABS(EXTRACT(EPOCH FROM %(arrival)s - t.eta_planned)) <= %(tolerance)s)::int
                             * 100.0
                   END AS eta_accurate_rate,
                   NULLIF(t.rating_last_value, 0) AS rating,
                   (t.rating_last_value > 0)::int AS rated_count
              FROM lastmile_delivery_task t
              LEFT JOIN lastmile_driver d ON d.id = t.driver_id
              LEFT JOIN lastmile_route r ON r.id = t.route_id
              LEFT JOIN res_partner a ON a.id = t.partner_shipping_id
              LEFT JOIN sale_order so ON so.id = t.sale_order_id
              LEFT JOIN stock_picking p ON p.id = t.picking_id
              LEFT JOIN stock_picking_type pt ON pt.id = p.picking_type_id
             WHERE t.state IN ('delivered', 'failed')
            """,
            on_time=ON_TIME,
            tolerance=ETA_TOLERANCE_MIN * 60,
            # at the door: the driver's Arrived, else the stop reported from the phone (not a
            # closing from the back office, which may come hours later)
            arrival=SQL("COALESCE(t.date_arrived, CASE WHEN %s THEN t.date_closed END)", REPORTED_BY_DRIVER),
        )
