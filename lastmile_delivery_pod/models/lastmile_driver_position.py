from odoo import fields, models


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
