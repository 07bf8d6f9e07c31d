from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

# kept this long (days) unless the parameter lastmile_pod.position_retention_days says otherwise
RETENTION_DAYS = 180


class LastmileDriverPosition(models.Model):
    """Where a driver's phone was, while their route was in progress: live ETAs and, later,
    the distance actually driven."""

    _name = "lastmile.driver.position"
    _description = "Driver Position"
    _order = "recorded_at desc, id desc"
    _log_access = False

    driver_id = fields.Many2one(
        "lastmile.driver", required=True, index=True, ondelete="cascade", readonly=True
    )
    route_id = fields.Many2one("lastmile.route", index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    recorded_at = fields.Datetime(required=True, readonly=True, help="On the phone.")
    latitude = fields.Float(digits=(10, 7), required=True, readonly=True)
    longitude = fields.Float(digits=(10, 7), required=True, readonly=True)
    accuracy = fields.Float(string="Accuracy (m)", readonly=True)

    _driver_latest = models.Index("(driver_id, recorded_at DESC, id DESC)")

    @api.autovacuum
    def _gc_positions(self):
        """Drivers' positions are personal data: kept for the reports (distance driven), then
        deleted (``lastmile_pod.position_retention_days``, 180 by default)."""
        param = self.env["ir.config_parameter"].sudo().get_param("lastmile_pod.position_retention_days")
        days = int(param) if param and param.isdigit() and int(param) > 0 else RETENTION_DAYS
        self.env.cr.execute(
            SQL(
                "DELETE FROM lastmile_driver_position WHERE recorded_at < %s",
                fields.Datetime.now() - timedelta(days=days),
            )
        )
