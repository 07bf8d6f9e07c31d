import dataclasses
import logging
from datetime import timedelta

import pytz

from odoo import api, fields, models

from ..services import routing as engine
from ..services.geo import has_coordinates, point
from ..tools import notification_action
from .lastmile_delivery_task import ACTIVE_STATES

_logger = logging.getLogger(__name__)


# the plan against the same stops in order of entry (a longer plan says when that order is late)
SAVING_NOTES = [
    ("shorter", "Shorter than the order of entry"),
    ("late_baseline", "Longer: the order of entry would be late"),
    ("longer", "Longer than the order of entry"),
    ("same", "As the order of entry"),
]

# seconds of search at most: with the matrix and the writing, a plan stays within the two
# minutes Odoo gives a request (limit_time_real)
MAX_TIME_LIMIT = 90


def seconds_since(origin, moment):
    """Whole seconds from ``origin`` to ``moment`` (never negative): the engine's time unit."""
    return max(0, int((moment - origin).total_seconds()))


class _Points:
    """The distinct places of a plan, each with its index in the travel matrix."""

    def __init__(self):
        self.points, self._index = [], {}

    def index(self, point):
        key = (round(point[0], 6), round(point[1], 6))
        if key not in self._index:
            self._index[key] = len(self.points)
            self.points.append(key)
        return self._index[key]


class LastmileRoute(models.Model):
    """The ordered stops of one driver on one day, with planned and baseline totals."""

    _name = "lastmile.route"
    _description = "Delivery Route"
    _inherit = ["mail.thread"]
    _order = "date desc, driver_id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    driver_id = fields.Many2one(
        "lastmile.driver", required=True, index=True, check_company=True, ondelete="cascade"
    )
    date = fields.Date(required=True, index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    state = fields.Selection(
        [("draft", "Draft"), ("planned", "Planned"), ("in_progress", "In Progress"), ("done", "Done")],
        default="draft",
        required=True,
        tracking=True,
        compute="_compute_state",
        store=True,
        readonly=False,
    )
    task_ids = fields.One2many("lastmile.delivery.task", "route_id", string="Deliveries")
    stop_count = fields.Integer(string="Stops", compute="_compute_stop_count", store=True)
    start_time = fields.Datetime(string="Leaves", readonly=True)
    end_time = fields.Datetime(string="Back", readonly=True)
    break_start = fields.Datetime(
        string="Break Starts",
        readonly=True,
        help="The driver's flexible break (Break From/Until on the driver) as planned. Once its "
        "time has come it counts as taken: plans and ETAs after it do not plan it again.",
    )
    break_end = fields.Datetime(string="Break Ends", readonly=True)
    break_label = fields.Char(
        string="Break Time", compute="_compute_break_label", help="The planned break, in the shop's time."
    )
    planned_distance_km = fields.Float(string="km", digits=(12, 1), readonly=True, help="Planned distance.")
    planned_duration_min = fields.Float(
        string="Minutes", digits=(12, 0), readonly=True, help="Planned duration."
    )
    planned_return_km = fields.Float(
        string="Way Back (km)", digits=(12, 1), readonly=True, help="Planned, from the last stop to the end."
    )
    planned_return_min = fields.Float(string="Way Back (min)", digits=(12, 0), readonly=True)
    baseline_distance_km = fields.Float(
        string="Baseline Distance (km)", digits=(12, 1), readonly=True, help="Same stops in order of entry."
    )
    baseline_duration_min = fields.Float(string="Baseline Duration (min)", digits=(12, 0), readonly=True)
    baseline_late_count = fields.Integer(
        string="Baseline Late Stops",
        readonly=True,
        help="Stops the order of entry would reach after their window: a shorter baseline may be a late one.",
    )
    saving_km = fields.Float(string="Saved (km)", compute="_compute_savings", store=True, digits=(12, 1))
    saving_min = fields.Float(string="Saved (min)", compute="_compute_savings", store=True, digits=(12, 0))
    saving_note = fields.Selection(
        SAVING_NOTES,
        string="Against the Order of Entry",
        compute="_compute_saving_note",
        store=True,
    )
    saving_label = fields.Char(
        string="Optimization",
        compute="_compute_saving_label",
        help="The plan against the same stops in order of entry, with the reason when it is longer.",
    )
    engine = fields.Char(readonly=True)
    matrix_provider = fields.Char(string="Travel Times", readonly=True)
    plan_warning = fields.Char(readonly=True)
    color = fields.Integer(related="driver_id.color")

    _driver_date_uniq = models.Constraint("UNIQUE(driver_id, date)", "A driver has one route per day.")

    @api.depends("driver_id.name", "date")
    def _compute_name(self):
        for route in self:
            route.name = f"{route.driver_id.name or ''} – {route.date or ''}"

    @api.depends("task_ids.state")
    def _compute_state(self):
        for route in self:
            states = set(route.task_ids.mapped("state")) - {"cancelled"}
            if not states:
                route.state = route.state or "draft"
            elif states <= {"delivered", "failed"}:
                route.state = "done"
            elif states & {"in_transit", "delivered", "failed"}:
                route.state = "in_progress"
            elif route.state in ("in_progress", "done"):
                route.state = "planned"
            else:
                route.state = route.state or "draft"

    @api.depends("task_ids.state", "task_ids.sequence")
    def _compute_stop_count(self):
        """Stops, not deliveries: orders to one door share a stop number."""
        for route in self:
            tasks = route.task_ids.filtered(lambda t: t.state != "cancelled")
            route.stop_count = len({t.sequence or -t.id for t in tasks})

    @api.depends(
        "planned_distance_km", "planned_duration_min", "baseline_distance_km", "baseline_duration_min"
    )
    def _compute_savings(self):
        for route in self:
            route.saving_km = route.baseline_distance_km - route.planned_distance_km
            route.saving_min = route.baseline_duration_min - route.planned_duration_min

    @api.depends("saving_min", "baseline_late_count", "baseline_duration_min")
    def _compute_saving_note(self):
        """A longer plan is explained (the order of entry would have been late), not shown as a
        bare negative saving; the reports group by the same note."""
        for route in self:
            minutes = round(route.saving_min)
            if not route.baseline_duration_min:
                route.saving_note = False
            elif minutes > 0:
                route.saving_note = "shorter"
            elif minutes < 0:
                route.saving_note = "late_baseline" if route.baseline_late_count else "longer"
            else:
                route.saving_note = "same"

    @api.depends("saving_note", "saving_km", "saving_min", "baseline_late_count")
    def _compute_saving_label(self):
        for route in self:
            minutes, km = round(route.saving_min), round(route.saving_km, 1)
            note = route.saving_note
            if not note:
                route.saving_label = False
            elif note == "shorter" and km >= 0:
                route.saving_label = self.env._(
                    "%(min)s min and %(km)s km shorter than the order of entry", min=minutes, km=km
                )
            elif note == "shorter":
                route.saving_label = self.env._(
                    "%(min)s min shorter than the order of entry, for %(km)s km more", min=minutes, km=-km
                )
            elif note == "late_baseline":
                route.saving_label = self.env._(
                    "%(min)s min longer than the order of entry, which would reach %(late)s stop(s) late",
                    min=-minutes,
                    late=route.baseline_late_count,
                )
            elif note == "longer":
                route.saving_label = self.env._("%(min)s min longer than the order of entry", min=-minutes)
            else:
                route.saving_label = self.env._("As short as the order of entry")

    # ------------------------------------------------------------------ access helpers

    def _check_dispatcher(self):
        self.env["lastmile.delivery.task"]._check_dispatcher(self.env._("Only dispatchers can plan routes."))

    # ------------------------------------------------------------------ public API

    @api.model
    def plan_routes(self, date=None, time_limit=None, iteration_limit=None):
        """Assign and sequence every open delivery of a day over the drivers on duty (the
        fleet-level plan), keeping what is already done, under way or loaded on a van. Returns a
        summary; when no plan is found, the previous one stays and the summary says why. With
        an ``iteration_limit`` the search stops after that many iterations (or its time limit):
        the same day, data and limit then give the same plan."""
        self._check_dispatcher()
        day = fields.Date.to_date(date) if date else fields.Date.context_today(self)
        company = self.env.company
        company._lastmile_check_day_lock(day)
        tasks = self.env["lastmile.delivery.task"].search(
            [
                ("company_id", "=", company.id),
                ("scheduled_date", "=", day),
                ("state", "in", ACTIVE_STATES),
            ]
        )
        Driver = self.env["lastmile.driver"]
        # on duty, and whoever is on the road with deliveries on board
        drivers = (
            Driver.search(Driver._get_on_duty_domain(company))
            | tasks.filtered(lambda t: t.state == "in_transit").driver_id
        )
        iterations = min(max(int(iteration_limit), 1), 10**7) if iteration_limit else None
        return self._apply_plan(
            self._prepare_plan(company, day, tasks, drivers, time_limit, iteration_limit=iterations)
        )

    def action_optimize(self):
        """Re-sequence each route's own stops (same driver, same stops), in the background like
        a plan of the day, with the same notification."""
        return self.env["lastmile.route.planning"]._optimize_routes(self)

    @api.model
    def action_replan(self, date=None):
        """Mid-day: stops done or under way stay; new deliveries are inserted; started routes keep
        their stops. In the background, as a plan of the day."""
        return self.env["lastmile.route.planning"].action_plan(date)

    def _optimize(self, time_limit=None):
        """Re-sequence each route's own stops. Every route is solved before any is written;
        the routes share the search time. Returns the summaries."""
        self._check_dispatcher()
        self.check_access("write")
        each = max(self._search_time(self.env.company, time_limit) / max(len(self), 1), 1)
        plans = []
        for route in self:
            route.company_id._lastmile_check_day_lock(route.date)
            tasks = route.task_ids.filtered(lambda t: t.state in ("assigned", "in_transit"))
            plans.append(
                route._prepare_plan(
                    route.company_id, route.date, tasks, route.driver_id, each, keep_driver=True
                )
            )
        return [self._apply_plan(plan) for plan in plans]

    @api.model
    def _search_time(self, company, time_limit=None):
        """Seconds of search, as asked or set on the company, within what a worker may be held
        (Odoo's limit on a request's real time)."""
        return min(max(float(time_limit or company.lastmile_plan_time_limit or 10), 1), MAX_TIME_LIMIT)

    def _notify_summary(self, summaries):
        errors = [s["error"] for s in summaries if s.get("error")]
        planned = sum(s["planned"] for s in summaries)
        unserved = sum(len(s["unserved"]) for s in summaries)
        late = [item for s in summaries for item in s.get("late", [])]
        message = self.env._("%(planned)s stop(s) planned.", planned=planned)
        if unserved:
            message += " " + self.env._(
                "%(count)s could not be planned; the reasons are on the deliveries.", count=unserved
            )
        if late:
            message += " " + self.env._(
                "%(count)s will be late: %(stops)s.",
                count=len(late),
                stops=", ".join(
                    self.env._("%(task)s by %(min)s min", task=i["task"], min=i["minutes"]) for i in late
                ),
            )
        for error in errors:
            message += " " + self.env._(
                "No plan was found (%(error)s): the previous plan is kept.", error=error
            )
        warnings = {s["warning"] for s in summaries if s.get("warning")}
        if warnings:
            message += " " + " ".join(warnings)
        kind = "danger" if errors else "warning" if unserved or warnings or late else "success"
        return notification_action(
            message, kind, next_action={"type": "ir.actions.client", "tag": "soft_reload"}
        )

    # ------------------------------------------------------------------ planning

    def _prepare_plan(
        self, company, day, tasks, drivers, time_limit, keep_driver=False, iteration_limit=None
    ):
        """Everything a plan needs, solved, without writing anything (the travel matrix may come
        from a routing server: no row is locked while it answers). :meth:`_apply_plan` writes."""
        origin = company._lastmile_localize(day)
        now_s = seconds_since(origin, fields.Datetime.now())
        # in a fixed order: the plan depends on the data, not on the order of the last plan
        located = tasks.filtered(lambda t: has_coordinates(t.latitude, t.longitude)).sorted("id")
        unserved = [
            (task, self.env._("Address to check: the delivery has no coordinates."))
            for task in tasks - located
        ]
        points = _Points()
        shifts = drivers._get_shifts(day)
        breaks = drivers._get_breaks(day, shifts)
        finished = self._finished_by_driver(day, drivers)
        on_road = self._drivers_on_the_road(drivers, located, shifts, finished)
        costs = drivers._prepare_fleet_routing_costs(company)
        vehicles = []
        for driver in drivers:
            vehicle = self._prepare_vehicle(
                driver,
                origin,
                now_s,
                shifts.get(driver.id) or [],
                on_road.get(driver),
                points,
                costs,
                len(finished.get(driver, ())),
                breaks=breaks.get(driver.id) or [],
            )
            if vehicle:
                vehicles.append(vehicle)
        stops, groups = self._prepare_stops(located, drivers, vehicles, on_road, origin, points, keep_driver)
        vehicles = self._lock_visits(vehicles, groups)
        matrix = company._lastmile_travel_matrix(points.points) if stops and vehicles else None
        problem = engine.Problem(
            durations=matrix.durations if matrix else [],
            distances=matrix.distances if matrix else [],
            vehicles=vehicles,
            stops=stops,
            preference_cost=self._preference_cost(company, vehicles),
            time_limit=self._search_time(company, time_limit),
            iteration_limit=iteration_limit,
            seed=1,
        )
        if matrix:
            solution = engine.solve(problem)
        elif stops:  # nobody can drive: the deliveries keep what they have
            solution = engine.Solution(
                engine="none",
                error=self.env._(
                    "no driver can drive on %(day)s now (off duty, shift over or time off)", day=day
                ),
            )
        else:
            solution = engine.Solution(engine="none")
        return {
            "company": company,
            "day": day,
            "origin": origin,
            "tasks": located,
            "groups": groups,
            "drivers": drivers,
            "problem": problem,
            "solution": solution,
            "matrix": matrix,
            "unserved": unserved,
            "finished": finished,
        }

    def _finished_by_driver(self, day, drivers):
        """{driver: their deliveries of ``day`` delivered or failed, the latest first}."""
        finished = self.env["lastmile.delivery.task"].search(
            [
                ("driver_id", "in", drivers.ids),
                ("scheduled_date", "=", day),
                ("state", "in", ["delivered", "failed"]),
            ],
            order="date_delivered desc, write_date desc, id desc",
        )
        return finished.grouped("driver_id")

    def _drivers_on_the_road(self, drivers, tasks, shifts, finished):
        """{driver: (what is on board, where they are)} for the drivers out on their round,
        deliveries left: one under way, or some delivered or failed since their shift began (a
        delivery order the warehouse validated before does not send anyone out). Where they
        are: the phone's position, else the last stop done. ``finished``: see
        :meth:`_finished_by_driver`."""
        now = fields.Datetime.now()
        by_driver = tasks.filtered(lambda t: t.state in ("assigned", "in_transit")).grouped("driver_id")
        on_road = {}
        for driver in drivers:
            on_board = by_driver.get(driver, tasks.browse())
            intervals = shifts.get(driver.id) or []
            began = intervals[0][0] if intervals else None
            done = finished.get(driver, tasks.browse()).filtered(
                lambda t, b=began: b and b <= (t.date_delivered or t.write_date) <= now
            )
            if not on_board or not ("in_transit" in on_board.mapped("state") or done):
                continue
            where = (
                (driver.last_seen and point(driver.current_latitude, driver.current_longitude))
                or (done and point(done[0].latitude, done[0].longitude))
                or driver._lastmile_position()
            )
            on_road[driver] = (on_board, where)
        return on_road

    def _prepare_vehicle(self, driver, origin, now_s, intervals, road, points, costs, done=0, *, breaks):
        """The driver as a vehicle of the plan, or None when they cannot take part. Nobody starts
        before now; a driver on the road starts now from where they are, and finishes what is
        on board even past the end of their shift. The ``done`` stops of the day (delivered or
        failed) count in the driver's maximum stops. ``breaks``: see
        ``lastmile.driver._get_breaks``; what is left of them from now."""
        if not intervals and not road:
            return None
        limit = {"breaks": self._prepare_breaks(origin, now_s, breaks)}
        if driver.max_stops:
            left = driver.max_stops - done
            if left <= 0 and not (road and road[1]):
                return None  # the day's stops are all done
            limit["max_stops"] = max(left, 1)  # on the road: what is on board counts anyway
        shift_start = seconds_since(origin, intervals[0][0]) if intervals else now_s
        shift_end = seconds_since(origin, intervals[-1][1]) if intervals else now_s
        end_point = (driver.end_partner_id or driver.start_partner_id)._lastmile_point()
        end = points.index(end_point) if end_point else None
        if road and road[1]:
            on_board, where = road
            under_way = on_board.filtered(lambda t: t.state == "in_transit").sorted("sequence")
            return driver._prepare_routing_vehicle(
                points.index(where),
                end,
                now_s,
                shift_end,
                costs,
                locked=tuple(under_way.ids),
                fixed_start=True,
                **limit,
            )
        start_point = driver.start_partner_id._lastmile_point()
        shift_start = max(shift_start, now_s)
        if not start_point or shift_start >= shift_end:
            return None  # nowhere to start from, or the shift is over
        return driver._prepare_routing_vehicle(
            points.index(start_point), end, shift_start, shift_end, costs, **limit
        )

    @api.model
    def _prepare_breaks(self, origin, now_s, breaks):
        """Engine breaks of ``(earliest, latest, duration)`` datetimes, from now: a break whose
        time is over is left out, the rest of a fixed break under way is kept."""
        out = []
        for earliest, latest, duration in breaks:
            first, last = seconds_since(origin, earliest), seconds_since(origin, latest)
            seconds = int(duration.total_seconds())
            fixed = first == last
            if (first + seconds <= now_s) if fixed else (last < now_s):
                continue
            if first < now_s:
                if fixed:  # what is left of it, from now
                    seconds -= now_s - first
                    last = now_s
                first = now_s
            out.append(engine.Break(earliest=first, latest=last, duration=seconds))
        return out

    @api.model
    def _preference_cost(self, company, vehicles):
        """What a delivery served by a driver its "prefer" rules do not point to costs the plan:
        the company's minutes of work, at the fleet's average cost of time."""
        if not vehicles or not company.lastmile_prefer_minutes:
            return 0
        seconds = company.lastmile_prefer_minutes * 60
        time_cost = sum(v.time_cost for v in vehicles) / len(vehicles)
        distance_cost = sum(v.distance_cost for v in vehicles) / len(vehicles)
        if not time_cost and distance_cost:  # costs per km only: the distance driven meanwhile
            return round(seconds * company.lastmile_speed_kmh / 3.6 * distance_cost)
        return round(seconds * max(time_cost, 1))

    def _prepare_stops(self, tasks, drivers, vehicles, on_road, origin, points, keep_driver):
        """The engine's stops for ``tasks`` and ``{stop id: tasks}``: see :meth:`_group_visits`."""
        vehicle_ids = {v.id for v in vehicles}
        only_rules, prefer = self.env["lastmile.dispatch.rule"]._match(tasks, drivers)
        on_board = {task.id for board, _where in on_road.values() for task in board}
        entries = []
        for task in tasks:
            pinned = None
            if keep_driver or task.driver_pinned or task.state == "in_transit" or task.id in on_board:
                pinned = task.driver_id.id or None
            allowed, _names = only_rules.get(task.id, (None, ()))
            stop = task._prepare_routing_stop(
                points.index([task.latitude, task.longitude]),
                origin,
                vehicle_id=pinned,
                vehicle_ids=tuple(sorted(allowed & vehicle_ids))
                if allowed is not None and pinned is None
                else None,
                # preferred drivers all off duty: no preference
                preferred_vehicle_ids=tuple(sorted(set(prefer[task.id]) & vehicle_ids)) or None
                if task.id in prefer and pinned is None
                else None,
                required=task.id in on_board and pinned in vehicle_ids,
            )
            entries.append((task, stop))
        return self._group_visits(entries)

    @api.model
    def _group_visits(self, entries):
        """``entries``: ``[(task, engine stop)]``. Several orders at one door (same address,
        same vehicle rules, windows that overlap) are one stop: one visit, one service time,
        one stop number, one proof. Returns ``(engine stops, {stop id: tasks})``."""
        by_door = {}
        for task, stop in entries:
            key = (
                task._lastmile_stop_key(),
                stop.vehicle_id,
                stop.vehicle_ids,
                stop.preferred_vehicle_ids,
                stop.required,
            )
            by_door.setdefault(key, []).append((task, stop))
        Task = self.env["lastmile.delivery.task"]
        stops, groups = [], {}
        for members in by_door.values():
            tasks = {stop.id: task for task, stop in members}
            for visit, stop_ids in engine.merge_stops([stop for _task, stop in members]):
                stops.append(visit)
                groups[visit.id] = Task.union(*(tasks[stop_id] for stop_id in stop_ids))
        return stops, groups

    @api.model
    def _lock_visits(self, vehicles, groups):
        """The locked deliveries of ``vehicles`` (task ids) as the stops that stand for them."""
        stop_of = self._stop_of(groups)
        return [
            dataclasses.replace(
                vehicle, locked=tuple(dict.fromkeys(stop_of[t] for t in vehicle.locked if t in stop_of))
            )
            if vehicle.locked
            else vehicle
            for vehicle in vehicles
        ]

    def _apply_plan(self, plan):
        """Write a prepared plan: routes, stops in order with their ETAs, reasons for what could
        not be planned. A plan that failed writes nothing."""
        solution, day = plan["solution"], plan["day"]
        summary = {
            "date": fields.Date.to_string(day),
            "routes": 0,
            "planned": 0,
            "unserved": [],
            "late": [],
            "engine": solution.engine,
            "seconds": round(solution.seconds, 2),
            "warning": plan["matrix"].warning if plan["matrix"] else "",
        }
        if solution.error:
            _logger.warning("Route planning of %s found no plan: %s", day, solution.error_text)
            return {**summary, "error": self.env._(solution.error, **solution.error_params)}
        company, origin, problem = plan["company"], plan["origin"], plan["problem"]
        groups = plan["groups"]
        drivers_by_id = {d.id: d for d in plan["drivers"]}
        vehicles_by_id = {v.id: v for v in problem.vehicles}
        routes = {
            r.driver_id: r
            for r in self.search([("driver_id", "in", plan["drivers"].ids), ("date", "=", day)])
        }
        touched = self.browse()
        for route_plan in solution.routes:
            driver = drivers_by_id[route_plan.vehicle_id]
            route = routes.get(driver) or self.create(
                {"driver_id": driver.id, "date": day, "company_id": company.id}
            )
            routes[driver] = route
            touched |= route
            # the naive baseline: the same stops in order of entry
            entry_order = sorted(
                (v.stop_id for v in route_plan.visits),
                key=lambda sid: (min(groups[sid].mapped("create_date")), sid),
            )
            baseline = engine.schedule(problem, vehicles_by_id[route_plan.vehicle_id], entry_order)
            route.write(
                {
                    **route._prepare_plan_values(
                        route_plan, origin, problem, vehicles_by_id[route_plan.vehicle_id]
                    ),
                    "baseline_distance_km": baseline.distance / 1000,
                    "baseline_duration_min": baseline.duration / 60,
                    "baseline_late_count": sum(1 for visit in baseline.visits if visit.late),
                    "engine": solution.engine,
                    "matrix_provider": plan["matrix"].provider,
                    "plan_warning": summary["warning"] or False,
                }
            )
            # the open stops are numbered after those already delivered, in the order they were
            finished = plan["finished"].get(driver, route.task_ids.browse())
            done = finished.filtered(lambda t: t.state == "delivered")[::-1]
            numbers = self._number_done_stops(done)
            for position, visit in enumerate(route_plan.visits, numbers + 1):
                for task in groups[visit.stop_id]:
                    values = {
                        "route_id": route.id,
                        "sequence": position,
                        "eta": origin + timedelta(seconds=visit.start),
                        "dispatch_issue": False,
                        "dispatch_pending": False,  # planned is dispatched
                    }
                    if task.driver_id != driver:
                        values.update(
                            driver_id=driver.id,
                            dispatch_reason=self.env._(
                                "Planned on the route of %(driver)s", driver=driver.name
                            ),
                        )
                    # the status goes with the driver: a plan is no choice by hand
                    task._set_state("assigned" if task.state == "new" else task.state, **values)
                    if visit.late:
                        summary["late"].append({"task": task.display_name, "minutes": round(visit.late / 60)})
                    summary["planned"] += 1
            if route.state == "draft":
                route.state = "planned"
        plan["drivers"].browse([r.driver_id.id for r in touched])._touch_dispatch()
        unserved = plan["unserved"] + self._explain_unserved(plan)
        # pinned: they stay
        kept = {task.id for stop in problem.stops if stop.vehicle_id is not None for task in groups[stop.id]}
        for task, reason in unserved:
            values = {"dispatch_issue": reason, "route_id": False, "sequence": 0, "eta": False}
            if task.state == "assigned" and not task.driver_pinned and task.id not in kept:
                task._set_state("new", driver_id=False, dispatch_reason=False, **values)
            else:
                task.sudo().write(values)
            summary["unserved"].append({"task": task.display_name, "reason": reason})
        if unserved:
            self.env["lastmile.delivery.task"].browse(
                [task.id for task, _reason in unserved]
            )._message_log_batch(
                bodies={
                    task.id: self.env._("Not planned: %(reason)s", reason=reason) for task, reason in unserved
                }
            )
        # routes of the day that lost all their stops
        stale = self.browse([r.id for r in routes.values()]) - touched
        stale.filtered(lambda r: r.state in ("draft", "planned") and not r.task_ids).unlink()
        for route in touched:
            route._log_plan(solution, groups)
        return {**summary, "routes": len(touched)}

    @api.model
    def _number_done_stops(self, done):
        """Number the delivered ``done`` deliveries 1, 2… in the order they were delivered,
        those delivered together at one door under one number. Returns the last number."""
        number, door = 0, None
        for task in done:
            if task._lastmile_stop_key() != door:
                number, door = number + 1, task._lastmile_stop_key()
            if task.sequence != number:
                task.sudo().sequence = number
        return number

    def _explain_unserved(self, plan):
        """(task, reason) of the stops the engine left out, in words a dispatcher reads."""
        Task = self.env["lastmile.delivery.task"]
        drivers = plan["drivers"]
        stops = plan["problem"].stops_by_id
        out = []
        for item in plan["solution"].unserved:
            tasks = plan["groups"][item.stop_id]
            if item.reason == engine.REASON_CAPACITY:
                detail = self._capacity_detail(item.dimension, tasks, drivers, stops[item.stop_id])
            else:
                detail = self.env._(item.detail, **item.params)
            out.extend((task, Task._format_unassigned_reason(item.reason, detail)) for task in tasks)
        return out

    def _capacity_detail(self, dimension, tasks, drivers, stop):
        """Why ``tasks`` (one stop) fit no vehicle on duty it may go to (rules, pins, as the
        engine compared): too heavy (``dimension`` 0), too bulky (1), or both at once."""
        if dimension not in (0, 1):
            return self.env._(
                "it weighs %(weight).1f kg and takes %(volume).3f %(unit)s: no vehicle on duty it "
                "may go to has room for both",
                weight=sum(tasks.mapped("weight")),
                volume=sum(tasks.mapped("volume")),
                unit=tasks[:1].volume_uom_name,
            )
        allowed = (stop.vehicle_id,) if stop.vehicle_id is not None else stop.vehicle_ids
        fleet = drivers.filtered(lambda d: allowed is None or d.id in allowed)
        if dimension == 1:
            return self.env._(
                "its volume of %(volume).3f %(unit)s is more than any vehicle on duty it may go "
                "to holds (%(biggest).3f %(unit)s)",
                volume=sum(tasks.mapped("volume")),
                unit=tasks[:1].volume_uom_name,
                biggest=max(fleet.mapped("capacity_volume") or [0]),
            )
        return self.env._(
            "it weighs %(weight).1f kg, more than any vehicle on duty it may go to carries "
            "(%(biggest).1f kg)",
            weight=sum(tasks.mapped("weight")),
            biggest=max(fleet.mapped("capacity_weight") or [0]),
        )

    def _log_plan(self, solution, groups):
        self.ensure_one()
        body = self.env._(
            "Planned: %(stops)s stops, %(km).1f km, %(min).0f min "
            "(in order of entry: %(bkm).1f km, %(bmin).0f min).",
            stops=self.stop_count,
            km=self.planned_distance_km,
            min=self.planned_duration_min,
            bkm=self.baseline_distance_km,
            bmin=self.baseline_duration_min,
        )
        late = [
            (visit.stop_id, visit.late)
            for route in solution.routes
            if route.vehicle_id == self.driver_id.id
            for visit in route.visits
            if visit.late
        ]
        if late:
            body += " " + self.env._(
                "Running late: %(stops)s.",
                stops=", ".join(
                    self.env._("%(task)s by %(min)s min", task=task.display_name, min=round(seconds / 60))
                    for stop_id, seconds in late
                    for task in groups[stop_id]
                ),
            )
        self.message_post(body=body, subtype_xmlid="mail.mt_note")

    def _prepare_plan_values(self, plan, origin, problem, vehicle):
        """Planned totals of an engine route, for this record, with its way back from the last
        stop (what the phone does not see: the reports compare the drive up to the last stop)."""
        back_m = back_s = 0
        if plan.visits and vehicle.end is not None:
            last = problem.stops_by_id[plan.visits[-1].stop_id].location
            back_m, back_s = problem.distances[last][vehicle.end], problem.durations[last][vehicle.end]
        return {
            "start_time": origin + timedelta(seconds=plan.start_time),
            "end_time": origin + timedelta(seconds=plan.end_time),
            "planned_distance_km": plan.distance / 1000,
            "planned_duration_min": plan.duration / 60,
            "planned_return_km": back_m / 1000,
            "planned_return_min": back_s / 60,
            **self._prepare_break_values(plan, origin, vehicle),
        }

    @api.depends("break_start", "break_end")
    def _compute_break_label(self):
        for route in self:
            route.break_label = route._break_label()

    def _break_label(self, until=None):
        """The planned break as HH:MM–HH:MM in the shop's time, or an empty string (also when it
        is over by ``until``)."""
        self.ensure_one()
        if not self.break_start or not self.break_end or (until and self.break_end <= until):
            return ""
        fmt = self._time_formatter()
        return f"{fmt(self.break_start)}–{fmt(self.break_end)}"

    def _prepare_break_values(self, plan, origin, vehicle):
        """The flexible break of an engine route, as planned: none when the driver has none or
        the route needs none; nothing written when the vehicle had no flexible break left to
        place (its planned time has come: taken, see :meth:`lastmile.driver._get_breaks`, or
        its time is over)."""
        flexible = {i for i, rule in enumerate(vehicle.breaks) if rule.earliest != rule.latest}
        if not flexible and self.driver_id.break_minutes:
            return {}
        taken = next((b for b in plan.breaks if b.index in flexible), None)
        if not taken:
            return {"break_start": False, "break_end": False}
        return {
            "break_start": origin + timedelta(seconds=taken.start),
            "break_end": origin + timedelta(seconds=taken.end),
        }

    def _prepare_insertion(self, tasks):
        """Where ``tasks`` go in this route, one by one at their cheapest feasible place (a task
        that fits nowhere goes last, late by its ETA), the rest of the route unchanged. Computes
        everything, writes nothing: returns the values for :meth:`_apply_insertion`."""
        self.ensure_one()
        company, day, driver = self.company_id, self.date, self.driver_id
        origin = company._lastmile_localize(day)
        current = self.task_ids.filtered(lambda t: t.state in ("assigned", "in_transit")).sorted("sequence")
        everything = (current | tasks).filtered(lambda t: has_coordinates(t.latitude, t.longitude))
        points = _Points()
        shifts = driver._get_shifts(day)
        finished = self._finished_by_driver(day, driver)
        road = self._drivers_on_the_road(driver, current, shifts, finished).get(driver)
        costs = driver._prepare_fleet_routing_costs(company)
        now_s = seconds_since(origin, fields.Datetime.now())
        vehicle = self._prepare_vehicle(
            driver,
            origin,
            now_s,
            shifts.get(driver.id) or [],
            road,
            points,
            costs,
            breaks=driver._get_breaks(day, shifts).get(driver.id) or [],
        )
        if not vehicle:
            return {}
        # a dispatch already chose this driver within their stops
        vehicle = dataclasses.replace(vehicle, max_stops=0)
        problem, groups, stop_of = self._prepare_route_problem(
            company, vehicle, everything, points, origin, priority=0
        )
        vehicle = problem.vehicles[0]
        sequence = list(dict.fromkeys(stop_of[t.id] for t in current if t in everything))
        for task in tasks.filtered(lambda t: t in everything and stop_of[t.id] not in sequence):
            found = engine.best_insertion(problem, vehicle, sequence, stop_of[task.id])
            if found:
                sequence.insert(found[0], stop_of[task.id])
            else:
                sequence.append(stop_of[task.id])
        plan = engine.schedule(
            problem, vehicle, sequence, vehicle.shift_start if vehicle.on_the_road else None
        )
        return {
            "route": self._prepare_plan_values(plan, origin, problem, vehicle),
            "tasks": {
                task.id: {
                    "route_id": self.id,
                    "sequence": position,
                    "eta": origin + timedelta(seconds=visit.start),
                }
                for position, visit in enumerate(plan.visits, 1)
                for task in groups[visit.stop_id]
            },
        }

    @api.model
    def _prepare_route_problem(self, company, vehicle, tasks, points, origin, **stop_values):
        """The engine's problem of one vehicle and located ``tasks`` (orders to one door one
        visit, see :meth:`_group_visits`; its locked deliveries as those visits), on the
        company's travel matrix of ``points``. Returns ``(problem, {stop id: tasks}, {task id:
        stop id})``."""
        stops, groups = self._group_visits(
            [
                (t, t._prepare_routing_stop(points.index([t.latitude, t.longitude]), origin, **stop_values))
                for t in tasks
            ]
        )
        (vehicle,) = self._lock_visits([vehicle], groups)
        matrix = company._lastmile_travel_matrix(points.points)
        problem = engine.Problem(
            durations=matrix.durations, distances=matrix.distances, vehicles=[vehicle], stops=stops
        )
        return problem, groups, self._stop_of(groups)

    @api.model
    def _stop_of(self, groups):
        """``{task id: stop id}`` of ``{stop id: tasks}``."""
        return {task.id: stop_id for stop_id, group in groups.items() for task in group}

    def _apply_insertion(self, values):
        self.ensure_one()
        if not values:
            return
        for task_id, task_values in values["tasks"].items():
            self.env["lastmile.delivery.task"].browse(task_id).sudo().write(task_values)
        self.write(values["route"])

    # ------------------------------------------------------------------ map and sheet

    @api.readonly
    def get_route_map_data(self):
        self.ensure_one()
        driver = self.driver_id
        stops = self._sheet_stops()
        return {
            "name": self.name,
            "start": driver.start_partner_id._lastmile_point(),
            "end": (driver.end_partner_id or driver.start_partner_id)._lastmile_point(),
            "stops": [
                {
                    "id": t.id,
                    "sequence": t.sequence,
                    "lat": t.latitude,
                    "lng": t.longitude,
                    "customer": t.partner_shipping_id.display_name,
                    "address": t.address,
                    "eta": t.eta_label or "",
                    "window": t.window_label or "",
                    "state": t.state,
                    "late_minutes": t.late_minutes,
                }
                for t in stops
                if has_coordinates(t.latitude, t.longitude)
            ],
            **self.env["res.company"]._lastmile_map_tiles(),
        }

    def _sheet_stops(self):
        self.ensure_one()
        return self.task_ids.filtered(lambda t: t.state != "cancelled").sorted(lambda t: (t.sequence, t.id))

    def _sheet_stop_groups(self):
        """The route's stops in order, each the recordset of its deliveries: orders to one door
        share a stop number (see :meth:`_group_visits`); unnumbered ones (failed, unplanned)
        stand alone."""
        groups = []
        for task in self._sheet_stops():
            if groups and task.sequence and groups[-1][0].sequence == task.sequence:
                groups[-1] |= task
            else:
                groups.append(task)
        return groups

    def _time_formatter(self):
        """A function writing a UTC datetime as HH:MM in the shop's time zone (the zone is
        looked up once: the phone's screens format a time per stop)."""
        tz = self.company_id._lastmile_tz()
        return lambda moment: pytz.utc.localize(moment).astimezone(tz).strftime("%H:%M")

    def _format_time(self, moment):
        return self._time_formatter()(moment)
