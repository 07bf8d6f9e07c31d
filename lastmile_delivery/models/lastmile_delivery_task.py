import logging
from datetime import datetime, time, timedelta

import psycopg2
import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, format_datetime

from ..services import dispatch as engine
from ..services import routing as routing_engine
from ..services.geo import has_coordinates
from ..services.geocoding import GeocodingError

_logger = logging.getLogger(__name__)

OPEN_STATES = ("new", "assigned", "in_transit", "failed")
FINAL_STATES = ("delivered", "cancelled")
# Allowed moves of the state machine; anything else is refused with a clear message.
TRANSITIONS = {
    "new": {"assigned", "cancelled"},
    "assigned": {"new", "in_transit", "delivered", "failed", "cancelled"},
    "in_transit": {"delivered", "failed", "cancelled"},
    "failed": {"new", "assigned", "cancelled"},
    "delivered": set(),
    "cancelled": set(),
}


class LastmileDeliveryTask(models.Model):
    """One delivery to one address by the shop's own fleet: one per outgoing picking."""

    _name = "lastmile.delivery.task"
    _description = "Delivery Task"
    _inherit = ["portal.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "scheduled_date desc, driver_id, sequence, window_start, id"
    _check_company_auto = True

    name = fields.Char(
        string="Reference", required=True, readonly=True, copy=False, default="/", index="trigram"
    )
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True, default=lambda self: self.env.company
    )
    state = fields.Selection(
        [
            ("new", "To Dispatch"),
            ("assigned", "Assigned"),
            ("in_transit", "On the Way"),
            ("delivered", "Delivered"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
        ],
        default="new",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    sale_order_id = fields.Many2one("sale.order", string="Sales Order", readonly=True, index="btree_not_null")
    picking_id = fields.Many2one(
        "stock.picking",
        string="Delivery Order",
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True, tracking=True)
    partner_shipping_id = fields.Many2one(
        "res.partner", string="Delivery Address", required=True, index=True, tracking=True
    )
    address = fields.Char(compute="_compute_address")
    phone = fields.Char(related="partner_shipping_id.phone")
    latitude = fields.Float(
        string="Latitude",
        related="partner_shipping_id.partner_latitude",
        store=True,
        readonly=False,
        digits=(10, 7),
    )
    longitude = fields.Float(
        string="Longitude",
        related="partner_shipping_id.partner_longitude",
        store=True,
        readonly=False,
        digits=(10, 7),
    )
    address_state = fields.Selection(
        [("ok", "Located"), ("to_check", "Address to check")],
        compute="_compute_address_state",
        store=True,
        index=True,
    )
    geocode_issue = fields.Char(string="Address Problem", copy=False)
    geocode_retry = fields.Boolean(
        copy=False, help="The geocoding service failed; the scheduled action tries again."
    )
    window_start = fields.Datetime(string="Window Start", required=True, tracking=True)
    window_end = fields.Datetime(string="Window End", required=True, tracking=True)
    scheduled_date = fields.Date(
        compute="_compute_scheduled_date",
        store=True,
        index=True,
        help="Day of delivery, in the shop's time zone.",
    )
    service_minutes = fields.Float(
        string="Service Time (min)",
        default=lambda self: self.env.company.lastmile_service_minutes,
        help="Minutes spent at the address: parking, handing over, signature.",
    )
    weight = fields.Float(digits="Stock Weight", tracking=True)
    volume = fields.Float(digits="Volume")
    weight_uom_name = fields.Char(compute="_compute_uom_names")
    volume_uom_name = fields.Char(compute="_compute_uom_names")
    priority = fields.Selection([("0", "Normal"), ("1", "Urgent")], default="0", index=True, tracking=True)
    instructions = fields.Text(string="Customer Instructions")
    product_ids = fields.Many2many(
        "product.product", string="Products", help="What is delivered; dispatch rules can match on it."
    )
    driver_id = fields.Many2one(
        "lastmile.driver",
        string="Driver",
        index=True,
        tracking=True,
        copy=False,
        check_company=True,
        group_expand="_read_group_driver_ids",
    )
    route_id = fields.Many2one(
        "lastmile.route", string="Route", index="btree_not_null", copy=False, check_company=True
    )
    driver_pinned = fields.Boolean(
        string="Driver Chosen by Hand",
        copy=False,
        help="A dispatcher chose this driver: route planning keeps the delivery with them.",
    )
    sequence = fields.Integer(string="Stop", default=0, copy=False, help="Position in the driver's round.")
    eta = fields.Datetime(string="ETA", copy=False, help="Estimated time of arrival.")
    dispatch_issue = fields.Char(string="Not Dispatched Because", copy=False)
    dispatch_reason = fields.Char(string="Assignment Reason", copy=False)
    date_delivered = fields.Datetime(readonly=True, copy=False)
    is_late = fields.Boolean(compute="_compute_is_late", search="_search_is_late")
    window_label = fields.Char(string="Window", compute="_compute_window_label")
    eta_label = fields.Char(string="ETA Time", compute="_compute_window_label")
    color = fields.Integer(related="driver_id.color")

    _picking_uniq = models.Constraint("UNIQUE(picking_id)", "A delivery order has only one delivery task.")

    # ------------------------------------------------------------------ computes

    @api.depends("partner_shipping_id")
    def _compute_address(self):
        for task in self:
            partner = task.partner_shipping_id
            task.address = ", ".join(
                p
                for p in (
                    partner.street,
                    partner.street2,
                    " ".join(filter(None, [partner.zip, partner.city])),
                )
                if p
            )

    @api.depends("latitude", "longitude", "geocode_issue")
    def _compute_address_state(self):
        for task in self:
            located = has_coordinates(task.latitude, task.longitude) and not task.geocode_issue
            task.address_state = "ok" if located else "to_check"

    @api.depends("window_start", "company_id")
    def _compute_scheduled_date(self):
        for task in self:
            if not task.window_start:
                task.scheduled_date = False
                continue
            tz = task.company_id._lastmile_tz()
            task.scheduled_date = pytz.utc.localize(task.window_start).astimezone(tz).date()

    @api.depends("window_start", "window_end", "eta")
    @api.depends_context("tz")
    def _compute_window_label(self):
        """Short labels in the user's time zone: “09:00–11:00”, with the day when it differs."""
        for task in self:
            if not (task.window_start and task.window_end):
                task.window_label = task.eta_label = False
                continue
            same_day = format_datetime(self.env, task.window_start, dt_format="yyyyMMdd") == format_datetime(
                self.env, task.window_end, dt_format="yyyyMMdd"
            )
            end_format = "HH:mm" if same_day else "d MMM HH:mm"
            task.window_label = (
                f"{format_datetime(self.env, task.window_start, dt_format='d MMM HH:mm')}–"
                f"{format_datetime(self.env, task.window_end, dt_format=end_format)}"
            )
            task.eta_label = task.eta and format_datetime(self.env, task.eta, dt_format="HH:mm")

    def _compute_uom_names(self):
        weight = self.env["product.template"]._get_weight_uom_name_from_ir_config_parameter()
        volume = self.env["product.template"]._get_volume_uom_name_from_ir_config_parameter()
        for task in self:
            task.weight_uom_name = weight
            task.volume_uom_name = volume

    def _compute_access_url(self):
        super()._compute_access_url()
        for task in self:
            task.access_url = f"/my/deliveries/{task.id}"

    @api.depends("window_end", "eta", "state")
    def _compute_is_late(self):
        now = fields.Datetime.now()
        for task in self:
            open_ = task.state in ("new", "assigned", "in_transit")
            task.is_late = open_ and bool(
                (task.window_end and task.window_end < now)
                or (task.eta and task.window_end and task.eta > task.window_end)
            )

    def _search_is_late(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Search on “late” only with = or != and a boolean."))
        open_states = ("new", "assigned", "in_transit")
        # ``eta > window_end`` compares two columns, which a domain cannot express.
        self.env.cr.execute(
            SQL(
                "SELECT id FROM lastmile_delivery_task WHERE state IN %s AND eta > window_end",
                open_states,
            )
        )
        eta_late = [row[0] for row in self.env.cr.fetchall()]
        late = Domain("state", "in", open_states) & (
            Domain("window_end", "<", fields.Datetime.now()) | Domain("id", "in", eta_late)
        )
        return late if (operator == "=") == value else ~late

    @api.model
    def _read_group_driver_ids(self, drivers, domain):
        """On the board, every driver on duty has a column, even before their first delivery."""
        # in the drivers' order (by name), not "drivers with deliveries first"
        return (drivers | self.env["lastmile.driver"].search([("on_duty", "=", True)])).sorted()

    @api.model
    def web_read_group(self, domain, groupby, aggregates=(), limit=None, offset=0, order=None, **kwargs):
        """Open the “no driver” column of the board: it holds what is left to dispatch (Odoo
        folds empty many2one groups by default)."""
        if kwargs.get("auto_unfold") and list(groupby)[:1] == ["driver_id"]:
            opening_info = list(kwargs.get("opening_info") or [])
            if not any(info.get("value") is False for info in opening_info):
                opening_info.append({"value": False, "folded": False, "limit": 80, "offset": 0})
            kwargs["opening_info"] = opening_info
        return super().web_read_group(domain, groupby, aggregates, limit, offset, order, **kwargs)

    # ------------------------------------------------------------------ constraints

    @api.constrains("window_start", "window_end")
    def _check_window(self):
        for task in self:
            if task.window_start and task.window_end and task.window_end < task.window_start:
                raise ValidationError(
                    self.env._(
                        "Delivery %(task)s: the time window ends (%(end)s) before it starts (%(start)s).",
                        task=task.display_name,
                        end=format_datetime(self.env, task.window_end),
                        start=format_datetime(self.env, task.window_start),
                    )
                )

    @api.constrains("weight", "volume", "service_minutes")
    def _check_quantities(self):
        for task in self:
            if task.weight < 0 or task.volume < 0 or task.service_minutes < 0:
                raise ValidationError(
                    self.env._(
                        "Delivery %(task)s: weight, volume and service time cannot be negative.",
                        task=task.display_name,
                    )
                )

    # ------------------------------------------------------------------ CRUD

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("driver_id") and vals.get("state", "new") == "new":
                vals["state"] = "assigned"
            if vals.get("name", "/") == "/":
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                vals["name"] = (
                    self.env["ir.sequence"].with_company(company).next_by_code("lastmile.delivery.task")
                    or "/"
                )
        return super().create(vals_list)

    # What a driver (without the Dispatcher group) may change on their own deliveries.
    DRIVER_WRITABLE = frozenset({"state", "date_delivered"})

    def write(self, vals):
        vals = dict(vals)
        if not self.env.su and not self.env.user.has_group("lastmile_delivery.group_lastmile_dispatcher"):
            forbidden = {
                name
                for name in vals
                if name not in self.DRIVER_WRITABLE and not name.startswith(("message_", "activity_"))
            }
            if forbidden:
                raise AccessError(
                    self.env._(
                        "Drivers can only move their deliveries along (on the way, delivered, failed); "
                        "ask a dispatcher to change %(fields)s.",
                        fields=", ".join(
                            sorted(self._fields[f].string for f in forbidden if f in self._fields)
                        ),
                    )
                )
        if "state" in vals and not self.env.context.get("lastmile_picking_sync"):
            self._check_transition(vals["state"])
        if "driver_id" in vals and "state" not in vals and not self.env.context.get("lastmile_planning"):
            return self._write_driver(vals)
        if vals.get("state") == "delivered":
            vals.setdefault("date_delivered", fields.Datetime.now())
        return super().write(vals)

    def _write_driver(self, vals):
        """A driver set by hand (form, board drag and drop): keep the state in step and explain."""
        driver = self.env["lastmile.driver"].browse(vals["driver_id"])
        on_the_road = self.filtered(
            lambda t: t.state in ("in_transit", "delivered", "cancelled") and t.driver_id != driver
        )
        if on_the_road:
            raise UserError(
                self.env._(
                    "%(tasks)s cannot change driver: they are already on the way, delivered or cancelled.",
                    tasks=", ".join(on_the_road.mapped("display_name")),
                )
            )
        changed = self.filtered(lambda t: t.driver_id != driver)
        result = True
        to_assign = changed.filtered(lambda t: t.state in ("new", "failed")) if driver else self.browse()
        to_unassign = changed.filtered(lambda t: t.state == "assigned") if not driver else self.browse()
        reason = (
            self.env._(
                "Assigned by hand to %(driver)s by %(user)s", driver=driver.name, user=self.env.user.name
            )
            if driver
            else self.env._("Unassigned by %(user)s", user=self.env.user.name)
        )
        if to_assign:
            result &= super(LastmileDeliveryTask, to_assign).write(
                {
                    **vals,
                    "state": "assigned",
                    "dispatch_issue": False,
                    "dispatch_reason": reason,
                    "driver_pinned": True,
                }
            )
        if to_unassign:
            result &= super(LastmileDeliveryTask, to_unassign).write(
                {
                    **vals,
                    "state": "new",
                    "dispatch_reason": False,
                    "sequence": 0,
                    "eta": False,
                    "route_id": False,
                    "driver_pinned": False,
                }
            )
        rest = self - to_assign - to_unassign
        if rest:
            extra = (
                {"dispatch_reason": reason, "driver_pinned": bool(driver), "route_id": False}
                if changed & rest
                else {}
            )
            result &= super(LastmileDeliveryTask, rest).write({**vals, **extra})
        for task in changed:
            task._message_log(body=reason)
        return result

    def _check_transition(self, new_state):
        labels = dict(self._fields["state"]._description_selection(self.env))
        for task in self:
            if task.state != new_state and new_state not in TRANSITIONS[task.state]:
                raise UserError(
                    self.env._(
                        "Delivery %(task)s is %(current)s: it cannot become %(new)s.",
                        task=task.display_name,
                        current=labels[task.state],
                        new=labels[new_state],
                    )
                )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_started(self):
        started = self.filtered(lambda t: t.state not in ("new", "cancelled"))
        if started:
            raise UserError(
                self.env._(
                    "Only deliveries to dispatch or cancelled ones can be deleted; cancel %(tasks)s first.",
                    tasks=", ".join(started.mapped("display_name")),
                )
            )

    # ------------------------------------------------------------------ creation from pickings

    @api.model
    def _prepare_values_from_picking(self, picking):
        """Values of the task of an outgoing picking of an own-fleet carrier."""
        order = picking.sale_id
        address = picking.partner_id or order.partner_shipping_id
        start, end = self._prepare_window(picking, order, address)
        products = picking.move_ids.product_id.filtered(lambda p: p.type != "service")
        volume = sum(m.product_id.volume * m.product_qty for m in picking.move_ids)
        instructions = "\n".join(filter(None, [address.lastmile_instructions, order.lastmile_instructions]))
        return {
            "company_id": picking.company_id.id,
            "picking_id": picking.id,
            "sale_order_id": order.id,
            "partner_id": (order.partner_id or address).commercial_partner_id.id,
            "partner_shipping_id": address.id,
            "window_start": start,
            "window_end": end,
            "service_minutes": picking.company_id.lastmile_service_minutes,
            "weight": picking.weight,
            "volume": volume,
            "priority": "1" if picking.priority == "1" else "0",
            "instructions": instructions or False,
            "product_ids": [fields.Command.set(products.ids)],
        }

    @api.model
    def _prepare_window(self, picking, order, address):
        """(start, end) in naive UTC: the promised delivery time of the order, else the
        customer's preferred hours, else the shop's delivery hours, on the scheduled day."""
        company = picking.company_id
        tz = company._lastmile_tz()
        if order.commitment_date:
            start = order.commitment_date
            return start, start + timedelta(minutes=company.lastmile_window_minutes or 60)
        scheduled = picking.scheduled_date or fields.Datetime.now()
        day = pytz.utc.localize(scheduled).astimezone(tz).date()
        today = datetime.now(tz).date()
        day = max(day, today)
        hour_from, hour_to = company.lastmile_delivery_hour_from, company.lastmile_delivery_hour_to
        if address.lastmile_window_from or address.lastmile_window_to:
            hour_from = address.lastmile_window_from
            hour_to = address.lastmile_window_to or hour_to

        def at(hour):
            hour = min(max(hour, 0.0), 24.0)
            moment = datetime.combine(day, time()) + timedelta(hours=hour)
            return tz.localize(moment).astimezone(pytz.utc).replace(tzinfo=None)

        return at(hour_from), at(hour_to)

    # ------------------------------------------------------------------ geocoding

    def _geocode(self):
        """Locate the addresses without coordinates. Never raises: failures flag the task."""
        to_locate = self.filtered(lambda t: not has_coordinates(t.latitude, t.longitude))
        (self - to_locate).filtered("geocode_issue").write({"geocode_issue": False, "geocode_retry": False})
        if not to_locate:
            return
        try:
            geocoder = self.env["res.partner"]._lastmile_geocoder()
        except GeocodingError as error:
            to_locate.write({"geocode_issue": str(error), "geocode_retry": True})
            return
        for partner, tasks in to_locate.grouped("partner_shipping_id").items():
            try:
                found = partner._lastmile_geocode(geocoder)
            except GeocodingError as error:
                tasks.write({"geocode_issue": str(error), "geocode_retry": True})
                continue
            if found:
                tasks.write({"geocode_issue": False, "geocode_retry": False})
            else:
                tasks.write(
                    {
                        "geocode_issue": self.env._(
                            "The address was not found by the geocoder: check the street and city."
                        ),
                        "geocode_retry": False,
                    }
                )

    def action_geocode(self):
        self._geocode()
        failed = self.filtered(lambda t: t.address_state == "to_check")
        if failed:
            return self._notify(
                self.env._(
                    "%(count)s address(es) still to check: %(issue)s",
                    count=len(failed),
                    issue=failed[0].geocode_issue,
                ),
                "warning",
            )
        return self._notify(self.env._("Every address is located."), "success")

    @api.model
    def _cron_geocode(self, limit=200):
        """Retry geocoding (the service was down), then dispatch what became dispatchable."""
        domain = (
            Domain("state", "=", "new")
            & Domain("address_state", "=", "to_check")
            & (Domain("geocode_retry", "=", True) | Domain("geocode_issue", "=", False))
        )
        tasks = self.search(domain, limit=limit)
        tasks._geocode()
        located = tasks.filtered(lambda t: t.address_state == "ok" and t.company_id.lastmile_auto_dispatch)
        if located:
            located._dispatch()

    # ------------------------------------------------------------------ dispatch

    def action_dispatch(self):
        """Assign a driver to each selected task (RPC-friendly). Returns a notification."""
        if not self.env.su and not self.env.user.has_group("lastmile_delivery.group_lastmile_dispatcher"):
            raise AccessError(self.env._("Only dispatchers can dispatch deliveries."))
        tasks = self or self.search([("state", "=", "new")])
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
        if unassigned:
            message += " " + self.env._(
                "%(count)s could not be assigned; see “Not Dispatched Because” in the list.",
                count=len(unassigned),
            )
        return self._notify(message, "warning" if unassigned else "success")

    def _notify(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": kind,
                "sticky": False,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _dispatch(self):
        """Lock the tasks, dispatch those still to dispatch; returns (assigned, unassigned)."""
        tasks = self._lock_for_dispatch().filtered(lambda t: t.state in ("new", "failed") and not t.driver_id)
        assigned, unassigned = self.browse(), self.browse()
        for (company, day), group in tasks.grouped(lambda t: (t.company_id, t.scheduled_date)).items():
            done, failed = group.with_company(company)._dispatch_day(company, day)
            assigned |= done
            unassigned |= failed
        return assigned, unassigned

    def _lock_for_dispatch(self):
        """Row-lock the tasks; a concurrent dispatch of the same tasks gets a clear error."""
        if not self:
            return self
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM lastmile_delivery_task WHERE id IN %s FOR UPDATE NOWAIT",
                        tuple(self.ids),
                    )
                )
        except psycopg2.errors.LockNotAvailable:
            raise UserError(
                self.env._(
                    "Someone else is dispatching these deliveries right now. Wait a moment and "
                    "refresh: their result will be there."
                )
            ) from None
        self.invalidate_recordset(["state", "driver_id"])
        return self.exists()

    def _dispatch_day(self, company, day):
        drivers = self.env["lastmile.driver"].search(
            [("company_id", "=", company.id), ("on_duty", "=", True), ("resource_calendar_id", "!=", False)]
        )
        if drivers:
            # Serialize dispatches touching the same drivers: a concurrent one waits, then
            # retries on a fresh snapshot (Odoo retries serialization failures).
            self.env.cr.execute(
                SQL(
                    "UPDATE lastmile_driver SET last_dispatch = %s WHERE id IN %s",
                    fields.Datetime.now(),
                    tuple(drivers.ids),
                )
            )
        driver_inputs = drivers._prepare_dispatch_inputs(day)
        task_inputs = self._prepare_dispatch_inputs(drivers)
        weights = engine.Weights(
            distance=company.lastmile_weight_distance,
            stops=company.lastmile_weight_stops,
            hours=company.lastmile_weight_hours,
            preference=company.lastmile_weight_preference,
        )
        result = engine.dispatch(task_inputs, driver_inputs, weights, company._lastmile_travel_model())
        assigned, unassigned = self._apply_dispatch_result(result, drivers)
        assigned._insert_into_routes()
        return assigned, unassigned

    def _insert_into_routes(self):
        """Tasks given to a driver whose route of the day is already planned go to the cheapest
        place of that route (the routing engine's insertion), the rest of the route unchanged."""
        if not self:
            return
        routes = self.env["lastmile.route"].search(
            [
                ("driver_id", "in", self.driver_id.ids),
                ("date", "in", list(set(self.mapped("scheduled_date")))),
                ("state", "in", ["planned", "in_progress"]),
            ]
        )
        by_key = {(route.driver_id, route.date): route for route in routes}
        for key, tasks in self.grouped(lambda t: (t.driver_id, t.scheduled_date)).items():
            if key in by_key:
                by_key[key]._insert_tasks(tasks)

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
                    address_issue=task.geocode_issue or "",
                )
            )
        return inputs

    def _apply_dispatch_result(self, result, drivers):
        """Write assignments and reasons in a few batched queries, with one chatter note each."""
        by_id = {task.id: task for task in self}
        messages = []
        assigned = self.browse()
        drivers_by_id = {d.id: d for d in drivers}
        for assignment in result.assignments:
            task = by_id[assignment.task_id]
            reason = self._format_assignment_reason(assignment)
            task.write(
                {
                    "driver_id": drivers_by_id[assignment.driver_id].id,
                    "state": "assigned",
                    "sequence": assignment.sequence,
                    "eta": assignment.eta,
                    "dispatch_issue": False,
                    "dispatch_reason": reason,
                }
            )
            messages.append((task, reason))
            assigned |= task
        unassigned = self.browse()
        for item in result.unassigned:
            task = by_id[item.task_id]
            issue = self._format_unassigned_reason(item)
            if task.dispatch_issue != issue:
                task.write({"dispatch_issue": issue})
                messages.append((task, self.env._("Not dispatched: %(issue)s", issue=issue)))
            unassigned |= task
        self._log_batch(messages)
        return assigned, unassigned

    def _format_assignment_reason(self, assignment):
        parts = [
            self.env._("%(km).1f km away", km=assignment.distance_km),
            self._format_stops(assignment.stops_before),
        ]
        if assignment.rules:
            parts.append(self.env._("rule %(rules)s", rules=", ".join(assignment.rules)))
        return self.env._(
            "Assigned to %(driver)s: %(why)s", driver=assignment.driver_name, why=", ".join(parts)
        )

    def _format_stops(self, stops):
        if not stops:
            return self.env._("first stop today")
        if stops == 1:
            return self.env._("1 stop today")
        return self.env._("%(stops)s stops today", stops=stops)

    def _format_unassigned_reason(self, item):
        labels = {
            engine.REASON_ADDRESS: self.env._("Address to check"),
            engine.REASON_NO_DRIVER: self.env._("No driver on duty"),
            engine.REASON_RULE: self.env._("No rule match"),
            engine.REASON_SHIFT: self.env._("No driver on shift"),
            engine.REASON_CAPACITY: self.env._("No capacity"),
            engine.REASON_STOPS: self.env._("Too many stops"),
        }
        return f"{labels[item.reason]}: {item.detail}"

    def _log_batch(self, messages):
        """Chatter notes for many records at once (message_post costs queries per record)."""
        if messages:
            tasks = self.browse([task.id for task, _body in messages])
            tasks._message_log_batch(bodies={task.id: body for task, body in messages})

    def _prepare_routing_stop(self, location, origin, **values):
        """This delivery as a stop of the routing engine (seconds from ``origin``, grams)."""
        self.ensure_one()
        return routing_engine.Stop(
            **{
                "id": self.id,
                "location": location,
                "demand": round(self.weight * 1000),
                "window_start": max(0, int((self.window_start - origin).total_seconds())),
                "window_end": max(0, int((self.window_end - origin).total_seconds())),
                "service": round(self.service_minutes * 60),
                "priority": int(self.priority or 0),
                **values,
            }
        )

    # ------------------------------------------------------------------ state actions

    def action_unassign(self):
        self.filtered(lambda t: t.state == "assigned").write({"driver_id": False})

    def action_start(self):
        self.write({"state": "in_transit"})

    def action_reset(self):
        """A failed delivery goes back to dispatch."""
        self.write(
            {
                "state": "new",
                "driver_id": False,
                "sequence": 0,
                "eta": False,
                "route_id": False,
                "driver_pinned": False,
            }
        )

    def action_cancel(self):
        """Cancel the delivery: its delivery order is cancelled with it, so they never disagree."""
        pickings = self.picking_id.filtered(lambda p: p.state not in ("done", "cancel"))
        if pickings:
            pickings.action_cancel()  # cancels the tasks through stock.picking.action_cancel
        self.filtered(lambda t: t.state != "cancelled").write({"state": "cancelled"})

    def action_fail(self):
        self.write({"state": "failed"})

    def action_deliver(self):
        """Mark delivered and validate the delivery order."""
        for task in self:
            picking = task.picking_id
            if picking and picking.state not in ("done", "cancel"):
                if picking.state != "assigned":
                    raise UserError(
                        self.env._(
                            "Delivery order %(picking)s is not ready (products not reserved): "
                            "it cannot be validated yet.",
                            picking=picking.name,
                        )
                    )
                picking.move_ids.picked = True
                result = picking.with_context(
                    skip_backorder=True, cancel_backorder=True, picking_ids_not_to_backorder=picking.ids
                ).button_validate()
                if isinstance(result, dict):
                    raise UserError(
                        self.env._(
                            "Delivery order %(picking)s needs attention before it can be validated.",
                            picking=picking.name,
                        )
                    )
        self.filtered(lambda t: t.state != "delivered").write({"state": "delivered"})

    # ------------------------------------------------------------------ map

    @api.model
    def get_map_data(self, date=None):
        """Tasks of a day and driver positions for the dispatch map (read access applies)."""
        day = fields.Date.to_date(date) if date else fields.Date.context_today(self)
        tasks = self.search([("scheduled_date", "=", day), ("state", "!=", "cancelled")])
        drivers = self.env["lastmile.driver"].search([("on_duty", "=", True)])
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
                }
                for t in tasks
                if has_coordinates(t.latitude, t.longitude)
            ],
            "unlocated": len(tasks.filtered(lambda t: not has_coordinates(t.latitude, t.longitude))),
            "drivers": [
                {
                    "id": d.id,
                    "name": d.name,
                    "color": d.color,
                    "lat": d.position_latitude,
                    "lng": d.position_longitude,
                    "last_seen": d.last_seen and format_datetime(self.env, d.last_seen, dt_format="HH:mm"),
                    "start": [d.start_partner_id.partner_latitude, d.start_partner_id.partner_longitude]
                    if has_coordinates(
                        d.start_partner_id.partner_latitude, d.start_partner_id.partner_longitude
                    )
                    else None,
                }
                for d in drivers
            ],
            **self.env["res.company"]._lastmile_map_tiles(),
        }
