import itertools
from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, format_duration

from ..services import dispatch as engine
from ..services import routing as routing_engine
from ..services.geo import has_coordinates, haversine_km, point
from ..tools import local_time


class LastmileDriver(models.Model):
    """A person who delivers for the shop, with a login, a vehicle and working hours.

    Working hours and time off come from ``resource.mixin`` (a ``resource.resource`` per driver,
    as for employees), so shifts and leaves use Odoo's standard calendars.
    """

    _name = "lastmile.driver"
    _description = "Delivery Driver"
    _inherit = ["resource.mixin", "mail.thread", "avatar.mixin"]
    _order = "name, id"

    name = fields.Char(related="resource_id.name", store=True, readonly=False, required=True, tracking=True)
    user_id = fields.Many2one(
        "res.users",
        string="User",
        related="resource_id.user_id",
        store=True,
        readonly=False,
        tracking=True,
        help="The login the driver uses on the phone. It must belong to the Driver group.",
    )
    company_id = fields.Many2one(required=True)
    active = fields.Boolean(default=True, tracking=True)
    phone = fields.Char()
    color = fields.Integer()
    on_duty = fields.Boolean(
        default=False,
        tracking=True,
        help="Available for deliveries. Working hours and time off say when; turn it off when the "
        "driver does not work at all (sick, holiday not entered, vehicle in repair).",
    )
    tag_ids = fields.Many2many(
        "lastmile.driver.tag", string="Tags", help="Skills and zones, used by dispatch rules."
    )
    vehicle_name = fields.Char(string="Vehicle", help="Model and plate, as the dispatcher calls it.")
    capacity_weight = fields.Float(
        string="Capacity (kg)",
        digits="Stock Weight",
        tracking=True,
        help="Heaviest total load the vehicle carries in a day. 0 means no limit.",
    )
    capacity_volume = fields.Float(string="Capacity (m³)", digits="Volume", help="0 means no limit.")
    cost_per_hour = fields.Float(
        help="What an hour of this driver and vehicle costs. With the cost per km, route planning "
        "minimizes cost. When no driver has costs it minimizes working time; a driver without costs "
        "among drivers with costs counts as the average driver."
    )
    cost_per_km = fields.Float()
    currency_id = fields.Many2one(related="company_id.currency_id")
    max_stops = fields.Integer(string="Maximum Stops", help="Most deliveries in a day. 0 means no limit.")
    break_minutes = fields.Integer(
        string="Break",
        help="A break the driver takes when it suits the round, somewhere between Break From and Break "
        "Until (for example 30 min between 11:30 and 14:00). It replaces the pauses of the working "
        "hours in that time. 0: the working hours' pauses only (a lunch hour is a fixed break).",
    )
    break_from = fields.Float(string="Break From", default=11.5, help="In the working hours' time zone.")
    break_until = fields.Float(string="Break Until", default=14.0, help="The break ends by then.")
    start_partner_id = fields.Many2one(
        "res.partner",
        string="Start Location",
        default=lambda self: self._default_start_partner(),
        help="Where the driver starts and ends the day (default: the warehouse).",
    )
    end_partner_id = fields.Many2one(
        "res.partner",
        string="End Location",
        default=lambda self: self._default_start_partner(),
        help="Where the driver ends the day (default: the warehouse). Route planning brings them back here.",
    )
    current_latitude = fields.Float(digits=(10, 7), readonly=True)
    current_longitude = fields.Float(digits=(10, 7), readonly=True)
    last_seen = fields.Datetime(readonly=True, help="When the driver's phone last sent its position.")
    last_dispatch = fields.Datetime(readonly=True, copy=False)
    position_latitude = fields.Float(compute="_compute_position", digits=(10, 7))
    position_longitude = fields.Float(compute="_compute_position", digits=(10, 7))
    task_ids = fields.One2many("lastmile.delivery.task", "driver_id", string="Deliveries")
    today_task_count = fields.Integer(compute="_compute_today_task_count", string="Deliveries Today")

    _user_uniq = models.Constraint("UNIQUE(user_id)", "This user is already linked to another driver.")

    @api.model
    def _default_start_partner(self):
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", self.env.company.id)], limit=1)
        return warehouse.partner_id or self.env.company.partner_id

    @api.depends("current_latitude", "current_longitude", "last_seen", "start_partner_id")
    def _compute_position(self):
        """Where the driver is: the phone's position when seen today, else the start location."""
        today = fields.Date.context_today(self)
        for driver in self:
            seen_today = driver.last_seen and fields.Date.context_today(driver, driver.last_seen) == today
            driver.position_latitude, driver.position_longitude = (
                (seen_today and point(driver.current_latitude, driver.current_longitude))
                or driver.start_partner_id._lastmile_point()
                or (0.0, 0.0)
            )

    def _compute_today_task_count(self):
        today = fields.Date.context_today(self)
        counts = dict(
            self.env["lastmile.delivery.task"]._read_group(
                [("driver_id", "in", self.ids), ("scheduled_date", "=", today), ("state", "!=", "cancelled")],
                ["driver_id"],
                ["__count"],
            )
        )
        for driver in self:
            driver.today_task_count = counts.get(driver, 0)

    @api.constrains("user_id")
    def _check_user_id(self):
        driver_group = self.env.ref("lastmile_delivery.group_lastmile_driver")
        for driver in self.filtered("user_id"):
            if driver_group not in driver.user_id.sudo().all_group_ids:
                raise ValidationError(
                    self.env._(
                        "%(user)s cannot be linked to driver %(driver)s: give the user the "
                        "Last Mile / Driver access first.",
                        user=driver.user_id.name,
                        driver=driver.name,
                    )
                )

    @api.constrains("capacity_weight", "capacity_volume", "max_stops")
    def _check_capacity(self):
        for driver in self:
            if driver.capacity_weight < 0 or driver.capacity_volume < 0 or driver.max_stops < 0:
                raise ValidationError(
                    self.env._(
                        "The vehicle capacity of %(driver)s cannot be negative (%(capacity)s kg).",
                        driver=driver.name,
                        capacity=driver.capacity_weight,
                    )
                )

    @api.constrains("break_minutes", "break_from", "break_until")
    def _check_break(self):
        for driver in self.filtered("break_minutes"):
            if (
                driver.break_minutes < 0
                or not 0 <= driver.break_from < driver.break_until <= 24
                or driver.break_minutes > (driver.break_until - driver.break_from) * 60
            ):
                raise ValidationError(
                    self.env._(
                        "The break of %(driver)s must fit between its start and end times "
                        "(%(minutes)s min between %(start)s and %(end)s).",
                        driver=driver.name,
                        minutes=driver.break_minutes,
                        start=format_duration(driver.break_from),
                        end=format_duration(driver.break_until),
                    )
                )

    @api.constrains("resource_calendar_id")
    def _check_working_hours(self):
        for driver in self:
            calendar = driver.resource_calendar_id
            if not calendar or not calendar.attendance_ids:
                raise ValidationError(
                    self.env._(
                        "Driver %(driver)s has no working hours: choose a working schedule with "
                        "attendances (Last Mile → Configuration → Working Hours).",
                        driver=driver.name,
                    )
                )

    @api.model
    def _get_on_duty_domain(self, company=None):
        """Drivers who may get deliveries: on duty, with working hours (of ``company``)."""
        domain = Domain("on_duty", "=", True) & Domain("resource_calendar_id", "!=", False)
        return domain & Domain("company_id", "=", company.id) if company else domain

    def _prepare_routing_costs(self):
        """{driver id: (time cost per second, distance cost per meter)} as integers for the route
        engine, in one unit for the whole fleet: cost per hour × 1000 and cost per km × 3600
        (both scaled by 3,600,000). A fleet without costs minimizes working time; in a fleet with
        costs, a driver without them counts as the fleet's average driver."""
        with_hour = [d.cost_per_hour for d in self if d.cost_per_hour]
        with_km = [d.cost_per_km for d in self if d.cost_per_km]
        if not with_hour and not with_km:
            return dict.fromkeys(self.ids, (1, 0))
        mean_hour = sum(with_hour) / len(with_hour) if with_hour else 0.0
        mean_km = sum(with_km) / len(with_km) if with_km else 0.0
        costs = {}
        for driver in self:
            hour, km = driver.cost_per_hour, driver.cost_per_km
            if not hour and not km:
                hour, km = mean_hour, mean_km
            costs[driver.id] = (round(hour * 1000), round(km * 3600))
        return costs

    def _prepare_fleet_routing_costs(self, company):
        """:meth:`_prepare_routing_costs` of these drivers, in the unit of the company's fleet on
        duty (a plan of one route costs the same as that route in a plan of the fleet)."""
        return (self | self.search(self._get_on_duty_domain(company)))._prepare_routing_costs()

    def _lastmile_position(self):
        """[latitude, longitude] of where the driver is (see position_latitude), or None."""
        self.ensure_one()
        return point(self.position_latitude, self.position_longitude)

    def _prepare_routing_vehicle(self, start, end, shift_start, shift_end, costs, **values):
        """This driver as a vehicle of the routing engine: matrix indexes for ``start`` and
        ``end``, seconds for the shift, grams and cm³ for the capacity (see
        ``lastmile.delivery.task._prepare_routing_stop``), ``costs`` from
        :meth:`_prepare_routing_costs`."""
        self.ensure_one()
        time_cost, distance_cost = costs[self.id]
        return routing_engine.Vehicle(
            **{
                "id": self.id,
                "start": start,
                "end": end,
                "capacity": (round(self.capacity_weight * 1000), round(self.capacity_volume * 1_000_000)),
                "max_stops": self.max_stops,
                "shift_start": shift_start,
                "shift_end": max(shift_end, shift_start),
                "time_cost": time_cost,
                "distance_cost": distance_cost,
                **values,
            }
        )

    def _touch_dispatch(self):
        """Mark these drivers as given work now. Two transactions giving work to the same driver
        both write this row: the later one gets a serialization failure and is retried on
        fresh data (Odoo retries it), so no driver is booked past their capacity."""
        if self:
            self.env.cr.execute(
                SQL(
                    "UPDATE lastmile_driver SET last_dispatch = %s WHERE id IN %s",
                    fields.Datetime.now(),
                    tuple(self.ids),
                )
            )
            self.invalidate_recordset(["last_dispatch"])

    def action_toggle_on_duty(self):
        for driver in self:
            driver.on_duty = not driver.on_duty
        return True

    def action_view_tasks(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "lastmile_delivery.lastmile_delivery_task_action"
        )
        action["domain"] = [("driver_id", "=", self.id)]
        action["context"] = {"default_driver_id": self.id, "search_default_filter_today": 1}
        return action

    # ------------------------------------------------------------------ dispatch inputs

    def _get_shifts(self, day, compute_leaves=True):
        """{driver id: [(start, end)] in naive UTC} for ``day``: working hours minus time off
        (with ``compute_leaves`` false, the working hours alone)."""
        shifts = {}
        for calendar, drivers in self.grouped("resource_calendar_id").items():
            tz = pytz.timezone(calendar.tz or "UTC")
            start = tz.localize(datetime.combine(day, time.min))
            end = tz.localize(datetime.combine(day + timedelta(days=1), time.min))
            intervals = calendar._work_intervals_batch(
                start, end, resources=drivers.resource_id, compute_leaves=compute_leaves
            )
            for driver in drivers:
                shifts[driver.id] = [
                    (s.astimezone(pytz.utc).replace(tzinfo=None), e.astimezone(pytz.utc).replace(tzinfo=None))
                    for s, e, _records in intervals[driver.resource_id.id]
                ]
        return shifts

    def _break_window(self, day):
        """(when the flexible break may start, when it must end) on ``day``, naive UTC, in the
        time zone the driver's working hours are read in (the driver's, as Odoo's resources)."""
        self.ensure_one()
        tz = pytz.timezone(self.tz or self.resource_calendar_id.tz or "UTC")
        return local_time(day, self.break_from, tz), local_time(day, self.break_until, tz)

    def _get_breaks(self, day, shifts=None):
        """{driver id: [(earliest start, latest start, duration)]} of ``day``, naive UTC and a
        timedelta: each pause between the intervals of ``shifts`` (see :meth:`_get_shifts`,
        read when not given: a lunch hour, time off in the day) is a fixed break; a driver's
        flexible break (Break From/Until) replaces the pauses of the working hours in its time
        (not time off); once the driver's route of the day has started and the time it planned
        the break at has come, it counts as taken then, for as long as planned: a fixed break
        at that time (taken as planned, or when the driver reported it from My Route)."""
        if shifts is None:
            shifts = self._get_shifts(day)
        flexible_drivers = self.filtered("break_minutes")
        working_hours = flexible_drivers._get_shifts(day, compute_leaves=False)
        # read for the plan only, whoever plans (a salesperson's order dispatched at once)
        routes = (
            self.env["lastmile.route"]
            .sudo()
            .search(
                [
                    ("driver_id", "in", flexible_drivers.ids),
                    ("date", "=", day),
                    ("state", "in", ("in_progress", "done")),
                    ("break_start", "<=", fields.Datetime.now()),
                ]
            )
        )
        planned = {
            route.driver_id.id: (route.break_start, route.break_end)
            for route in routes
            if route.break_end and route.break_end > route.break_start
        }
        breaks = {}
        for driver in self:
            pauses = self._pauses(shifts.get(driver.id) or [])
            flexible = []
            if driver.break_minutes:
                opens, closes = driver._break_window(day)
                duration = timedelta(minutes=driver.break_minutes)
                if driver.id in planned:  # taken (its window may have changed since)
                    start, end = planned[driver.id]
                    flexible = [(start, start, end - start)]
                else:
                    flexible = [(opens, closes - duration, duration)]
                lunches = self._pauses(working_hours.get(driver.id) or [])
                pauses = [
                    (s, d)
                    for s, d in pauses
                    if s + d <= opens
                    or s >= closes
                    or not any(ls <= s and s + d <= ls + ld for ls, ld in lunches)
                ]
            breaks[driver.id] = sorted([(s, s, d) for s, d in pauses] + flexible)
        return breaks

    @api.model
    def _pauses(self, intervals):
        """[(start, duration)] of the gaps between consecutive ``intervals``."""
        return [(end, start - end) for (_s, end), (start, _e) in itertools.pairwise(intervals) if start > end]

    def _prepare_dispatch_inputs(self, day):
        """Engine inputs: shifts of ``day``, what is already planned that day, where each driver
        is when that is done and from when they are free, in a constant number of queries."""
        shifts = self._get_shifts(day)
        travel = (self.company_id[:1] or self.env.company)._lastmile_travel_model()
        planned = self.env["lastmile.delivery.task"].search(
            [
                ("driver_id", "in", self.ids),
                ("scheduled_date", "=", day),
                ("state", "in", ["assigned", "in_transit", "delivered"]),
            ],
            order="driver_id, sequence, eta, id",
        )
        by_driver = planned.grouped("driver_id")
        inputs = []
        for driver in self:
            lat, lon = driver.position_latitude, driver.position_longitude
            stops = by_driver.get(driver, planned.browse())
            intervals = shifts.get(driver.id, [])
            minutes = 0.0
            free = None  # when the last planned stop is done: its ETA, else an estimate
            for stop in stops:
                trip = 0.0
                if has_coordinates(stop.latitude, stop.longitude):
                    if has_coordinates(lat, lon):
                        trip = travel.minutes(haversine_km(lat, lon, stop.latitude, stop.longitude))
                    lat, lon = stop.latitude, stop.longitude
                minutes += trip + stop.service_minutes
                if stop.eta:
                    free = stop.eta
                elif free or intervals:
                    free = max(free or intervals[0][0], stop.window_start) + timedelta(minutes=trip)
                if free:
                    free += timedelta(minutes=stop.service_minutes)
            inputs.append(
                engine.DriverInput(
                    id=driver.id,
                    name=driver.name,
                    latitude=lat,
                    longitude=lon,
                    shifts=intervals,
                    capacity_weight=driver.capacity_weight,
                    capacity_volume=driver.capacity_volume,
                    max_stops=driver.max_stops,
                    planned_stops=len(stops),
                    planned_weight=sum(stops.mapped("weight")),
                    planned_volume=sum(stops.mapped("volume")),
                    planned_minutes=minutes,
                    available_from=free,
                )
            )
        return inputs
