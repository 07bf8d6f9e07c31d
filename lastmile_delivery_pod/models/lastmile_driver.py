from odoo import api, fields, models
from odoo.tools import SQL


class LastmileDriver(models.Model):
    _inherit = "lastmile.driver"

    # Where the driver is comes from the positions the phone posts, not from the driver's row:
    # that row is what concurrent dispatches and plannings lock (see _touch_dispatch), and a
    # position written on it every few seconds would make a planning running meanwhile fail.
    current_latitude = fields.Float(compute="_compute_live_position", inverse="_inverse_live_position")
    current_longitude = fields.Float(compute="_compute_live_position", inverse="_inverse_live_position")
    last_seen = fields.Datetime(compute="_compute_live_position", inverse="_inverse_live_position")

    def _compute_live_position(self):
        latest = {}
        if self.ids:
            self.env["lastmile.driver.position"].flush_model()
            self.env.cr.execute(
                SQL(
                    "SELECT DISTINCT ON (driver_id) driver_id, latitude, longitude, recorded_at "
                    "FROM lastmile_driver_position WHERE driver_id IN %s "
                    "ORDER BY driver_id, recorded_at DESC, id DESC",
                    tuple(self.ids),
                )
            )
            latest = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        for driver in self:
            driver.current_latitude, driver.current_longitude, driver.last_seen = latest.get(
                driver.id, (0.0, 0.0, False)
            )

    def _inverse_live_position(self):
        """A position set by hand (an import, the demo) is one more position of the log."""
        self.env["lastmile.driver.position"].sudo().create(
            [
                {
                    "driver_id": driver.id,
                    "company_id": driver.company_id.id,
                    "recorded_at": driver.last_seen or fields.Datetime.now(),
                    "latitude": driver.current_latitude,
                    "longitude": driver.current_longitude,
                }
                for driver in self
                if driver.current_latitude or driver.current_longitude
            ]
        )

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
