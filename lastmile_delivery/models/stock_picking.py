from datetime import timedelta

from odoo import fields, models
from odoo.exceptions import UserError

from ..tools import trusted


class StockPicking(models.Model):
    _inherit = "stock.picking"

    lastmile_task_ids = fields.One2many(
        "lastmile.delivery.task",
        "picking_id",
        string="Delivery Tasks",
        groups="lastmile_delivery.group_lastmile_dispatcher",
    )

    # The hooks below run inside Odoo's own flows (confirming an order, validating, cancelling
    # or splitting a transfer) for whoever runs them: a salesperson or a stock clerk has no right
    # on delivery tasks. Odoo has checked their access to the transfer by then, so the tasks are
    # read and moved along with a narrow superuser step.

    def _lastmile_is_eligible(self):
        self.ensure_one()
        return (
            self.picking_type_code == "outgoing"
            and self.carrier_id.delivery_type == "lastmile"
            and self.state not in ("done", "cancel")
            and not self.return_id  # goods coming back are no delivery
            and not any(self.move_ids.mapped("origin_returned_move_id"))
            and bool(self.partner_id or self.sale_id.partner_shipping_id)
            and not self.sudo().lastmile_task_ids
        )

    def _lastmile_create_tasks(self, send=True):
        """Create the delivery task of each eligible picking, hand the picking to the fleet (the
        carrier's ``send_shipping``: price and tracking reference) and queue the address lookup
        and, when the shop dispatches on confirmation, the dispatch. Returns the new tasks."""
        Task = self.env["lastmile.delivery.task"].sudo()
        pickings = self.filtered(lambda p: p._lastmile_is_eligible())
        if not pickings:
            return Task
        tasks = Task.create([p._prepare_lastmile_task_values() for p in pickings])
        if send:
            for picking in pickings.sudo():
                picking.send_to_shipper()
        for company, company_tasks in tasks.grouped("company_id").items():
            company_tasks._queue_processing(dispatch=company.lastmile_auto_dispatch)
        return tasks

    def _prepare_lastmile_task_values(self):
        """Values of the task of this outgoing picking of an own-fleet carrier."""
        self.ensure_one()
        order = self.sale_id
        address = self.partner_id or order.partner_shipping_id
        start, end = self._prepare_lastmile_window(address)
        instructions = "\n".join(filter(None, [address.lastmile_instructions, order.lastmile_instructions]))
        return {
            "company_id": self.company_id.id,
            "picking_id": self.id,  # the load (weight, volume, products) follows the picking
            "sale_order_id": order.id,
            "partner_id": (order.partner_id or address).commercial_partner_id.id,
            "partner_shipping_id": address.id,
            "window_start": start,
            "window_end": end,
            "service_minutes": self.company_id.lastmile_service_minutes,
            "priority": "1" if self.priority == "1" else "0",
            "instructions": instructions or False,
        }

    def _prepare_lastmile_window(self, address):
        """(start, end) in naive UTC: the promised delivery time of the order while it is still
        ahead, else the customer's preferred hours, else the shop's delivery hours, on the
        scheduled day (today at the earliest: a backorder goes out on the next round)."""
        company = self.company_id
        order = self.sale_id
        if order.commitment_date:
            start = order.commitment_date
            end = start + timedelta(minutes=company.lastmile_window_minutes or 60)
            if end >= fields.Datetime.now():
                return start, end
        now = fields.Datetime.now()
        day = max(company._lastmile_date_of(self.scheduled_date or now), company._lastmile_date_of(now))
        hour_from, hour_to = company.lastmile_delivery_hour_from, company.lastmile_delivery_hour_to
        if address.lastmile_window_from or address.lastmile_window_to:
            hour_from = address.lastmile_window_from
            hour_to = address.lastmile_window_to or hour_to
        if company._lastmile_localize(day, hour_to) < now:  # today's hours are over: tomorrow's
            day += timedelta(days=1)
        return company._lastmile_localize(day, hour_from), company._lastmile_localize(day, hour_to)

    def _lastmile_short_moves(self):
        """The moves the warehouse has not reserved yet."""
        self.ensure_one()
        return self.move_ids.filtered(lambda m: m.state not in ("assigned", "done", "cancel"))

    def _lastmile_is_reserved(self):
        """Every product is reserved: the goods can leave."""
        self.ensure_one()
        return self.state == "assigned" and not self._lastmile_short_moves()

    def _lastmile_check_reserved(self):
        """The goods leave only when the warehouse has them all: else a clear refusal."""
        self.ensure_one()
        if not self._lastmile_is_reserved():
            short = self._lastmile_short_moves()
            raise UserError(
                self.env._(
                    "Delivery order %(picking)s is not fully reserved (%(products)s): the warehouse must "
                    "reserve every product before it leaves.",
                    picking=self.name,
                    products=", ".join(short.product_id.mapped("display_name"))
                    or self.env._("nothing reserved"),
                )
            )

    def _lastmile_validate(self, quantities=None):
        """Validate this delivery order for its delivery task: everything delivered, or the
        ``quantities`` actually delivered (``{move: quantity}``, in the move's unit), the rest
        going to a backorder as Odoo does (its own delivery task follows). No SMS from the
        warehouse flow: customers hear from the delivery itself."""
        self.ensure_one()
        self = trusted(self)  # noqa: PLW0642 - the caller's context keys change nothing here
        self._lastmile_check_reserved()
        context = {"skip_backorder": True, "skip_sms": True}
        partial = False
        for move, quantity in (quantities or {}).items():
            if move.product_uom.compare(quantity, move.product_uom_qty) < 0:
                move.quantity = quantity
                partial = True
        if not partial:
            context.update(cancel_backorder=True, picking_ids_not_to_backorder=self.ids)
        self.move_ids.picked = True
        result = self.with_context(**context).button_validate()
        if isinstance(result, dict):
            raise UserError(
                self.env._(
                    "Delivery order %(picking)s needs attention in the warehouse before it can be validated "
                    "(%(step)s).",
                    picking=self.name,
                    step=result.get("name") or result.get("res_model") or "",
                )
            )

    def write(self, vals):
        """A delivery method set or changed on open transfers after confirmation (“Add shipping”
        on a confirmed order, the carrier passed along a multi-step delivery, a transfer edited
        by hand): the own fleet gets the delivery, or lets go of it."""
        result = super().write(vals)
        if {"partner_id", "scheduled_date"} & vals.keys():
            self._lastmile_follow_changes()
        if "carrier_id" in vals:
            open_ = self.filtered(lambda p: p.state not in ("done", "cancel"))
            open_._lastmile_create_tasks()
            others = open_.filtered(lambda p: p.carrier_id.delivery_type != "lastmile")
            tasks = others.sudo().lastmile_task_ids.filtered(lambda t: t._lastmile_follows_picking())
            tasks._set_state("cancelled", check=False)
        return result

    def _lastmile_follow_changes(self):
        """Open deliveries follow their delivery order and its sales order: address, time
        window, instructions. One whose address or window changed leaves its round (its ETA no
        longer holds) and says so to the dispatcher."""
        for picking in self.filtered(lambda p: p.state not in ("done", "cancel")):
            values = picking._prepare_lastmile_task_values()
            for task in picking.sudo().lastmile_task_ids.filtered(lambda t: t._lastmile_follows_picking()):
                changes = {}
                if task.partner_shipping_id.id != values["partner_shipping_id"]:
                    changes["partner_shipping_id"] = values["partner_shipping_id"]
                if (task.window_start, task.window_end) != (values["window_start"], values["window_end"]):
                    changes.update(window_start=values["window_start"], window_end=values["window_end"])
                if (task.instructions or False) != values["instructions"]:
                    changes["instructions"] = values["instructions"]
                if not changes:
                    continue
                what = ", ".join(task._fields[name].string for name in changes)
                moved = {"partner_shipping_id", "window_start"} & changes.keys()
                if moved and task.route_id:
                    changes.update(route_id=False, sequence=0, eta=False)
                task.write(changes)
                if "partner_shipping_id" in changes:
                    task._queue_processing()
                task._message_log(
                    body=self.env._(
                        "Changed on its delivery order: %(what)s.%(replan)s",
                        what=what,
                        replan=self.env._(" It left its round: plan the day again.")
                        if moved and task.driver_id
                        else "",
                    )
                )

    def _create_backorder(self, backorder_moves=None):
        """The rest of an own-fleet delivery goes out as its own delivery task, once its moves
        have moved to the backorder."""
        backorders = super()._create_backorder(backorder_moves=backorder_moves)
        backorders._lastmile_create_tasks()
        return backorders

    def action_cancel(self):
        self.check_access("write")
        on_the_way = self.sudo().lastmile_task_ids.filtered(lambda t: t.state == "in_transit")
        if on_the_way:
            raise UserError(
                self.env._(
                    "%(tasks)s is on its way with %(driver)s: the goods are on the van. The driver reports "
                    "it delivered or failed first; then the transfer can be cancelled.",
                    tasks=", ".join(on_the_way.mapped("display_name")),
                    driver=", ".join(on_the_way.driver_id.mapped("name")),
                )
            )
        return super().action_cancel()

    def _lastmile_sync_cancelled(self):
        """Cancel the delivery tasks of the cancelled pickings among these. A task already on
        its way stays, with a note for the dispatcher: the goods are on the van."""
        tasks = self.filtered(lambda p: p.state == "cancel").sudo().lastmile_task_ids
        tasks = tasks.filtered(lambda t: t.state == "in_transit" or t._lastmile_follows_picking())
        on_the_way = tasks.filtered(lambda t: t.state == "in_transit")
        (tasks - on_the_way)._set_state("cancelled", check=False)
        for task in on_the_way:
            task._message_log(
                body=self.env._(
                    "Its delivery order %(picking)s was cancelled while the delivery is on its way: "
                    "the driver brings the goods back.",
                    picking=task.picking_id.name,
                )
            )

    def _action_done(self):
        result = super()._action_done()
        tasks = self.filtered(lambda p: p.state == "done").sudo().lastmile_task_ids
        tasks.filtered(lambda t: t.state == "in_transit" or t._lastmile_follows_picking())._set_state(
            "delivered", check=False
        )
        return result
