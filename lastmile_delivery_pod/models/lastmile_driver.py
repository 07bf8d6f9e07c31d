from odoo import api, models


class LastmileDriver(models.Model):
    _inherit = "lastmile.driver"

    @api.model_create_multi
    def create(self, vals_list):
        drivers = super().create(vals_list)
        drivers._lastmile_set_home_action()
        return drivers

    def write(self, vals):
        result = super().write(vals)
        if "user_id" in vals:
            self._lastmile_set_home_action()
        return result

    def _lastmile_set_home_action(self):
        """A driver's login opens My Route (unless someone chose another home for them)."""
        action = self.env.ref("lastmile_delivery_pod.lastmile_driver_day_action", raise_if_not_found=False)
        users = self.sudo().user_id.filtered(lambda u: not u.action_id)
        if action and users:
            users.action_id = action.id
