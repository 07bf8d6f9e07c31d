"""19.0.1.1.0: the addon was an empty skeleton before; a database that had it installed gets
what a new install gets from its post_init_hook: its drivers open My Route."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["lastmile.driver"].with_context(active_test=False).search([])._lastmile_set_home_action()
