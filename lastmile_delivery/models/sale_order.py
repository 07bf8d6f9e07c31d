import logging

from odoo import fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)


class SaleOrder(models.Model):
    _inherit = "sale.order"

    lastmile_task_ids = fields.One2many("lastmile.delivery.task", "sale_order_id", string="Delivery Tasks")
    lastmile_task_count = fields.Integer(compute="_compute_lastmile_task_count", string="Deliveries")
    lastmile_instructions = fields.Text(
        string="Delivery Instructions", help="For the driver, on top of the address's own instructions."
    )

    def _compute_lastmile_task_count(self):
        for order in self:
            order.lastmile_task_count = len(order.lastmile_task_ids)

    def _action_confirm(self):
        result = super()._action_confirm()
        tasks = self.picking_ids._lastmile_create_tasks()
        to_dispatch = tasks.filtered(
            lambda t: t.company_id.lastmile_auto_dispatch and t.address_state == "ok"
        )
        if to_dispatch:
            # Dispatch must never block a confirmation: a failure leaves the tasks to dispatch.
            try:
                with self.env.cr.savepoint():
                    to_dispatch._dispatch()
            except UserError as error:
                _logger.info("Automatic dispatch postponed: %s", error)
                to_dispatch._message_log_batch(
                    bodies={
                        task.id: self.env._("Automatic dispatch postponed: %s", error) for task in to_dispatch
                    }
                )
        return result

    def action_view_lastmile_tasks(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "lastmile_delivery.lastmile_delivery_task_action"
        )
        action["domain"] = [("sale_order_id", "=", self.id)]
        action["context"] = {"create": False}
        if len(self.lastmile_task_ids) == 1:
            action.update(view_mode="form", views=[(False, "form")], res_id=self.lastmile_task_ids.id)
        return action
