from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, format_datetime

from ..services.geo import has_coordinates
from ..tools import trusted

FINAL_STATES = ("delivered", "cancelled")
# still to be delivered today: to dispatch, assigned or on the way (a failed one is out of the round)
ACTIVE_STATES = ("new", "assigned", "in_transit")
# Allowed moves of the state machine; anything else is refused with a clear message.
TRANSITIONS = {
    "new": {"assigned", "cancelled"},
    "assigned": {"new", "in_transit", "delivered", "failed", "cancelled"},
    # on the way, the goods are on the van: the driver reports delivered or failed first
    "in_transit": {"delivered", "failed", "assigned"},
    "failed": {"new", "assigned", "cancelled"},
    "delivered": set(),
    "cancelled": set(),
}
# Fields that only the workflow writes (action methods, the picking sync), never a form or RPC.
WORKFLOW_FIELDS = frozenset({"state", "date_delivered"})


class LastmileDeliveryTask(models.Model):
    """One delivery to one address by the shop's own fleet: one per outgoing picking.

    The status moves only through the action methods (``action_*``), which check who calls
    them: a driver for their own deliveries, a dispatcher for the company's. Dispatch lives in
    ``lastmile_delivery_task_dispatch.py``, geocoding in ``lastmile_delivery_task_geocoding.py``,
    and the values of a picking's task in ``stock.picking._prepare_lastmile_task_values``.
    """

    _name = "lastmile.delivery.task"
    _description = "Delivery Task"
    _inherit = ["portal.mixin", "rating.mixin", "mail.thread", "mail.activity.mixin"]
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
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, tracking=True, check_company=True
    )
    partner_shipping_id = fields.Many2one(
        "res.partner", string="Delivery Address", required=True, index=True, tracking=True, check_company=True
    )
    address = fields.Char(compute="_compute_address")
    phone = fields.Char(related="partner_shipping_id.phone")
    # the address's coordinates; a dispatcher who enters them by hand sets them on the address
    latitude = fields.Float(
        compute="_compute_coordinates", inverse="_inverse_coordinates", store=True, digits=(10, 7)
    )
    longitude = fields.Float(
        compute="_compute_coordinates", inverse="_inverse_coordinates", store=True, digits=(10, 7)
    )
    address_state = fields.Selection(
        [("ok", "Located"), ("pending", "Locating"), ("to_check", "Address to check")],
        compute="_compute_address_state",
        store=True,
        index=True,
    )
    geocode_issue = fields.Char(string="Address Problem", copy=False, groups="base.group_user")
    geocode_pending = fields.Boolean(
        string="Waiting for the Geocoder",
        copy=False,
        groups="base.group_user",
        help="The address has no coordinates yet, or the geocoding service failed: the scheduled "
        "action locates it.",
    )
    dispatch_pending = fields.Boolean(
        string="To Dispatch Automatically",
        copy=False,
        groups="base.group_user",
        help="Confirmed while the shop dispatches on confirmation: the scheduled action assigns a "
        "driver as soon as the address is located.",
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
    # what is delivered: its delivery order's (it follows the order's changes), else entered by hand
    weight = fields.Float(
        digits="Stock Weight", tracking=True, compute="_compute_load", store=True, readonly=False
    )
    volume = fields.Float(digits="Volume", compute="_compute_load", store=True, readonly=False)
    weight_uom_name = fields.Char(compute="_compute_uom_names")
    volume_uom_name = fields.Char(compute="_compute_uom_names")
    priority = fields.Selection([("0", "Normal"), ("1", "Urgent")], default="0", index=True, tracking=True)
    instructions = fields.Text(string="Customer Instructions")
    product_ids = fields.Many2many(
        "product.product",
        string="Products",
        compute="_compute_load",
        store=True,
        readonly=False,
        help="What is delivered; dispatch rules can match on it.",
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
    dispatch_issue = fields.Char(string="Not Dispatched Because", copy=False, groups="base.group_user")
    price_pending = fields.Boolean(
        copy=False,
        groups="base.group_user",
        help="The shipping cost waits for the address to be located (pricing per km).",
    )
    dispatch_reason = fields.Char(string="Assignment Reason", copy=False, groups="base.group_user")
    date_delivered = fields.Datetime(readonly=True, copy=False)
    is_late = fields.Boolean(compute="_compute_is_late", search="_search_is_late")
    late_minutes = fields.Integer(
        string="Late by (min)",
        compute="_compute_is_late",
        help="How long after the end of the window the driver is expected (0: on time).",
    )
    window_label = fields.Char(string="Window", compute="_compute_window_label")
    eta_label = fields.Char(string="ETA Time", compute="_compute_window_label")
    color = fields.Integer(related="driver_id.color")

    # a failed attempt stays as it was (its reason, its proof); the next one is a new task
    _picking_uniq = models.UniqueIndex(
        "(picking_id) WHERE state NOT IN ('failed', 'cancelled')",
        "A delivery order has only one delivery task under way.",
    )

    # ------------------------------------------------------------------ computes

    @api.depends(
        "partner_shipping_id.street",
        "partner_shipping_id.street2",
        "partner_shipping_id.zip",
        "partner_shipping_id.city",
    )
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

    @api.depends("partner_shipping_id.partner_latitude", "partner_shipping_id.partner_longitude")
    def _compute_coordinates(self):
        for task in self:
            task.latitude = task.partner_shipping_id.partner_latitude
            task.longitude = task.partner_shipping_id.partner_longitude

    def _inverse_coordinates(self):
        """Coordinates entered by a dispatcher go to the address (only them: a dispatcher edits
        no other contact field)."""
        self._check_dispatcher(self.env._("Only dispatchers can enter the coordinates of an address."))
        for task in self:
            address = task.partner_shipping_id
            address.check_access("read")
            owners = address.sudo().user_ids or self.env["res.company"].sudo().search_count(
                [("partner_id", "=", address.id)], limit=1
            )
            if owners:
                raise UserError(
                    self.env._(
                        "%(address)s is the contact of a user or of a company: its coordinates are not "
                        "changed from a delivery. Ask a manager to correct the contact.",
                        address=address.display_name,
                    )
                )
            address._lastmile_store_location(task.latitude, task.longitude)

    @api.depends(
        "picking_id.move_ids.product_qty", "picking_id.move_ids.state", "picking_id.move_ids.product_id"
    )
    def _compute_load(self):
        """From the delivery order's moves, cancelled ones left out: quantities changed on the
        order after confirmation change the delivery too. Values read first: an unchanged load
        (a reservation, say) writes nothing."""
        for task in self:
            current = (task.weight, task.volume, task.product_ids)
            if not task.picking_id:  # entered by hand: kept as they are
                task.weight, task.volume, task.product_ids = current
                continue
            moves = task.picking_id.move_ids.filtered(lambda m: m.state != "cancel")
            task.weight = sum(moves.mapped("weight"))
            task.volume = sum(m.product_id.volume * m.product_qty for m in moves)
            task.product_ids = moves.product_id.filtered(lambda p: p.type != "service")

    @api.depends("latitude", "longitude", "geocode_issue", "geocode_pending")
    def _compute_address_state(self):
        for task in self.sudo():
            if has_coordinates(task.latitude, task.longitude) and not task.geocode_issue:
                task.address_state = "ok"
            elif task.geocode_pending and not task.geocode_issue:
                task.address_state = "pending"
            else:
                task.address_state = "to_check"

    @api.depends("window_start", "company_id.partner_id.tz", "company_id.resource_calendar_id.tz")
    def _compute_scheduled_date(self):
        for task in self:
            task.scheduled_date = task.window_start and task.company_id._lastmile_date_of(task.window_start)

    @api.depends("window_start", "window_end", "eta")
    @api.depends_context("tz")
    def _compute_window_label(self):
        """Short labels in the reader's time zone (the shop's for a reader without one, a
        customer say): “09:00–11:00”, with the day when it differs."""
        for task in self:
            if not (task.window_start and task.window_end):
                task.window_label = task.eta_label = False
                continue
            tz = self.env.context.get("tz") or task.company_id._lastmile_tz().zone

            def label(moment, pattern, tz=tz):
                return format_datetime(self.env, moment, tz=tz, dt_format=pattern)

            same_day = label(task.window_start, "yyyyMMdd") == label(task.window_end, "yyyyMMdd")
            end_format = "HH:mm" if same_day else "d MMM HH:mm"
            task.window_label = (
                f"{label(task.window_start, 'd MMM HH:mm')}–{label(task.window_end, end_format)}"
            )
            task.eta_label = task.eta and label(task.eta, "HH:mm")

    def _compute_uom_names(self):
        weight = self.env["product.template"]._get_weight_uom_name_from_ir_config_parameter()
        volume = self.env["product.template"]._get_volume_uom_name_from_ir_config_parameter()
        for task in self:
            task.weight_uom_name = weight
            task.volume_uom_name = volume

    @api.depends("window_end", "eta", "state")
    def _compute_is_late(self):
        now = fields.Datetime.now()
        for task in self:
            open_ = task.state in ACTIVE_STATES
            late_eta = open_ and task.eta and task.window_end and task.eta > task.window_end
            task.late_minutes = round((task.eta - task.window_end).total_seconds() / 60) if late_eta else 0
            task.is_late = open_ and bool(late_eta or (task.window_end and task.window_end < now))

    def _search_is_late(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Search on “late” only with = or != and a boolean."))
        # ``eta > window_end`` compares two columns, which a domain cannot express.
        self.flush_model(["state", "eta", "window_end"])
        self.env.cr.execute(
            SQL(
                "SELECT id FROM lastmile_delivery_task WHERE state IN %s AND eta > window_end",
                ACTIVE_STATES,
            )
        )
        eta_late = [row[0] for row in self.env.cr.fetchall()]
        late = Domain("state", "in", ACTIVE_STATES) & (
            Domain("window_end", "<", fields.Datetime.now()) | Domain("id", "in", eta_late)
        )
        return late if (operator == "=") == value else ~late

    def _mail_get_operation_for_mail_message_operation(self, message_operation):
        """Drivers only read their deliveries (the buttons move them along), yet may leave a note
        on them; anyone else posts where they may write, as on any document."""
        operations = super()._mail_get_operation_for_mail_message_operation(message_operation)
        if message_operation == "create" and self.env.user._is_internal():
            for task in self.sudo().filtered(lambda t: t.driver_id.user_id == self.env.user):
                operations[self.browse(task.id)] = "read"
        return operations

    def _lastmile_follows_picking(self):
        """Whether this delivery still follows its delivery order (address, window, carrier,
        cancellation): one to dispatch, assigned, or failed and waiting for a decision."""
        self.ensure_one()
        return self.state in ("new", "assigned", "failed")

    def _lastmile_stop_key(self):
        """Deliveries with the same key go to one door: planned together they are one stop (one
        visit, one service time, one stop number, one proof)."""
        self.ensure_one()
        return (self.partner_shipping_id.id, round(self.latitude, 5), round(self.longitude, 5))

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
            if not self.env.su and self._lastmile_workflow_fields() & vals.keys():
                raise AccessError(self._workflow_fields_message())
            if vals.get("driver_id") and vals.get("state", "new") == "new":
                vals["state"] = "assigned"
                self.env["lastmile.driver"].browse(vals["driver_id"])._touch_dispatch()
            if vals.get("name", "/") == "/":
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                vals["name"] = (
                    self.env["ir.sequence"].with_company(company).next_by_code("lastmile.delivery.task")
                    or "/"
                )
        return super().create(vals_list)

    def write(self, vals):
        """The status and delivery date are the workflow's: only the action methods write them
        (in superuser mode, after checking who calls), never a form, an import or an RPC call.
        A driver set alone (form, board, import) keeps the status in step and is explained;
        dispatch and planning set the status with the driver."""
        if not self.env.su and self._lastmile_workflow_fields() & vals.keys():
            raise AccessError(self._workflow_fields_message())
        if "driver_id" in vals and "state" not in vals:
            return self._write_driver(vals)
        return super().write(vals)

    @api.model
    def _lastmile_workflow_fields(self):
        """Fields that only the workflow writes: see ``WORKFLOW_FIELDS``."""
        return WORKFLOW_FIELDS

    def _workflow_fields_message(self):
        return self.env._(
            "The status of a delivery changes only through its buttons (Dispatch, On the Way, "
            "Delivered, Failed, Cancel), which check who may use them."
        )

    def _write_driver(self, vals):
        """A driver set by hand (form, board drag and drop): keep the state in step and explain."""
        self.check_access("write")
        vals = dict(vals)
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
        to_assign = changed.filtered(lambda t: t.state in ("new", "failed")) if driver else self.browse()
        to_unassign = changed.filtered(lambda t: t.state == "assigned") if not driver else self.browse()
        reason = (
            self.env._(
                "Assigned by hand to %(driver)s by %(user)s", driver=driver.name, user=self.env.user.name
            )
            if driver
            else self.env._("Unassigned by %(user)s", user=self.env.user.name)
        )
        result = super().write(vals)
        # a person decided: nothing is dispatched automatically any more
        internal = (
            {"dispatch_reason": reason, "dispatch_issue": False, "dispatch_pending": False} if changed else {}
        )
        if to_assign:
            to_assign._set_state(
                "assigned", **{**self._prepare_unplanned_values(), **internal, "driver_pinned": True}
            )
        if to_unassign:
            to_unassign._set_state("new", **to_unassign._prepare_unplanned_values(), **internal)
        rest = changed - to_assign - to_unassign
        if rest:  # moved from one driver to another: off the old driver's round
            super(LastmileDeliveryTask, rest).write(
                {**self._prepare_unplanned_values(), "driver_pinned": bool(driver), **internal}
            )
        if driver and changed:
            driver._touch_dispatch()  # a dispatch of that driver's day going on meanwhile must retry
        for task in changed:
            task._message_log(body=reason)
        return result

    @api.model
    def _prepare_unplanned_values(self):
        """What a delivery leaving its driver's round loses."""
        return {"sequence": 0, "eta": False, "route_id": False, "driver_pinned": False}

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

    @api.model
    def _lastmile_home_action(self):
        """Where the Last Mile app opens: the board for dispatchers, the deliveries else."""
        if self._is_dispatcher():
            return self.env["ir.actions.act_window"]._for_xml_id(
                "lastmile_delivery.lastmile_delivery_task_action_board"
            )
        return self.env["ir.actions.act_window"]._for_xml_id(
            "lastmile_delivery.lastmile_delivery_task_action"
        )

    # ------------------------------------------------------------------ who may do what

    @api.model
    def _is_dispatcher(self):
        return self.env.su or self.env.user.has_group("lastmile_delivery.group_lastmile_dispatcher")

    @api.model
    def _check_dispatcher(self, message=None):
        """Only dispatchers (and code running as superuser) go further."""
        if not self._is_dispatcher():
            raise AccessError(message or self.env._("Only dispatchers can do this."))

    def _check_driver_or_dispatcher(self):
        """A dispatcher moves any delivery of their companies along; a driver only their own."""
        self.check_access("read")
        if self._is_dispatcher():
            self.check_access("write")
            return
        foreign = self.filtered(lambda t: t.driver_id.user_id != self.env.user)
        if foreign:
            raise AccessError(
                self.env._(
                    "You can only move your own deliveries along; %(tasks)s is not assigned to you.",
                    tasks=", ".join(foreign.mapped("display_name")),
                )
            )

    # ------------------------------------------------------------------ state actions

    def _set_state(self, state, check=True, **values):
        """The one way the status changes; callers check who asks first. ``check`` refuses a
        move the workflow does not allow (the picking sync follows the warehouse instead)."""
        if check:
            self._check_transition(state)
        if state == "delivered":
            values.setdefault("date_delivered", fields.Datetime.now())
        if state != "new":  # dispatched, on its way or over: nothing left to dispatch by itself
            values.setdefault("dispatch_pending", False)
        if state in FINAL_STATES:
            values.update(geocode_pending=False, dispatch_issue=False)
        if state == "failed":  # out of the round's order, not numbered like its open stops
            values.setdefault("sequence", 0)
        return self.sudo().write({"state": state, **values})

    def _check_transition(self, state):
        for task in self:
            if task.state != state and state not in TRANSITIONS[task.state]:
                labels = dict(self._fields["state"]._description_selection(self.env))
                raise UserError(
                    self.env._(
                        "Delivery %(task)s is %(current)s: it cannot become %(new)s.",
                        task=task.display_name,
                        current=labels[task.state],
                        new=labels[state],
                    )
                )

    def action_unassign(self):
        self._check_dispatcher()
        self.filtered(lambda t: t.state == "assigned").write({"driver_id": False})
        return True

    def action_start(self):
        """The driver is on the way to this address, with the goods (reserved in the warehouse)."""
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        self._check_driver_or_dispatcher()
        self._check_transition("in_transit")
        for picking in self.sudo().picking_id.filtered(lambda p: p.state not in ("done", "cancel")):
            picking._lastmile_check_reserved()
        self._set_state("in_transit")
        return True

    def action_undo_start(self):
        """Not on the way after all (a wrong tap, a change of plan): back to assigned, so the
        round can be planned again or the delivery given to another driver."""
        self._check_driver_or_dispatcher()
        self.filtered(lambda t: t.state != "in_transit")._check_transition("assigned")
        self.filtered(lambda t: t.state == "in_transit")._set_state("assigned")
        return True

    def action_fail(self):
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        self._check_driver_or_dispatcher()
        self._set_state("failed")
        return True

    def action_reset(self):
        """A failed delivery goes back to dispatch."""
        self._check_dispatcher()
        self._set_state("new", driver_id=False, **self._prepare_unplanned_values())
        return True

    def action_cancel(self):
        """Cancel the delivery: its delivery order is cancelled with it, so they never disagree."""
        self._check_dispatcher(self.env._("Only dispatchers can cancel deliveries."))
        self.check_access("write")
        self._set_state("cancelled")  # refuses deliveries on the way or delivered
        pickings = self.sudo().picking_id.filtered(lambda p: p.state not in ("done", "cancel"))
        if pickings:
            pickings.action_cancel()
        return True

    def action_deliver(self):
        """Mark delivered and validate the delivery order (as the warehouse would, for the
        driver who has no stock rights: a narrow superuser step once the caller is checked)."""
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        self._check_driver_or_dispatcher()
        todo = self.filtered(lambda t: t.state != "delivered")
        todo._check_transition("delivered")
        for picking in todo.sudo().picking_id.filtered(lambda p: p.state not in ("done", "cancel")):
            picking._lastmile_validate()  # delivers its task through stock.picking._action_done
        todo.filtered(lambda t: t.state != "delivered")._set_state("delivered")
        return True
