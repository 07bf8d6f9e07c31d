from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError


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
            and not self.sudo().lastmile_task_ids
        )

    def _lastmile_create_tasks(self):
        """Create the delivery task of each eligible picking, hand the picking to the fleet (the
        carrier's ``send_shipping``: price and tracking reference) and queue the address lookup
        and, when the shop dispatches on confirmation, the dispatch. Returns the new tasks."""
        Task = self.env["lastmile.delivery.task"].sudo()
        pickings = self.filtered(lambda p: p._lastmile_is_eligible())
        if not pickings:
            return Task
        tasks = Task.create([p._prepare_lastmile_task_values() for p in pickings])
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
        products = self.move_ids.product_id.filtered(lambda p: p.type != "service")
        volume = sum(m.product_id.volume * m.product_qty for m in self.move_ids)
        instructions = "\n".join(filter(None, [address.lastmile_instructions, order.lastmile_instructions]))
        return {
            "company_id": self.company_id.id,
            "picking_id": self.id,
            "sale_order_id": order.id,
            "partner_id": (order.partner_id or address).commercial_partner_id.id,
            "partner_shipping_id": address.id,
            "window_start": start,
            "window_end": end,
            "service_minutes": self.company_id.lastmile_service_minutes,
            "weight": self.weight,
            "volume": volume,
            "priority": "1" if self.priority == "1" else "0",
            "instructions": instructions or False,
            "product_ids": [fields.Command.set(products.ids)],
        }

    def _prepare_lastmile_window(self, address):
        """(start, end) in naive UTC: the promised delivery time of the order, else the
        customer's preferred hours, else the shop's delivery hours, on the scheduled day."""
        company = self.company_id
        order = self.sale_id
        if order.commitment_date:
            start = order.commitment_date
            return start, start + timedelta(minutes=company.lastmile_window_minutes or 60)
        day = company._lastmile_date_of(self.scheduled_date or fields.Datetime.now())
        day = max(day, company._lastmile_date_of(fields.Datetime.now()))
        hour_from, hour_to = company.lastmile_delivery_hour_from, company.lastmile_delivery_hour_to
        if address.lastmile_window_from or address.lastmile_window_to:
            hour_from = address.lastmile_window_from
            hour_to = address.lastmile_window_to or hour_to
        return company._lastmile_localize(day, hour_from), company._lastmile_localize(day, hour_to)

    def _lastmile_validate(self):
        """Validate this delivery order for its delivery task, everything delivered."""
        self.ensure_one()
        if self.state != "assigned":
            raise UserError(
                self.env._(
                    "Delivery order %(picking)s is not ready (products not reserved): it cannot be "
                    "validated yet.",
                    picking=self.name,
                )
            )
        self.move_ids.picked = True
        result = self.with_context(
            skip_backorder=True, cancel_backorder=True, picking_ids_not_to_backorder=self.ids
        ).button_validate()
        if isinstance(result, dict):
            raise UserError(
                self.env._(
                    "Delivery order %(picking)s needs attention before it can be validated.",
                    picking=self.name,
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        pickings = super().create(vals_list)
        backorders = pickings.filtered(lambda p: p.backorder_id.sudo().lastmile_task_ids)
        if backorders:
            backorders._lastmile_create_tasks()
        return pickings

    def action_cancel(self):
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
        result = super().action_cancel()
        tasks = self.filtered(lambda p: p.state == "cancel").sudo().lastmile_task_ids
        tasks.filtered(lambda t: t.state != "cancelled")._set_state("cancelled", check=False)
        return result

    def _action_done(self):
        result = super()._action_done()
        tasks = self.filtered(lambda p: p.state == "done").sudo().lastmile_task_ids
        tasks.filtered(lambda t: t.state not in ("delivered", "cancelled"))._set_state(
            "delivered", check=False
        )
        return result
