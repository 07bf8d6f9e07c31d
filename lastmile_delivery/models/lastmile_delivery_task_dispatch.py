import dataclasses

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_datetime

from ..services import dispatch as engine
from ..services import routing as routing_engine
from ..services.geo import has_coordinates
from ..tools import notification_action


class LastmileDeliveryTask(models.Model):
    """Dispatch: choosing a driver for each delivery (services/dispatch.py), the board and the
    map of a day."""

    _inherit = "lastmile.delivery.task"

    # ------------------------------------------------------------------ actions

    def action_dispatch(self):
        """Assign a driver to each selected task (RPC-friendly). Returns a notification."""
        self._check_dispatcher(self.env._("Only dispatchers can dispatch deliveries."))
        tasks = self or self.search([("state", "=", "new")])
        tasks.check_access("write")
        closed = tasks.filtered(lambda t: t.state in ("delivered", "cancelled", "in_transit"))
        if closed:
            raise UserError(
                self.env._(
                    "These deliveries are already on the way, delivered or cancelled and cannot be "
                    "dispatched: %(tasks)s. Remove them from the selection.",
                    tasks=", ".join(closed.mapped("display_name")),
                )
            )
        assigned, unassigned = tasks._dispatch()
        message = self.env._("%(assigned)s delivery(ies) assigned.", assigned=len(assigned))
        late = assigned.filtered("late_minutes")
        if late:
            message += " " + self.env._("%(count)s will be late; see their ETA.", count=len(late))
        if unassigned:
            message += " " + self.env._(
                "%(count)s could not be assigned; see “Not Dispatched Because” in the list.",
                count=len(unassigned),
            )
        return notification_action(message, "warning" if unassigned or late else "success")

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self):
        """Dispatch those to dispatch (a failed delivery goes out again), a company and a day at a
        time, each under that day's lock (dispatch and route planning of a day run one at a
        time). Every day is prepared, routing servers asked included, before anything is
        written. Returns (assigned, unassigned). Callers check rights."""
        tasks = self.filtered(lambda t: t.state == "failed" or (t.state == "new" and not t.driver_id))
        groups = tasks.grouped(lambda t: (t.company_id, t.scheduled_date))
        for company, day in groups:
            company._lastmile_check_day_lock(day)
        prepared = [
            (group.with_company(company), group.with_company(company)._prepare_dispatch_day(company, day))
            for (company, day), group in groups.items()
        ]
        assigned, unassigned = self.browse(), self.browse()
        for group, (result, drivers, insertions) in prepared:
            done, failed = group._apply_dispatch_result(result, drivers, insertions)
            assigned |= done
            unassigned |= failed
        # dispatched, or not for a reason a person must see to; those waiting for their address
        # are dispatched automatically once it is located
        tried = assigned | unassigned.filtered(lambda t: t.address_state == "ok")
        tried.sudo().filtered("dispatch_pending").dispatch_pending = False
        return assigned, unassigned

    def _prepare_dispatch_day(self, company, day):
        """(engine result, drivers, route insertions) of a day: computed, nothing written."""
        Driver = self.env["lastmile.driver"]
        drivers = Driver.search(Driver._get_on_duty_domain(company))
        result = engine.dispatch(
            self._prepare_dispatch_inputs(drivers),
            drivers._prepare_dispatch_inputs(day),
            company._lastmile_dispatch_weights(),
            company._lastmile_travel_model(),
            now=fields.Datetime.now(),
        )
        return result, drivers, self._prepare_route_insertions(result, day)

    def _prepare_route_insertions(self, result, day):
        """{route: values} for the planned routes of the day that get new deliveries: each new
        delivery at its cheapest place, the rest of the route unchanged (see lastmile.route)."""
        driver_ids = {assignment.driver_id for assignment in result.assignments}
        if not driver_ids:
            return {}
        routes = self.env["lastmile.route"].search(
            [
                ("driver_id", "in", list(driver_ids)),
                ("date", "=", day),
                ("state", "in", ["planned", "in_progress"]),
            ]
        )
        new_by_driver = {}
        for assignment in result.assignments:
            new_by_driver.setdefault(assignment.driver_id, []).append(assignment.task_id)
        return {
            route: route._prepare_insertion(self.browse(new_by_driver[route.driver_id.id]))
            for route in routes
        }

    def _prepare_dispatch_inputs(self, drivers):
        only, prefer = self.env["lastmile.dispatch.rule"]._match(self, drivers)
        inputs = []
        for task in self:
            allowed, only_names = only.get(task.id, (None, ()))
            inputs.append(
                engine.TaskInput(
                    id=task.id,
                    latitude=task.latitude,
                    longitude=task.longitude,
                    window_start=task.window_start,
                    window_end=task.window_end,
                    weight=task.weight,
                    volume=task.volume,
                    service_minutes=task.service_minutes,
                    priority=int(task.priority or 0),
                    allowed_driver_ids=allowed,
                    only_rules=only_names,
                    preferred=prefer.get(task.id, {}),
                    address_issue=task.sudo().geocode_issue or "",
                )
            )
        return inputs

    def _apply_dispatch_result(self, result, drivers, insertions):
        """Write assignments and reasons in a few batched queries, with one chatter note each."""
        by_id = {task.id: task for task in self}
        messages = []
        assigned = self.browse()
        inserted = {
            task_id: values
            for plan in insertions.values()
            for task_id, values in plan.get("tasks", {}).items()
        }
        for assignment in result.assignments:
            task = by_id[assignment.task_id]
            # the ETA of its place in a planned route, when it joins one: the reason says the same
            eta = inserted.get(task.id, {}).get("eta") or assignment.eta
            late = max((eta - task.window_end).total_seconds() / 60, 0)
            reason = self._format_assignment_reason(
                dataclasses.replace(assignment, eta=eta, late_minutes=late)
            )
            task._set_state(
                "assigned",
                driver_id=assignment.driver_id,
                sequence=assignment.sequence,
                eta=eta,
                route_id=False,  # a failed delivery given again leaves its old round
                dispatch_issue=False,
                dispatch_reason=reason,
            )
            messages.append((task, reason))
            assigned |= task
        for route, values in insertions.items():
            route._apply_insertion(values)
        drivers.browse({a.driver_id for a in result.assignments})._touch_dispatch()
        unassigned = self.browse()
        for item in result.unassigned:
            task = by_id[item.task_id]
            issue = self._format_unassigned_reason(item.reason, self.env._(item.detail, **item.params))
            if task.sudo().dispatch_issue != issue:
                task.sudo().dispatch_issue = issue
                messages.append((task, self.env._("Not dispatched: %(issue)s", issue=issue)))
            unassigned |= task
        self._log_batch(messages)
        return assigned, unassigned

    def _format_assignment_reason(self, assignment):
        parts = [
            self.env._("%(km).1f km away", km=assignment.distance_km)
            if assignment.located
            else self.env._("position unknown"),
            self._format_stops(assignment.stops_before),
        ]
        if assignment.rules:
            parts.append(self.env._("rule %(rules)s", rules=", ".join(assignment.rules)))
        if assignment.late_minutes >= 1:
            parts.append(self.env._("late by %(minutes)s min", minutes=round(assignment.late_minutes)))
        return self.env._(
            "Assigned to %(driver)s: %(why)s", driver=assignment.driver_name, why=", ".join(parts)
        )

    def _format_stops(self, stops):
        if not stops:
            return self.env._("first stop of the day")
        if stops == 1:
            return self.env._("1 stop that day")
        return self.env._("%(stops)s stops that day", stops=stops)

    @api.model
    def _format_unassigned_reason(self, reason, detail):
        """“<label>: <detail>” for a reason of the dispatch or of the routing engine (``detail``
        translated already)."""
        labels = {
            engine.REASON_ADDRESS: self.env._("Address to check"),
            engine.REASON_NO_DRIVER: self.env._("No driver on duty"),
            engine.REASON_RULE: self.env._("No rule match"),
            engine.REASON_SHIFT: self.env._("No driver on shift"),
            engine.REASON_CAPACITY: self.env._("No capacity"),
            engine.REASON_STOPS: self.env._("Too many stops"),
            routing_engine.REASON_WINDOW: self.env._("No driver on shift"),
            routing_engine.REASON_VEHICLE: self.env._("No allowed driver"),
            routing_engine.REASON_PAIR: self.env._("Pair not plannable"),
            routing_engine.REASON_DROPPED: self.env._("No room"),
            routing_engine.REASON_NO_VEHICLE: self.env._("No driver on duty"),
        }
        return f"{labels[reason]}: {detail}"

    def _log_batch(self, messages):
        """Chatter notes for many records at once (message_post costs queries per record)."""
        if messages:
            tasks = self.browse([task.id for task, _body in messages])
            tasks._message_log_batch(bodies={task.id: body for task, body in messages})

    def _prepare_routing_stop(self, location, origin, **values):
        """This delivery as a stop of the routing engine: seconds from ``origin``, its weight in
        grams and its volume in cm³ (the vehicle's capacity in the same units)."""
        self.ensure_one()
        return routing_engine.Stop(
            **{
                "id": self.id,
                "location": location,
                "demand": (round(self.weight * 1000), round(self.volume * 1_000_000)),
                "window_start": max(0, int((self.window_start - origin).total_seconds())),
                "window_end": max(0, int((self.window_end - origin).total_seconds())),
                "service": round(self.service_minutes * 60),
                "priority": int(self.priority or 0),
                **values,
            }
        )

    # ------------------------------------------------------------------ board and map

    @api.model
    def _read_group_driver_ids(self, drivers, domain):
        """On the board, every driver on duty has a column, even before their first delivery."""
        # in the drivers' order (by name), not "drivers with deliveries first"
        Driver = self.env["lastmile.driver"]
        return (drivers | Driver.search(Driver._get_on_duty_domain())).sorted()

    @api.model
    @api.readonly
    def web_read_group(self, domain, groupby, aggregates=(), limit=None, offset=0, order=None, **kwargs):
        """Open the “no driver” column of the board: it holds what is left to dispatch (Odoo
        folds empty many2one groups by default)."""
        if kwargs.get("auto_unfold") and list(groupby)[:1] == ["driver_id"]:
            opening_info = list(kwargs.get("opening_info") or [])
            if not any(info.get("value") is False for info in opening_info):
                opening_info.append({"value": False, "folded": False, "limit": 80, "offset": 0})
            kwargs["opening_info"] = opening_info
        return super().web_read_group(domain, groupby, aggregates, limit, offset, order, **kwargs)

    @api.model
    @api.readonly
    def get_map_data(self, date=None):
        """Tasks of a day and driver positions for the dispatch map (read access applies)."""
        day = fields.Date.to_date(date) if date else fields.Date.context_today(self)
        tasks = self.search([("scheduled_date", "=", day), ("state", "!=", "cancelled")])
        Driver = self.env["lastmile.driver"]
        drivers = Driver.search(Driver._get_on_duty_domain())
        located = tasks.filtered(lambda t: has_coordinates(t.latitude, t.longitude))
        return {
            "date": fields.Date.to_string(day),
            "tasks": [
                {
                    "id": t.id,
                    "name": t.name,
                    "customer": t.partner_shipping_id.display_name,
                    "address": t.address,
                    "lat": t.latitude,
                    "lng": t.longitude,
                    "state": t.state,
                    "driver_id": t.driver_id.id,
                    "route_id": t.route_id.id,
                    "sequence": t.sequence,
                    "window": t.window_label,
                    "eta": t.eta_label or "",
                    "late": t.is_late,
                    "late_minutes": t.late_minutes,
                }
                for t in located
            ],
            "unlocated": len(tasks - located),
            "drivers": [
                {
                    "id": d.id,
                    "name": d.name,
                    "color": d.color,
                    "lat": d.position_latitude,
                    "lng": d.position_longitude,
                    "last_seen": d.last_seen and format_datetime(self.env, d.last_seen, dt_format="HH:mm"),
                    "start": d.start_partner_id._lastmile_point(),
                }
                for d in drivers
            ],
            **self.env["res.company"]._lastmile_map_tiles(),
        }
