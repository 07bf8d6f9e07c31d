"""19.0.1.1.0: a delivery order may have several delivery tasks (failed attempts stay), one under
way at a time: the unique constraint on ``picking_id`` becomes a partial unique index of the
same name. The geocoder's retry flag was renamed ``geocode_pending``."""

from odoo.tools import SQL
from odoo.tools.sql import column_exists


def migrate(cr, version):
    cr.execute(
        SQL(
            "ALTER TABLE lastmile_delivery_task DROP CONSTRAINT IF EXISTS lastmile_delivery_task_picking_uniq"
        )
    )
    if column_exists(cr, "lastmile_delivery_task", "geocode_retry") and not column_exists(
        cr, "lastmile_delivery_task", "geocode_pending"
    ):
        cr.execute(SQL("ALTER TABLE lastmile_delivery_task RENAME COLUMN geocode_retry TO geocode_pending"))
