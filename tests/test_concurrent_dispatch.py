"""Two dispatchers dispatching the same deliveries at once: one wins, the other is told, and
no delivery is assigned twice. Needs committed data, so it commits its fixtures and removes
them afterwards."""

from datetime import datetime

import psycopg2
import pytest

import odoo
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests.common import get_db_name


@pytest.fixture
def committed_tasks():
    registry = Registry(get_db_name())
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        calendar = env["resource.calendar"].create({"name": "Concurrency shifts", "tz": "UTC"})
        calendar.attendance_ids = [
            odoo.Command.clear(),
            *[
                odoo.Command.create({"name": f"D{d}", "dayofweek": str(d), "hour_from": 0, "hour_to": 23.99})
                for d in range(7)
            ],
        ]
        drivers = env["lastmile.driver"].create(
            [{"name": f"Racer {i}", "resource_calendar_id": calendar.id, "on_duty": True} for i in range(2)]
        )
        partner = env["res.partner"].create(
            {"name": "Concurrency customer", "partner_latitude": 50.85, "partner_longitude": 4.35}
        )
        tasks = env["lastmile.delivery.task"].create(
            [
                {
                    "partner_id": partner.id,
                    "partner_shipping_id": partner.id,
                    "window_start": datetime(2030, 1, 7, 9),
                    "window_end": datetime(2030, 1, 7, 12),
                }
                for _i in range(3)
            ]
        )
        ids = {"tasks": tasks.ids, "drivers": drivers.ids, "partner": partner.id, "calendar": calendar.id}
    yield registry, ids
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env["mail.message"].search(
            [("model", "=", "lastmile.delivery.task"), ("res_id", "in", ids["tasks"])]
        ).unlink()
        env["lastmile.delivery.task"].browse(ids["tasks"])._set_state("cancelled", check=False)
        env["lastmile.delivery.task"].browse(ids["tasks"]).unlink()
        drivers = env["lastmile.driver"].browse(ids["drivers"])
        resources = drivers.resource_id
        drivers.unlink()
        resources.unlink()
        env["res.partner"].browse(ids["partner"]).unlink()
        env["resource.calendar"].browse(ids["calendar"]).unlink()


def _env(cr):
    return odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})


def test_second_dispatcher_gets_a_clear_message(committed_tasks):
    registry, ids = committed_tasks
    with registry.cursor() as cr_a, registry.cursor() as cr_b:
        tasks_a = _env(cr_a)["lastmile.delivery.task"].browse(ids["tasks"])
        tasks_b = _env(cr_b)["lastmile.delivery.task"].browse(ids["tasks"])
        tasks_a.action_dispatch()  # holds the row locks until it commits
        assert set(tasks_a.mapped("state")) == {"assigned"}
        with pytest.raises(
            UserError, match="Someone else is dispatching or planning the deliveries of 2030-01-07 right now"
        ):
            tasks_b.action_dispatch()
        cr_b.rollback()
        cr_a.commit()
    with registry.cursor() as cr:
        tasks = _env(cr)["lastmile.delivery.task"].browse(ids["tasks"])
        assert set(tasks.mapped("state")) == {"assigned"}
        notes = _env(cr)["mail.message"].search_count(
            [
                ("model", "=", "lastmile.delivery.task"),
                ("res_id", "in", ids["tasks"]),
                ("body", "ilike", "Assigned to"),
            ]
        )
        assert notes == len(ids["tasks"]), "one assignment each, not two"


def test_dispatch_after_a_concurrent_commit_is_retried_not_doubled(committed_tasks):
    """B read the tasks before A committed: B's dispatch fails with a serialization error,
    which Odoo retries on a fresh snapshot, where nothing is left to dispatch."""
    registry, ids = committed_tasks
    with registry.cursor() as cr_a, registry.cursor() as cr_b:
        tasks_b = _env(cr_b)["lastmile.delivery.task"].browse(ids["tasks"])
        assert set(tasks_b.mapped("state")) == {"new"}  # B's snapshot starts here
        _env(cr_a)["lastmile.delivery.task"].browse(ids["tasks"]).action_dispatch()
        cr_a.commit()
        with pytest.raises(psycopg2.errors.SerializationFailure):
            tasks_b.action_dispatch()
        cr_b.rollback()
        # the retry, as Odoo's RPC layer does it: nothing left to dispatch, nothing changed
        tasks_b.invalidate_recordset()
        drivers_before = tasks_b.mapped("driver_id")
        tasks_b.action_dispatch()
        assert tasks_b.mapped("driver_id") == drivers_before
        cr_b.commit()
