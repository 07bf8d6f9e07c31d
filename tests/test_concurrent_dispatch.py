"""Dispatch in real, separate transactions, as it happens in a shop with several people.

- Several salespeople confirm own-fleet orders at the same time: none waits for another (no lock
  taken at confirmation), all succeed; the dispatch queued after their commits books no driver
  past the vehicle's capacity.
- Two dispatchers dispatch the same deliveries at once: one wins, the other is told, and no
  delivery is assigned twice.
- The queued dispatch meets a dispatcher working on the same day: it waits for its turn.

These tests need committed data: they commit their fixtures and remove them afterwards.
"""

import uuid
from datetime import datetime
from unittest.mock import patch

import psycopg2
import pytest

import odoo
from odoo import Command
from odoo.addons.lastmile_delivery.tests.common import all_day_calendar
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests.common import get_db_name

DAY = datetime(2030, 1, 7)  # a Monday, far from today: the result does not depend on the clock
SALESPEOPLE = 4


def _env(cr, uid=odoo.SUPERUSER_ID):
    return odoo.api.Environment(cr, uid, {})


@pytest.fixture
def shop():
    """Two drivers of 20 kg on duty around the clock, an own-fleet delivery method, a 6 kg
    product, customers with coordinates, salespeople, and three deliveries to dispatch."""
    registry = Registry(get_db_name())
    run = uuid.uuid4().hex[:8]
    with registry.cursor() as cr:
        env = _env(cr)
        company = env.company
        auto_dispatch = company.lastmile_auto_dispatch
        company.lastmile_auto_dispatch = True
        calendar = env["resource.calendar"].create(all_day_calendar("Concurrency shifts"))
        depot = env["res.partner"].create(
            {"name": "Concurrency depot", "partner_latitude": 50.84, "partner_longitude": 4.35}
        )
        drivers = env["lastmile.driver"].create(
            [
                {
                    "name": f"Racer {i}",
                    "resource_calendar_id": calendar.id,
                    "on_duty": True,
                    "capacity_weight": 20,
                    "start_partner_id": depot.id,
                    "end_partner_id": depot.id,
                }
                for i in range(2)
            ]
        )
        partners = env["res.partner"].create(
            [
                {
                    "name": f"Concurrency customer {i}",
                    "partner_latitude": 50.85 + i / 1000,
                    "partner_longitude": 4.35,
                }
                for i in range(8)
            ]
        )
        product = env["product.product"].create({"name": "Concurrency crate", "type": "consu", "weight": 6.0})
        carrier = env["delivery.carrier"].create(
            {
                "name": "Concurrency fleet",
                "delivery_type": "lastmile",
                "product_id": env["product.product"]
                .create({"name": "Concurrency delivery", "type": "service"})
                .id,
            }
        )
        sellers = (
            env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                [
                    {
                        "name": f"Seller {i}",
                        "login": f"concurrency_seller_{i}_{run}",
                        "group_ids": [
                            Command.set(
                                [
                                    env.ref("sales_team.group_sale_salesman").id,
                                    env.ref("stock.group_stock_user").id,
                                ]
                            )
                        ],
                    }
                    for i in range(SALESPEOPLE)
                ]
            )
        )
        tasks = env["lastmile.delivery.task"].create(
            [
                {
                    "partner_id": partners[0].id,
                    "partner_shipping_id": partners[0].id,
                    "window_start": DAY.replace(hour=9),
                    "window_end": DAY.replace(hour=12),
                }
                for _i in range(3)
            ]
        )
        ids = {
            "company": company.id,
            "auto_dispatch": auto_dispatch,
            "tasks": tasks.ids,
            "drivers": drivers.ids,
            "partners": (partners | depot).ids,
            "calendar": calendar.id,
            "product": product.id,
            "carrier": carrier.id,
            "sellers": sellers.ids,
        }
    yield registry, ids
    with registry.cursor() as cr:
        env = _env(cr)
        orders = env["sale.order"].search([("carrier_id", "=", ids["carrier"])])
        tasks = env["lastmile.delivery.task"].search(
            ["|", ("id", "in", ids["tasks"]), ("sale_order_id", "in", orders.ids)]
        )
        env["mail.message"].search(
            [("model", "=", "lastmile.delivery.task"), ("res_id", "in", tasks.ids)]
        ).unlink()
        tasks._set_state("cancelled", check=False)
        tasks.unlink()
        pickings = orders.picking_ids
        pickings.action_cancel()
        pickings.unlink()
        orders._action_cancel()
        orders.unlink()
        env["lastmile.route"].search([("driver_id", "in", ids["drivers"])]).unlink()
        drivers = env["lastmile.driver"].browse(ids["drivers"])
        resources = drivers.resource_id
        drivers.unlink()
        resources.unlink()
        carrier = env["delivery.carrier"].browse(ids["carrier"])
        delivery_product = carrier.product_id
        carrier.unlink()
        (delivery_product | env["product.product"].browse(ids["product"])).unlink()
        env["res.users"].browse(ids["sellers"]).unlink()
        env["res.partner"].browse(ids["partners"]).unlink()
        env["resource.calendar"].browse(ids["calendar"]).unlink()
        env["res.company"].browse(ids["company"]).lastmile_auto_dispatch = ids["auto_dispatch"]


def _confirm(cr, seller_id, ids, partner_index):
    env = _env(cr, seller_id)
    order = env["sale.order"].create(
        {
            "partner_id": ids["partners"][partner_index],
            "carrier_id": ids["carrier"],
            "commitment_date": DAY.replace(hour=10),
            "order_line": [Command.create({"product_id": ids["product"], "product_uom_qty": 1})],
        }
    )
    order.action_confirm()
    return order.id


def _run_queue(registry):
    """The scheduled action, as the cron worker runs it after the commits."""
    with registry.cursor() as cr:
        _env(cr)["lastmile.delivery.task"]._cron_geocode()


def test_salespeople_confirm_at_once_and_no_driver_is_overbooked(shop):
    registry, ids = shop
    cursors = [registry.cursor() for _i in range(SALESPEOPLE)]
    try:
        orders = []
        for i, cr in enumerate(cursors):
            # a confirmation waiting for another one's lock would fail here instead of hanging
            cr.execute("SET LOCAL lock_timeout = '3s'")
            orders.append(_confirm(cr, ids["sellers"][i], ids, i))
        # and a second order each, all transactions still open
        for i, cr in enumerate(cursors):
            orders.append(_confirm(cr, ids["sellers"][i], ids, SALESPEOPLE + i))
        for cr in cursors:
            cr.commit()
    finally:
        for cr in cursors:
            cr.close()
    _run_queue(registry)
    with registry.cursor() as cr:
        env = _env(cr)
        assert set(env["sale.order"].browse(orders).mapped("state")) == {"sale"}
        tasks = env["lastmile.delivery.task"].search([("sale_order_id", "in", orders)])
        assert len(tasks) == 2 * SALESPEOPLE
        assigned = tasks.filtered("driver_id")
        # 8 crates of 6 kg, two vans of 20 kg: three crates each, two wait with the reason
        assert len(assigned) == 6
        for driver in assigned.driver_id:
            assert sum(assigned.filtered(lambda t, d=driver: t.driver_id == d).mapped("weight")) <= 20
        waiting = tasks - assigned
        assert set(waiting.mapped("state")) == {"new"}
        assert all("No capacity" in issue for issue in waiting.sudo().mapped("dispatch_issue"))
        assert not tasks.sudo().filtered("dispatch_pending"), "every delivery had its dispatch"


def test_second_dispatcher_gets_a_clear_message(shop):
    registry, ids = shop
    with registry.cursor() as cr_a, registry.cursor() as cr_b:
        tasks_a = _env(cr_a)["lastmile.delivery.task"].browse(ids["tasks"])
        tasks_b = _env(cr_b)["lastmile.delivery.task"].browse(ids["tasks"])
        tasks_a.action_dispatch()  # holds the day until it commits
        assert set(tasks_a.mapped("state")) == {"assigned"}
        with pytest.raises(
            UserError, match="Someone else is dispatching or planning the deliveries of 01/07/2030"
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


def test_dispatch_after_a_concurrent_commit_is_retried_not_doubled(shop):
    """B read the tasks before A committed: B's dispatch fails with a serialization error,
    which Odoo retries on a fresh snapshot, where nothing is left to dispatch."""
    registry, ids = shop
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


def test_queued_dispatch_waits_for_a_dispatcher_on_the_same_day(shop):
    """The job meets a dispatcher dispatching the same day: it leaves the deliveries waiting,
    asks to run again shortly, and dispatches them once the dispatcher is done, counting what
    the dispatcher assigned."""
    registry, ids = shop
    with registry.cursor() as cr:
        order = _confirm(cr, ids["sellers"][0], ids, 1)
    with registry.cursor() as cr_dispatcher:
        _env(cr_dispatcher)["lastmile.delivery.task"].browse(ids["tasks"]).action_dispatch()  # 3 × 0 kg
        _run_queue(registry)  # the day is held: postponed, not blocked, not failed
        with registry.cursor() as cr:
            task = _env(cr)["lastmile.delivery.task"].search([("sale_order_id", "=", order)])
            assert (task.state, task.sudo().dispatch_pending) == ("new", True)
            cron = _env(cr).ref("lastmile_delivery.ir_cron_lastmile_geocode")
            assert _env(cr)["ir.cron.trigger"].search_count(
                [("cron_id", "=", cron.id), ("call_at", ">", datetime.now())]
            )
        cr_dispatcher.commit()
    _run_queue(registry)
    with registry.cursor() as cr:
        env = _env(cr)
        task = env["lastmile.delivery.task"].search([("sale_order_id", "=", order)])
        assert task.state == "assigned"
        stops = env["lastmile.delivery.task"].search(
            [("driver_id", "=", task.driver_id.id), ("scheduled_date", "=", DAY.date())]
        )
        assert task.sequence == len(stops), "after the stops the dispatcher gave the same driver"


def test_a_day_that_fails_does_not_stop_the_others(shop):
    """The queued dispatch of one day fails (a bug, a broken rule): that day's deliveries say so
    and are left to the dispatcher; the next day is dispatched all the same."""
    registry, ids = shop
    next_day = DAY.replace(day=DAY.day + 1)
    with registry.cursor() as cr:
        env = _env(cr)
        tasks = env["lastmile.delivery.task"].browse(ids["tasks"])
        tasks[:1].write({"window_start": next_day.replace(hour=9), "window_end": next_day.replace(hour=12)})
        tasks.sudo().dispatch_pending = True
    model = registry["lastmile.delivery.task"]
    prepare = model._prepare_dispatch_day

    def broken_on_the_first_day(self, company, day):
        if day == DAY.date():
            raise ValueError("a broken rule")
        return prepare(self, company, day)

    with patch.object(model, "_prepare_dispatch_day", broken_on_the_first_day):
        _run_queue(registry)
    with registry.cursor() as cr:
        tasks = _env(cr)["lastmile.delivery.task"].browse(ids["tasks"])
        moved, stuck = tasks[:1], tasks[1:]
        assert moved.state == "assigned"
        assert set(stuck.mapped("state")) == {"new"}
        assert all(
            "Automatic dispatch failed: a broken rule" in issue
            for issue in stuck.sudo().mapped("dispatch_issue")
        )
        assert not tasks.sudo().filtered("dispatch_pending")
