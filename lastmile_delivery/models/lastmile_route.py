import logging
import zlib
from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_datetime

from ..services import routing as engine
from ..services.geo import has_coordinates

_logger = logging.getLogger(__name__)


def seconds_since(origin, moment):
    """Whole seconds from ``origin`` to ``moment`` (never negative): the engine's time unit."""
    return max(0, int((moment - origin).total_seconds()))


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
    planned_distance_km = fields.Float(string="km", digits=(12, 1), readonly=True, help="Planned distance.")
    planned_duration_min = fields.Float(
        string="Minutes", digits=(12, 0), readonly=True, help="Planned duration."
    )
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

    @api.depends("task_ids")
    def _compute_stop_count(self):
        for route in self:
            route.stop_count = len(route.task_ids.filtered(lambda t: t.state != "cancelled"))

    @api.depends(
        "planned_distance_km", "planned_duration_min", "baseline_distance_km", "baseline_duration_min"
    )
    def _compute_savings(self):
        for route in self:
            route.saving_km = route.baseline_distance_km - route.planned_distance_km
            route.saving_min = route.baseline_duration_min - route.planned_duration_min

    # ------------------------------------------------------------------ access helpers

    def _check_dispatcher(self):
        if not self.env.su and not self.env.user.has_group("lastmile_delivery.group_lastmile_dispatcher"):
            raise AccessError(self.env._("Only dispatchers can plan routes."))

    def _lock_planning(self, company, day):
        """One planner per company and day; a second one gets a clear message."""
        key = zlib.crc32(f"lastmile.plan:{company.id}:{day}".encode())
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", 4242, key - 2**31))
        if not self.env.cr.fetchone()[0]:
            raise UserError(
                self.env._(
                    "Routes of %(day)s are being planned by someone else right now. Wait a moment and "
                    "refresh: their plan will be there.",
                    day=day,
                )
            )

    # ------------------------------------------------------------------ public API

    @api.model
    def plan_routes(self, date=None, time_limit=None):
        """Assign and sequence every open delivery of a day over the drivers on duty (the
        fleet-level plan), keeping what is already done or under way. Returns a summary."""
        self._check_dispatcher()
        day = fields.Date.to_date(date) if date else fields.Date.context_today(self)
        company = self.env.company
        self._lock_planning(company, day)
        tasks = self.env["lastmile.delivery.task"].search(
            [
                ("company_id", "=", company.id),
                ("scheduled_date", "=", day),
                ("state", "in", ["new", "assigned", "in_transit"]),
            ]
        )
        drivers = self.env["lastmile.driver"].search(
            [("company_id", "=", company.id), ("on_duty", "=", True), ("resource_calendar_id", "!=", False)]
        )
        return self._plan(company, day, tasks, drivers, time_limit)

    def action_optimize(self):
        """Re-sequence each route's own stops (same driver, same stops)."""
        self._check_dispatcher()
        summaries = []
        for route in self:
            self._lock_planning(route.company_id, route.date)
            tasks = route.task_ids.filtered(lambda t: t.state in ("assigned", "in_transit"))
            summaries.append(
                route._plan(route.company_id, route.date, tasks, route.driver_id, None, keep_driver=True)
            )
        return self._notify_summary(summaries)

    @api.model
    def action_replan(self, date=None):
        """Mid-day: stops done or under way stay; new deliveries are inserted; started routes keep
        their stops."""
        return self._notify_summary([self.plan_routes(date)])

    def _notify_summary(self, summaries):
        planned = sum(s["planned"] for s in summaries)
        unserved = sum(len(s["unserved"]) for s in summaries)
        message = self.env._("%(planned)s stop(s) planned.", planned=planned)
        if unserved:
            message += " " + self.env._(
                "%(count)s could not be planned; the reasons are on the deliveries.", count=unserved
            )
        warnings = {s["warning"] for s in summaries if s.get("warning")}
        if warnings:
            message += " " + " ".join(warnings)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "warning" if unserved or warnings else "success",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------ planning

    def _day_origin(self, company, day):
        """Midnight of ``day`` in the shop's time zone, as naive UTC: time 0 of the plan."""
        tz = company._lastmile_tz()
        return tz.localize(datetime.combine(day, time.min)).astimezone(pytz.utc).replace(tzinfo=None)

    def _plan(self, company, day, tasks, drivers, time_limit, keep_driver=False):
        origin = self._day_origin(company, day)
        now_s = seconds_since(origin, fields.Datetime.now())
        shifts = drivers._get_shifts(day)
        done_today = self.env["lastmile.delivery.task"].search(
            [
                ("driver_id", "in", drivers.ids),
                ("scheduled_date", "=", day),
                ("state", "in", ["delivered", "failed"]),
            ],
            order="date_delivered desc, id desc",
        )
        last_done = {driver: done[:1] for driver, done in done_today.grouped("driver_id").items()}
        located = tasks.filtered(lambda t: has_coordinates(t.latitude, t.longitude))
        unserved = [
            (task, self.env._("Address to check: the delivery has no coordinates."))
            for task in tasks - located
        ]
        in_transit = located.filtered(lambda t: t.state == "in_transit").grouped("driver_id")
        # points of the matrix: drivers' starts and ends, then the deliveries
        points, index = [], {}

        def point(lat, lon):
            key = (round(lat, 6), round(lon, 6))
            if key not in index:
                index[key] = len(points)
                points.append(key)
            return index[key]

        vehicles, started_drivers = [], set()
        for driver in drivers:
            intervals = shifts.get(driver.id) or []
            if not intervals:
                continue
            shift_start, shift_end = (
                seconds_since(origin, intervals[0][0]),
                seconds_since(origin, intervals[-1][1]),
            )
            under_way = in_transit.get(driver, located.browse())
            on_road = bool(under_way) or driver in last_done
            if on_road and now_s < shift_end:
                started_drivers.add(driver.id)
                last = last_done.get(driver)
                if driver.last_seen and has_coordinates(driver.current_latitude, driver.current_longitude):
                    start = point(driver.current_latitude, driver.current_longitude)
                elif last and has_coordinates(last.latitude, last.longitude):
                    start = point(last.latitude, last.longitude)
                else:
                    start = point(driver.position_latitude, driver.position_longitude)
                shift_start = max(shift_start, now_s)
            else:
                start_partner = driver.start_partner_id
                if not has_coordinates(start_partner.partner_latitude, start_partner.partner_longitude):
                    continue
                start = point(start_partner.partner_latitude, start_partner.partner_longitude)
            end_partner = driver.end_partner_id or driver.start_partner_id
            end = (
                point(end_partner.partner_latitude, end_partner.partner_longitude)
                if has_coordinates(end_partner.partner_latitude, end_partner.partner_longitude)
                else None
            )
            vehicles.append(
                driver._prepare_routing_vehicle(
                    start,
                    end,
                    shift_start,
                    shift_end,
                    locked=tuple(under_way.sorted("sequence").ids) if on_road else (),
                    fixed_start=driver.id in started_drivers,
                )
            )
        vehicle_ids = {v.id for v in vehicles}
        only_rules, _prefer = self.env["lastmile.dispatch.rule"]._match(located, drivers)
        stops = []
        for task in located:
            pinned = None
            if (
                keep_driver
                or task.driver_pinned
                or task.state == "in_transit"
                or task.driver_id.id in started_drivers
            ):
                pinned = task.driver_id.id or None
            allowed, _names = only_rules.get(task.id, (None, ()))
            stops.append(
                task._prepare_routing_stop(
                    point(task.latitude, task.longitude),
                    origin,
                    vehicle_id=pinned,
                    vehicle_ids=tuple(allowed & vehicle_ids)
                    if allowed is not None and pinned is None
                    else None,
                )
            )
        matrix = company._lastmile_travel_matrix(points) if stops and vehicles else None
        problem = engine.Problem(
            durations=matrix.durations.tolist() if matrix else [],
            distances=matrix.distances.tolist() if matrix else [],
            vehicles=vehicles,
            stops=stops,
            time_limit=time_limit or company.lastmile_plan_time_limit or 10,
            seed=1,
        )
        if matrix:
            solution = engine.solve(problem)
        else:
            solution = engine.Solution(engine="none")
            solution.unserved = [
                engine.Unserved(s.id, engine.REASON_NO_VEHICLE, "no driver on duty works that day")
                for s in stops
            ]
        return self._apply_plan(company, day, origin, located, drivers, problem, solution, matrix, unserved)

    def _apply_plan(self, company, day, origin, tasks, drivers, problem, solution, matrix, unserved):
        by_id = {t.id: t for t in tasks}
        drivers_by_id = {d.id: d for d in drivers}
        vehicles_by_id = {v.id: v for v in problem.vehicles}
        routes = {r.driver_id: r for r in self.search([("driver_id", "in", drivers.ids), ("date", "=", day)])}
        warning = matrix.warning if matrix else ""
        planned = 0
        touched = self.browse()
        for plan in solution.routes:
            driver = drivers_by_id[plan.vehicle_id]
            route = routes.get(driver) or self.create(
                {"driver_id": driver.id, "date": day, "company_id": company.id}
            )
            routes[driver] = route
            touched |= route
            # the naive baseline: the same stops in order of entry
            entry_order = sorted(
                (v.stop_id for v in plan.visits), key=lambda sid: (by_id[sid].create_date, sid)
            )
            baseline = engine.schedule(problem, vehicles_by_id[plan.vehicle_id], entry_order)
            route.write(
                {
                    **route._prepare_plan_values(plan, origin),
                    "baseline_distance_km": baseline.distance / 1000,
                    "baseline_duration_min": baseline.duration / 60,
                    "baseline_late_count": sum(1 for visit in baseline.visits if visit.late),
                    "engine": solution.engine,
                    "matrix_provider": matrix.provider,
                    "plan_warning": warning or False,
                }
            )
            for position, visit in enumerate(plan.visits, 1):
                task = by_id[visit.stop_id]
                values = {
                    "route_id": route.id,
                    "sequence": position,
                    "eta": origin + timedelta(seconds=visit.start),
                    "dispatch_issue": False,
                }
                if task.driver_id != driver:
                    values.update(
                        driver_id=driver.id,
                        dispatch_reason=self.env._("Planned on the route of %(driver)s", driver=driver.name),
                    )
                if task.state == "new":
                    values["state"] = "assigned"
                task.with_context(lastmile_planning=True).write(values)
                planned += 1
            if route.state == "draft":
                route.state = "planned"
        reasons = {
            engine.REASON_CAPACITY: self.env._("No capacity"),
            engine.REASON_WINDOW: self.env._("No driver on shift"),
            engine.REASON_VEHICLE: self.env._("No rule match"),
            engine.REASON_PAIR: self.env._("Not plannable"),
            engine.REASON_DROPPED: self.env._("Not plannable"),
            engine.REASON_NO_VEHICLE: self.env._("No driver on duty"),
        }
        biggest = max(drivers.mapped("capacity_weight") or [0])
        for item in solution.unserved:
            task = by_id[item.stop_id]
            detail = item.detail
            if item.reason == engine.REASON_CAPACITY:
                detail = self.env._(
                    "it weighs %(weight).1f kg, more than any vehicle on duty carries (%(biggest).1f kg)",
                    weight=task.weight,
                    biggest=biggest,
                )
            unserved.append((task, f"{reasons[item.reason]}: {detail}"))
        out = []
        for task, reason in unserved:
            values = {"dispatch_issue": reason, "route_id": False, "sequence": 0, "eta": False}
            if task.state == "assigned" and not task.driver_pinned:
                values.update(driver_id=False, state="new", dispatch_reason=False)
            task.with_context(lastmile_planning=True).write(values)
            out.append({"task": task.display_name, "reason": reason})
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
            route.message_post(
                body=self.env._(
                    "Planned: %(stops)s stops, %(km).1f km, %(min).0f min (in order of entry: %(bkm).1f km, "
                    "%(bmin).0f min).",
                    stops=route.stop_count,
                    km=route.planned_distance_km,
                    min=route.planned_duration_min,
                    bkm=route.baseline_distance_km,
                    bmin=route.baseline_duration_min,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return {
            "date": fields.Date.to_string(day),
            "routes": len(touched),
            "planned": planned,
            "unserved": out,
            "engine": solution.engine,
            "seconds": round(solution.seconds, 2),
            "warning": warning,
        }

    def _prepare_plan_values(self, plan, origin):
        """Planned totals of an engine route, for this record."""
        return {
            "start_time": origin + timedelta(seconds=plan.start_time),
            "end_time": origin + timedelta(seconds=plan.end_time),
            "planned_distance_km": plan.distance / 1000,
            "planned_duration_min": plan.duration / 60,
        }

    def _insert_tasks(self, tasks):
        """Insert ``tasks`` one by one at their cheapest feasible place; a task that fits nowhere
        goes last, flagged late by its ETA."""
        self.ensure_one()
        company, day = self.company_id, self.date
        origin = self._day_origin(company, day)
        driver = self.driver_id
        current = self.task_ids.filtered(lambda t: t.state in ("assigned", "in_transit")).sorted("sequence")
        everything = (current | tasks).filtered(lambda t: has_coordinates(t.latitude, t.longitude))
        start = driver.start_partner_id
        end = driver.end_partner_id or start
        if not has_coordinates(start.partner_latitude, start.partner_longitude):
            return
        points = [
            (start.partner_latitude, start.partner_longitude),
            (end.partner_latitude, end.partner_longitude),
        ]
        points += [(t.latitude, t.longitude) for t in everything]
        location = {t.id: i + 2 for i, t in enumerate(everything)}
        matrix = company._lastmile_travel_matrix(points)
        shifts = driver._get_shifts(day).get(driver.id) or []
        shift_start = seconds_since(origin, shifts[0][0]) if shifts else 0
        if shifts and self.state == "in_progress":
            shift_start = max(shift_start, seconds_since(origin, fields.Datetime.now()))
        vehicle = driver._prepare_routing_vehicle(
            0,
            1 if has_coordinates(end.partner_latitude, end.partner_longitude) else None,
            shift_start,
            seconds_since(origin, shifts[-1][1]) if shifts else engine.HORIZON,
            locked=tuple(current.filtered(lambda t: t.state == "in_transit").ids),
            max_stops=0,  # a dispatch already chose this driver within their stops
        )
        problem = engine.Problem(
            durations=matrix.durations.tolist(),
            distances=matrix.distances.tolist(),
            vehicles=[vehicle],
            stops=[t._prepare_routing_stop(location[t.id], origin, priority=0) for t in everything],
        )
        sequence = [t.id for t in current if t.id in location]
        for task in tasks.filtered(lambda t: t.id in location and t.id not in sequence):
            found = engine.best_insertion(problem, vehicle, sequence, task.id)
            if found:
                sequence.insert(found[0], task.id)
            else:
                sequence.append(task.id)
        plan = engine.schedule(
            problem, vehicle, sequence, vehicle.shift_start if vehicle.on_the_road else None
        )
        by_id = {t.id: t for t in everything}
        for position, visit in enumerate(plan.visits, 1):
            by_id[visit.stop_id].with_context(lastmile_planning=True).write(
                {"route_id": self.id, "sequence": position, "eta": origin + timedelta(seconds=visit.start)}
            )
        self.write(self._prepare_plan_values(plan, origin))

    # ------------------------------------------------------------------ map and sheet

    def get_route_map_data(self):
        self.ensure_one()
        driver = self.driver_id
        start = driver.start_partner_id
        end = driver.end_partner_id or start
        stops = self.task_ids.filtered(lambda t: t.state != "cancelled").sorted("sequence")
        return {
            "name": self.name,
            "start": [start.partner_latitude, start.partner_longitude]
            if has_coordinates(start.partner_latitude, start.partner_longitude)
            else None,
            "end": [end.partner_latitude, end.partner_longitude]
            if has_coordinates(end.partner_latitude, end.partner_longitude)
            else None,
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
                }
                for t in stops
                if has_coordinates(t.latitude, t.longitude)
            ],
            **self.env["res.company"]._lastmile_map_tiles(),
        }

    def _sheet_stops(self):
        self.ensure_one()
        return self.task_ids.filtered(lambda t: t.state != "cancelled").sorted("sequence")

    def _format_time(self, moment):
        return format_datetime(self.env, moment, tz=self.company_id._lastmile_tz().zone, dt_format="HH:mm")
