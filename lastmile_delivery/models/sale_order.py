from markupsafe import Markup

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

    def _lastmile_tracked_tasks(self):
        """The deliveries of this order the customer can follow (the latest attempt of each)."""
        self.ensure_one()
        return (
            self.sudo()
            .lastmile_task_ids.filtered(lambda t: t.state != "cancelled")
            .sorted("id", reverse=True)
        )

    def _notify_by_email_prepare_rendering_context(
        self,
        message,
        msg_vals=False,
        model_description=False,
        force_email_company=False,
        force_email_lang=False,
        force_record_name=False,
    ):
        """The order's emails (its confirmation first) carry the link to follow its delivery."""
        context = super()._notify_by_email_prepare_rendering_context(
            message,
            msg_vals=msg_vals,
            model_description=model_description,
            force_email_company=force_email_company,
            force_email_lang=force_email_lang,
            force_record_name=force_record_name,
        )
        task = self._lastmile_tracked_tasks()[:1] if len(self) == 1 else None
        if task and task.state not in ("delivered", "failed"):
            link = Markup('<a href="%s">%s</a>') % (task.tracking_url, self.env._("Follow your delivery"))
            context["subtitles"] = [*(context.get("subtitles") or []), link]
        return context
