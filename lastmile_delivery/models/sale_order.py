from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    lastmile_task_ids = fields.One2many(
        "lastmile.delivery.task",
        "sale_order_id",
        string="Delivery Tasks",
        groups="lastmile_delivery.group_lastmile_dispatcher",
    )
    lastmile_task_count = fields.Integer(
        compute="_compute_lastmile_task_count",
        string="Deliveries",
        groups="lastmile_delivery.group_lastmile_dispatcher",
    )
    lastmile_instructions = fields.Text(
        string="Delivery Instructions", help="For the driver, on top of the address's own instructions."
    )

    def write(self, vals):
        result = super().write(vals)
        if {"commitment_date", "lastmile_instructions"} & vals.keys():
            self.picking_ids._lastmile_follow_changes()
        return result

    def _compute_lastmile_task_count(self):
        for order in self:
            order.lastmile_task_count = len(order.lastmile_task_ids)

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
