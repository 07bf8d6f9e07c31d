"""19.0.1.3.0: routes driven before the distance driven was kept get it from the positions
still stored."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["lastmile.route"].search([("date_started", "!=", False)])._lastmile_update_driven_distance()
