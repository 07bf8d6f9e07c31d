import base64
import uuid
from datetime import timedelta
from urllib.parse import quote

from odoo import api, fields, models
from odoo.addons.lastmile_delivery.models.lastmile_route import _Points, seconds_since
from odoo.addons.lastmile_delivery.services import routing as engine
from odoo.addons.lastmile_delivery.services.geo import EARTH_RADIUS_KM, has_coordinates, point
from odoo.addons.lastmile_delivery.tools import trusted
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, file_open

from .lastmile_delivery_task import PROOF_REQUIREMENTS

OPEN_STATES = ("assigned", "in_transit")
# the strictest requirement of a stop's deliveries wins
PROOF_RANK = {code: rank for rank, (code, _label) in enumerate(PROOF_REQUIREMENTS)}
# live ETAs are computed again at most this often per route (seconds)
ETA_REFRESH_SECONDS = 60
# the distance driven leaves out fixes of the phone less precise than this (metres)
DRIVEN_MAX_ACCURACY = 100


class LastmileRoute(models.Model):
    _inherit = "lastmile.route"

    date_started = fields.Datetime(string="Started", readonly=True, copy=False)
    eta_refreshed_at = fields.Datetime(readonly=True, copy=False)
    position_ids = fields.One2many("lastmile.driver.position", "route_id", string="Positions", readonly=True)
    proof_ids = fields.One2many("lastmile.delivery.proof", "route_id", string="Proofs", readonly=True)
    vehicle_name = fields.Char(
        string="Vehicle", readonly=True, copy=False, help="The driver's vehicle when the route started."
    )
    can_take_break = fields.Boolean(
        compute="_compute_can_take_break", help="The driver may start the flexible break now (Break Now)."
    )
    break_reported = fields.Boolean(
        string="Break Reported",
        readonly=True,
        copy=False,
        help="The driver started the flexible break from My Route (or a dispatcher for them), at Break "
        "Starts: plans and ETAs keep it there.",
    )
    driven_distance_km = fields.Float(
        string="Driven (km)",
        digits=(12, 1),
        readonly=True,
        copy=False,
        help="Along the positions the driver's phone sent from the start of the route to its last stop.",
    )

    # ------------------------------------------------------------------ who

    def _check_own_route(self):
        """The route's driver, or a dispatcher of its company."""
        # said in plain words (the record rules would refuse a driver in Odoo's generic ones)
        foreign = self.sudo().filtered(lambda r: r.driver_id.user_id != self.env.user)
        if foreign and not self.env["lastmile.delivery.task"]._is_dispatcher():
            raise AccessError(self.env._("This is not your route."))
        self.check_access("read")

    # ------------------------------------------------------------------ start

    def action_start_route(self):
        """The driver leaves with the goods: the route is in progress, its deliveries on the
        way, and the ETAs of the plan are kept to compare with the arrivals."""
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        self._check_own_route()
        for route in self:
            if route.date > route.company_id._lastmile_date_of(fields.Datetime.now()):
                raise UserError(
                    self.env._("%(route)s is planned for a later day: start it that day.", route=route.name)
                )
            open_ = route.task_ids.filtered(lambda t: t.state in OPEN_STATES)
            if route.state == "done" or not open_:
                raise UserError(self.env._("%(route)s has no delivery left to start.", route=route.name))
            to_start = open_.filtered(lambda t: t.state == "assigned")
            not_ready = to_start.filtered(
                lambda t: (
                    t.sudo().picking_id
                    and t.sudo().picking_id.state not in ("done", "cancel")
                    and not t.sudo().picking_id._lastmile_is_reserved()
                )
            )
            if not_ready:
                raise UserError(
                    self.env._(
                        "These deliveries are not ready in the warehouse: %(tasks)s. Ask the dispatcher to "
                        "take them off your route, or wait until the warehouse has reserved them.",
                        tasks=", ".join(not_ready.mapped("display_name")),
                    )
                )
            for task in to_start:
                task._set_state("in_transit", eta_planned=task.eta)
            route.sudo().write(
                {
                    "state": "in_progress",
                    "date_started": route.date_started or fields.Datetime.now(),
                    "vehicle_name": route.vehicle_name or route.driver_id.vehicle_name,
                }
            )
            route._message_log(body=self.env._("Route started by %(user)s.", user=self.env.user.name))
        return True

    # ------------------------------------------------------------------ break

    def action_take_break(self):
        """The driver starts the flexible break now (Break on the driver), earlier than the plan
        put it, when the round allows it: within the break's time (the planner's window) on the
        route of the day under way, once, and not once the planned break has begun (from then
        it counts as taken as planned). The ETAs of the stops left are refreshed after it in
        the background, from the phone's last position."""
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        self.ensure_one()
        self._check_own_route()
        now = fields.Datetime.now()
        refusal = self._take_break_refusal(now)
        if refusal:
            raise UserError(refusal)
        planned = self._break_label()
        end = now + timedelta(minutes=self.driver_id.break_minutes)
        # the ETAs follow at the next refresh, from any position sent since the start
        self.sudo().write(
            {"break_start": now, "break_end": end, "break_reported": True, "eta_refreshed_at": False}
        )
        values = {"time": self._break_label(), "user": self.env.user.name, "planned": planned}
        self._message_log(
            body=self.env._(
                "Break %(time)s reported by %(user)s, instead of %(planned)s as planned.", **values
            )
            if planned
            else self.env._("Break %(time)s reported by %(user)s.", **values)
        )
        self.env.ref("lastmile_delivery_pod.ir_cron_refresh_etas").sudo()._trigger()
        return True

    def _compute_can_take_break(self):
        now = fields.Datetime.now()
        for route in self:
            route.can_take_break = not route._take_break_refusal(now)

    def _take_break_refusal(self, now):
        """Why the driver cannot start the break at ``now`` (see :meth:`action_take_break`),
        or an empty string."""
        driver = self.driver_id
        if not driver.break_minutes:
            return self.env._("No break is set for %(driver)s: ask your manager.", driver=driver.name)
        if self.break_reported and self.break_start:  # (a plan clears it when the break is unset)
            return self.env._("Your break is already recorded: %(time)s.", time=self._break_label())
        if self.date != self.company_id._lastmile_date_of(now):
            return self.env._("%(route)s is not today's route.", route=self.name)
        if self.state == "done":
            return self.env._("%(route)s is done: there is no break left to take on it.", route=self.name)
        # in progress once a delivery is validated or failed in the back office: not yet left
        if self.state != "in_progress" or not self.date_started:
            return self.env._("Start your route first: the break is taken on the way.")
        if self.break_start and self.break_start <= now:
            return self.env._(
                "Your break as planned (%(time)s) has begun: it counts as taken.", time=self._break_label()
            )
        opens, closes = driver._break_window(self.date)
        latest = closes - timedelta(minutes=driver.break_minutes)
        if not opens <= now <= latest:
            return self.env._(
                "Your break starts between %(opens)s and %(latest)s, not now.",
                opens=self._format_time(opens),
                latest=self._format_time(latest),
            )
        return ""

    # ------------------------------------------------------------------ the phone

    @api.model
    def get_driver_day(self):
        """Today's route of the driver who asks, ready for the phone (a fixed number of queries
        whatever the number of stops), or ``{"route": False}`` when there is none."""
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        driver = self.env["lastmile.driver"].search([("user_id", "=", self.env.uid)], limit=1)
        company = driver.company_id or self.env.company
        today = company._lastmile_date_of(fields.Datetime.now())
        route = (
            self.search([("driver_id", "=", driver.id), ("date", "=", today)], limit=1) if driver else self
        )
        data = {
            "route": False,
            "driver": driver.name or self.env.user.name,
            "date": fields.Date.to_string(today),
            "settings": {
                "position_interval": company.lastmile_pod_position_interval or 30,
                "warn_out_of_order": company.lastmile_pod_warn_out_of_order,
                "max_image_mb": company.lastmile_pod_max_image_mb or 10,
            },
            "reasons": [
                {"id": r.id, "name": r.name, "photo_required": r.photo_required, "outcome": r.outcome}
                for r in self.env["lastmile.failure.reason"].search(
                    [("company_id", "in", [False, company.id])]
                )
            ],
        }
        if route:
            data.update(route._prepare_driver_day())
        return data

    def _driver_day_groups(self):
        """The stops of the route sheet, where deliveries reported together (one proof) are one
        stop again: failed deliveries lose their stop number, not their door."""
        groups, by_proof = [], {}
        for group in self._sheet_stop_groups():
            proof = group.proof_id
            if len(proof) == 1 and proof in by_proof:
                groups[by_proof[proof]] |= group
                continue
            if len(proof) == 1:
                by_proof[proof] = len(groups)
            groups.append(group)
        return groups

    def _prepare_driver_day(self):
        self.ensure_one()
        fmt = self._time_formatter()
        stops = []
        for group in self._driver_day_groups():
            first = group[0]
            states = set(group.mapped("state"))
            done = states <= {"delivered", "failed", "cancelled"}
            lat, lon = first.latitude, first.longitude
            label = quote(first.partner_shipping_id.display_name or "")
            located = has_coordinates(lat, lon)
            stops.append(
                {
                    "key": "-".join(str(i) for i in group.ids),
                    "number": first.sequence,
                    "driven": first.driven_sequence,
                    "task_ids": group.ids,
                    "state": "delivered" if states == {"delivered"} else "failed" if done else first.state,
                    "done": done,
                    "eta": fmt(first.eta) if first.eta else "",
                    "window": "–".join(
                        (fmt(max(group.mapped("window_start"))), fmt(min(group.mapped("window_end"))))
                    ),
                    "late_minutes": max(group.mapped("late_minutes")),
                    "customer": first.partner_shipping_id.name or first.partner_id.name,
                    "address": first.address,
                    "phone": first.phone or "",
                    "instructions": "\n".join(
                        filter(
                            None,
                            dict.fromkeys(group.mapped("instructions") + group.mapped("customer_message")),
                        )
                    ),
                    "arrived": bool(first.date_arrived),
                    "proof_required": max(group.mapped("proof_required"), key=PROOF_RANK.get),
                    "navigation": {
                        "geo": f"geo:{lat},{lon}?q={lat},{lon}({label})" if located else "",
                        "google": f"https://www.google.com/maps/dir/?api=1&destination={lat},{lon}"
                        if located
                        else "",
                        "waze": f"https://waze.com/ul?ll={lat},{lon}&navigate=yes" if located else "",
                    },
                    "deliveries": [
                        {
                            "id": task.id,
                            "name": task.name,
                            # the order's reference, not the order (drivers have no sales rights)
                            "order": task.sudo().sale_order_id.name or "",
                            "state": task.state,
                            "attempt": task.attempt,
                            "failure_reason": task.failure_reason_id.name or "",
                            "lines": task._prepare_driver_lines(),
                        }
                        for task in group
                    ],
                }
            )
        open_stops = sorted(
            (s for s in stops if not s["done"]), key=lambda s: (s["number"] or 10**6, s["key"])
        )
        done_stops = sorted((s for s in stops if s["done"]), key=lambda s: s["driven"] or s["number"])
        return {
            "route": {
                "id": self.id,
                "name": self.name,
                "state": self.state,
                # started by the driver (a delivery validated in the warehouse or failed by the
                # dispatcher puts the route in progress, not its other deliveries on the way)
                "started": bool(self.date_started),
                "to_start": len(self.task_ids.filtered(lambda t: t.state == "assigned")),
                "stops_done": len(done_stops),
                "stops_left": len(open_stops),
                "back_at": fmt(self.end_time) if self.end_time else "",
                **self._prepare_driver_break(fields.Datetime.now()),
                "vehicle": self.driver_id.vehicle_name or "",
            },
            "stops": open_stops + done_stops,
        }

    def action_post_position(self, values):
        """The phone's position on a route in progress: kept, and the live ETAs of the stops
        left follow from it (computed after the commit, at most every minute). Answers the ETAs
        as they are now."""
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        self.ensure_one()
        self.check_access("read")
        if self.driver_id.user_id != self.env.user:
            raise AccessError(self.env._("Only the route's driver sends its position."))
        if self.state != "in_progress":
            raise UserError(self.env._("The route is not in progress: start it first."))
        Task = self.env["lastmile.delivery.task"]
        position = Task._lastmile_parse_position(values, required=True)
        lat, lon, accuracy = position["latitude"], position["longitude"], position["accuracy"]
        moment = Task._lastmile_parse_moment(values.get("timestamp"))
        now = fields.Datetime.now()
        self.env["lastmile.driver.position"].sudo().create(
            {
                "driver_id": self.driver_id.id,
                "route_id": self.id,
                "company_id": self.company_id.id,
                "recorded_at": moment,
                "latitude": lat,
                "longitude": lon,
                "accuracy": accuracy,
            }
        )
        self.driver_id.invalidate_recordset(["current_latitude", "current_longitude", "last_seen"])
        # nothing is written on the route here: plannings lock its row (see _cron_refresh_etas)
        if not self.eta_refreshed_at or self.eta_refreshed_at < now - timedelta(seconds=ETA_REFRESH_SECONDS):
            self.env.ref("lastmile_delivery_pod.ir_cron_refresh_etas").sudo()._trigger()
        tasks = self.task_ids.filtered(lambda t: t.state in OPEN_STATES)
        fmt = self._time_formatter()
        return {
            "etas": {task.id: fmt(task.eta) if task.eta else "" for task in tasks},
            "back_at": fmt(self.end_time) if self.end_time else "",
            **self._prepare_driver_break(now),
        }

    def _prepare_driver_break(self, now):
        """The break on My Route: when (until it is over), whether the driver is on it, and
        whether the driver may start it now (see :meth:`action_take_break`)."""
        return {
            "break_at": self._break_label(until=now),
            # as reported by the driver (a break as planned is only assumed taken)
            "on_break": bool(
                self.break_reported
                and self.break_start
                and self.break_end
                and self.break_start <= now < self.break_end
            ),
            "break_until": self._format_time(self.break_end) if self.break_end else "",
            "break_minutes": self.driver_id.break_minutes,
            "can_take_break": not self._take_break_refusal(now),
        }

    # ------------------------------------------------------------------ live ETAs

    @api.model
    def _cron_refresh_etas(self):
        """Live ETAs of the routes in progress whose driver sent a position since their last
        refresh (at most once a minute each), one route at a time, each committed."""
        now = fields.Datetime.now()
        self.flush_model(["state", "eta_refreshed_at", "date_started"])
        self.env["lastmile.driver.position"].flush_model(["route_id", "recorded_at"])
        self.env.cr.execute(
            SQL(
                """SELECT r.id FROM lastmile_route r
                    WHERE r.state = 'in_progress'
                      AND (r.eta_refreshed_at IS NULL OR r.eta_refreshed_at < %s)
                      AND EXISTS (SELECT 1 FROM lastmile_driver_position p
                                   WHERE p.route_id = r.id
                                     AND p.recorded_at >= COALESCE(r.eta_refreshed_at, r.date_started))
                    ORDER BY r.eta_refreshed_at NULLS FIRST, r.id
                    LIMIT 200""",
                now - timedelta(seconds=ETA_REFRESH_SECONDS),
            )
        )
        routes = self.browse(row[0] for row in self.env.cr.fetchall())
        Cron = self.env["ir.cron"]
        for route in routes:
            route._lastmile_refresh_etas()
            Cron._commit_progress(1)

    def _lastmile_refresh_etas(self):
        """ETAs of the stops left from where the driver is now, in the order of the route: the
        engine's schedule (travel times of the shop's provider, service times, waiting for
        windows), not a straight line."""
        now = fields.Datetime.now()
        breaks = {}  # the drivers' breaks of each day: breaks left from now hold the ETAs
        for day, routes in self.grouped("date").items():
            breaks[day] = routes.driver_id._get_breaks(day)
        for route in self:
            driver = route.driver_id
            here = driver.last_seen and point(driver.current_latitude, driver.current_longitude)
            tasks = route.task_ids.filtered(
                lambda t: t.state in OPEN_STATES and has_coordinates(t.latitude, t.longitude)
            ).sorted(lambda t: (t.sequence, t.id))
            values = {"eta_refreshed_at": now}
            if here and tasks:
                company = route.company_id
                origin = company._lastmile_localize(route.date)
                points = _Points()
                start = points.index(here)
                end_point = (driver.end_partner_id or driver.start_partner_id)._lastmile_point()
                now_s = seconds_since(origin, now)
                vehicle = driver._prepare_routing_vehicle(
                    start,
                    points.index(end_point) if end_point else None,
                    now_s,
                    now_s,
                    {driver.id: (1, 0)},
                    fixed_start=True,
                    breaks=self._prepare_breaks(origin, now_s, breaks[route.date].get(driver.id) or []),
                )
                problem, groups, stop_of = self._prepare_route_problem(
                    company, vehicle, tasks, points, origin
                )
                plan = engine.schedule(
                    problem, vehicle, list(dict.fromkeys(stop_of[t.id] for t in tasks)), now_s
                )
                for visit in plan.visits:
                    eta = origin + timedelta(seconds=visit.start)
                    groups[visit.stop_id].filtered(lambda t, eta=eta: t.eta != eta).sudo().write({"eta": eta})
                values["end_time"] = origin + timedelta(seconds=plan.end_time)
                values.update(route._prepare_break_values(plan, origin, vehicle))
                tasks._lastmile_notify_nearby_by_eta()
            route.sudo().write(values)
        self._lastmile_update_driven_distance()

    # ------------------------------------------------------------------ as driven

    def _lastmile_update_driven_distance(self):
        """The distance driven on these routes: from fix to fix of the phone (the positions it
        sent and the places of its proofs, in the order they were taken), fixes less precise
        than ``DRIVEN_MAX_ACCURACY`` metres left out, and moves shorter than the precision of
        their fixes (the phone's jitter while parked) too. Kept on the route: positions are
        deleted after a while, the reports are not."""
        if not self:
            return
        self.env["lastmile.driver.position"].flush_model()
        self.env["lastmile.delivery.proof"].flush_model()
        self.env.cr.execute(
            SQL(
                """WITH fixes AS (
                        SELECT route_id, recorded_at AS moment, id, latitude, longitude,
                               COALESCE(accuracy, 0) AS accuracy
                          FROM lastmile_driver_position
                         WHERE route_id IN %(routes)s AND COALESCE(accuracy, 0) <= %(accuracy)s
                         UNION ALL
                        SELECT route_id, captured_at, -id, latitude, longitude, COALESCE(accuracy, 0)
                          FROM lastmile_delivery_proof
                         WHERE route_id IN %(routes)s AND has_position
                           AND COALESCE(accuracy, 0) <= %(accuracy)s
                   ), legs AS (
                        SELECT route_id, latitude, longitude, accuracy,
                               LAG(latitude) OVER w AS lat0, LAG(longitude) OVER w AS lon0,
                               LAG(accuracy) OVER w AS accuracy0
                          FROM fixes WINDOW w AS (PARTITION BY route_id ORDER BY moment, id)
                   ), moves AS (
                        SELECT route_id, GREATEST(accuracy, accuracy0) / 1000 AS precision_km,
                               2 * %(radius)s * ASIN(LEAST(1.0, SQRT(
                                   POWER(SIN(RADIANS(latitude - lat0) / 2), 2)
                                   + COS(RADIANS(lat0)) * COS(RADIANS(latitude))
                                     * POWER(SIN(RADIANS(longitude - lon0) / 2), 2)))) AS km
                          FROM legs WHERE lat0 IS NOT NULL
                   )
                   SELECT route_id, SUM(km) FROM moves WHERE km > precision_km GROUP BY route_id""",
                routes=tuple(self.ids),
                accuracy=DRIVEN_MAX_ACCURACY,
                radius=EARTH_RADIUS_KM,
            )
        )
        driven = dict(self.env.cr.fetchall())
        for route in self:
            km = round(driven.get(route.id) or 0.0, 3)
            if route.driven_distance_km != km:
                route.sudo().driven_distance_km = km

    # ------------------------------------------------------------------ demo

    @api.model
    def _lastmile_demo_drive_today(self, days):
        """Demo data: today's planned routes (which drivers have one depends on the time the
        demo is made: plans start from now), in the order of their drivers' names, are run
        from the phone as ``days`` say, one ``(delivered, failure reason xml id or False,
        signature)`` per route; the routes after them are left to start."""
        company = self.env.company
        routes = self.search(
            [
                ("company_id", "=", company.id),
                ("date", "=", company._lastmile_date_of(fields.Datetime.now())),
                ("state", "=", "planned"),
                ("driver_id.user_id", "!=", False),
            ]
        ).sorted(lambda r: r.driver_id.name)
        for route, (delivered, reason, signature) in zip(routes, days, strict=False):
            reason = self.env.ref(reason) if reason else self.env["lastmile.failure.reason"]
            route._lastmile_demo_drive(delivered, reason, signature)
        self._lastmile_demo_customers(routes[: len(days)], routes[len(days) :])

    @api.model
    def _lastmile_demo_customers(self, driven, waiting):
        """Demo data: the customers' side of today. The first delivery of each driven route is
        rated from its tracking page (5 stars, then 2, which gives the manager an activity); a
        customer of a route still to start writes instructions for the driver; the messages
        the day's moments queued are prepared (SMS in Odoo's queue, emails in the mail queue,
        both in the deliveries' chatter), as the notification job does after the commit."""
        ratings = [
            (5, self.env._("Friendly driver, right on time.")),
            (2, self.env._("Late, and the box was dented.")),
        ]
        for route, (stars, comment) in zip(driven, ratings, strict=False):
            first = route.task_ids.filtered(lambda t: t.state == "delivered").sorted("date_delivered")[:1]
            if first:
                first.sudo()._lastmile_portal_rate(stars, comment)
        later = waiting[:1].task_ids.filtered(lambda t: t.state == "assigned").sorted("sequence")[:1]
        if later:
            later.sudo()._lastmile_portal_set_instructions(
                self.env._("Gate code 4521, second floor on the left.")
            )
        self._lastmile_demo_send_messages()

    @api.model
    def _lastmile_demo_send_messages(self):
        """Demo data: what the notification job does seconds after each moment."""
        Task = self.env["lastmile.delivery.task"].sudo()
        for task in Task.search([("notification_pending", "=", True)], order="id"):
            task._lastmile_send_notifications()

    @api.model
    def _lastmile_demo_picture(self, name):
        """Demo data: a picture of lastmile_delivery_pod/demo, as the phone sends it."""
        with file_open(f"lastmile_delivery_pod/demo/{name}", "rb") as file:
            return base64.b64encode(file.read()).decode()

    @api.model
    def _prepare_demo_proof(self, tasks, moment, accuracy, reason=None):
        """Demo data: what the phone sends for the stop of ``tasks`` at ``moment`` (naive UTC): a
        photo at the door, and the customer's first name, or the failure's ``reason``."""
        first = tasks[0]
        values = {
            "key": uuid.uuid4().hex,
            "kind": "failed" if reason else "delivered",
            "captured_at": moment.isoformat() + "Z",
            "latitude": first.latitude + 0.00004,
            "longitude": first.longitude - 0.00003,
            "accuracy": accuracy,
            "photos": [
                self._lastmile_demo_picture("proof_door_closed.jpg" if reason else "proof_door_parcel.jpg")
            ],
        }
        if reason:
            values["failure_reason_id"] = reason.id
        else:
            values["recipient_name"] = (first.partner_shipping_id.name or "").split(" ")[0]
        return values

    def _lastmile_demo_drive(self, delivered, reason, signature):
        """Demo data: the driver's phone runs the start of this route through the driver's own
        actions: start the route, deliver the first ``delivered`` stops (a photo at the door,
        and the customer's signature when ``signature``), then report the next one failed for
        ``reason`` (with a photo when the reason needs one), and send the driver's position."""
        route = self.with_user(self.driver_id.user_id)
        route.action_start_route()
        self._lastmile_demo_send_messages()  # “out for delivery”, before the stops are reported
        stops = route._sheet_stop_groups()[: delivered + bool(reason)]
        now = fields.Datetime.now()
        # the phone reported these stops over the last hour, one every ten minutes
        route.sudo().date_started = now - timedelta(minutes=10 * (len(stops) + 1))
        for index, tasks in enumerate(stops):
            failed = index >= delivered
            values = self._prepare_demo_proof(
                tasks,
                now - timedelta(minutes=10 * (len(stops) - index)),
                8.0 + 3 * index,
                reason if failed else None,
            )
            if failed:
                values["note"] = (
                    self.env._("Rang twice and called, no answer.")
                    if reason.photo_required
                    else self.env._("The customer did not want the order any more.")
                )
            elif signature:
                values["signature"] = self._lastmile_demo_picture("proof_signature.png")
            tasks.action_submit_proof(values)  # as the driver: the stops are read in their name
        if stops and self.state == "in_progress":  # a route whose stops are all done sends no more
            last = stops[-1][0]
            route.action_post_position(
                {"latitude": last.latitude + 0.002, "longitude": last.longitude + 0.001, "accuracy": 15.0}
            )
