from odoo import models


class ResUsers(models.Model):
    _inherit = "res.users"

    def _lastmile_sees_all_contacts(self):
        """Whether this user reads every contact although a driver: a dispatcher, or a driver
        who also holds a role of another application (sales, stock, invoicing, purchase,
        contact creation…), which works with its contacts. Only drivers and nothing else are
        held to the contacts of their deliveries (see res_partner_rule_lastmile_driver)."""
        self.ensure_one()
        if self.has_group("lastmile_delivery.group_lastmile_dispatcher"):
            return True
        lastmile = self.env.ref("lastmile_delivery.res_groups_privilege_lastmile")
        privileges = self.sudo().all_group_ids.privilege_id
        return bool(privileges - lastmile)
