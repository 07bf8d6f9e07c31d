from odoo import models


class StockMove(models.Model):
    _inherit = "stock.move"

    def _action_confirm(self, merge=True, merge_into=False, create_proc=True):
        """An outgoing transfer of the own fleet gets its delivery task once its moves are
        confirmed, whichever flow made it: a sales order, the last step of a multi-step
        delivery, a transfer entered by hand."""
        moves = super()._action_confirm(merge=merge, merge_into=merge_into, create_proc=create_proc)
        moves.picking_id._lastmile_create_tasks()
        return moves

    def _action_cancel(self):
        """Moves cancelled by any flow (a transfer cancelled, an order line set to zero, a
        cancel propagated along a chain): a transfer left with nothing to deliver cancels its
        delivery task."""
        result = super()._action_cancel()
        self.picking_id._lastmile_sync_cancelled()
        return result
