from odoo import api, fields, models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    lastmile_task_ids = fields.One2many("lastmile.delivery.task", "picking_id", string="Delivery Tasks")

    def _lastmile_is_eligible(self):
        self.ensure_one()
        return (
            self.picking_type_code == "outgoing"
            and self.carrier_id.delivery_type == "lastmile"
            and self.state not in ("done", "cancel")
            and not self.lastmile_task_ids
        )

    def _lastmile_create_tasks(self):
        """Create the delivery task of each eligible picking; returns the new tasks, located."""
        Task = self.env["lastmile.delivery.task"]
        pickings = self.filtered(lambda p: p._lastmile_is_eligible())
        if not pickings:
            return Task
        tasks = Task.sudo().create([Task._prepare_values_from_picking(p) for p in pickings]).sudo(False)
        for task in tasks:
            task.picking_id.carrier_tracking_ref = task.name
        tasks._geocode()
        return tasks

    @api.model_create_multi
    def create(self, vals_list):
        pickings = super().create(vals_list)
        backorders = pickings.filtered(lambda p: p.backorder_id.lastmile_task_ids)
        if backorders:
            backorders._lastmile_create_tasks()
        return pickings

    def action_cancel(self):
        result = super().action_cancel()
        tasks = self.filtered(lambda p: p.state == "cancel").lastmile_task_ids
        tasks = tasks.filtered(lambda t: t.state != "cancelled")
        tasks.with_context(lastmile_picking_sync=True).write({"state": "cancelled"})
        return result

    def _action_done(self):
        result = super()._action_done()
        tasks = self.filtered(lambda p: p.state == "done").lastmile_task_ids
        tasks = tasks.filtered(lambda t: t.state not in ("delivered", "cancelled"))
        tasks.with_context(lastmile_picking_sync=True).write({"state": "delivered"})
        return result
