"""Benchmark of automatic dispatch: N new tasks across M drivers, in one Odoo transaction.

Run after `make test` (it uses the test database and .local/odoo.conf)::

    .venv/bin/python bench/dispatch.py [--tasks 500] [--drivers 50] [--repeat 3]

Prints one JSON line per run with the wall time and the SQL queries of `action_dispatch()`,
then a summary line. Target (issue 3): 500 tasks x 50 drivers under 5 s on 2 cores, with a
number of queries that does not grow with the number of tasks (the run with a tenth of the
tasks is printed for comparison). Everything is rolled back: the database is left unchanged.
Exits 1 when the time target is missed.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CENTER = (50.8466, 4.3528)  # Brussels, Grand-Place
DAY = datetime(2030, 1, 8)  # a Tuesday


def build(env, n_tasks, n_drivers, seed):
    rng = random.Random(seed)
    calendar = env["resource.calendar"].create({"name": "Bench shifts", "tz": "UTC"})
    depot = env["res.partner"].create(
        {"name": "Bench depot", "partner_latitude": CENTER[0], "partner_longitude": CENTER[1]}
    )
    env["lastmile.driver"].create(
        [
            {
                "name": f"Bench driver {i:02d}",
                "resource_calendar_id": calendar.id,
                "on_duty": True,
                "capacity_weight": 400.0,
                "start_partner_id": depot.id,
            }
            for i in range(n_drivers)
        ]
    )
    partners = env["res.partner"].create(
        [
            {
                "name": f"Bench customer {i:04d}",
                "partner_latitude": CENTER[0] + rng.uniform(-0.06, 0.06),
                "partner_longitude": CENTER[1] + rng.uniform(-0.09, 0.09),
            }
            for i in range(n_tasks)
        ]
    )
    tasks = env["lastmile.delivery.task"].create(
        [
            {
                "partner_id": partner.id,
                "partner_shipping_id": partner.id,
                "window_start": DAY + timedelta(hours=start),
                "window_end": DAY + timedelta(hours=start + rng.choice([1, 2, 4])),
                "weight": round(rng.uniform(0.5, 20.0), 1),
                "priority": "1" if rng.random() < 0.1 else "0",
            }
            for partner, start in ((p, rng.randint(8, 13)) for p in partners)
        ]
    )
    env.flush_all()
    env.invalidate_all()
    return tasks


def run_once(registry, n_tasks, n_drivers, seed):
    import odoo

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env.company.lastmile_auto_dispatch = False
        tasks = build(env, n_tasks, n_drivers, seed)
        queries = cr.sql_log_count
        start = time.perf_counter()
        tasks.action_dispatch()
        env.flush_all()
        seconds = time.perf_counter() - start
        queries = cr.sql_log_count - queries
        assigned = len(tasks.filtered(lambda t: t.state == "assigned"))
        cr.rollback()
    return {
        "tasks": n_tasks,
        "drivers": n_drivers,
        "seconds": round(seconds, 3),
        "queries": queries,
        "assigned": assigned,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--drivers", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", type=float, default=5.0, help="seconds allowed for the full size")
    parser.add_argument("--db", default=os.environ.get("TEST_DB_NAME") or "lastmile_test")
    args = parser.parse_args()

    config_file = ROOT / ".local" / "odoo.conf"
    if not config_file.exists():
        sys.exit("Run `make test` (or `make provision`) first: .local/odoo.conf is missing.")
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(["-c", str(config_file), "-d", args.db, "--log-level=warn"])
    registry = Registry(args.db)
    small = run_once(registry, max(args.tasks // 10, 1), args.drivers, seed=1)
    print(json.dumps({"run": "small", **small}))
    runs = []
    for i in range(args.repeat):
        result = run_once(registry, args.tasks, args.drivers, seed=1 + i)
        runs.append(result)
        print(json.dumps({"run": i + 1, **result}))
    best = min(r["seconds"] for r in runs)
    growth = runs[0]["queries"] - small["queries"]
    summary = {
        "summary": f"{args.tasks} tasks x {args.drivers} drivers",
        "best_seconds": best,
        "target_seconds": args.target,
        "queries": runs[0]["queries"],
        "queries_for_a_tenth": small["queries"],
        "extra_queries_for_10x_tasks": growth,
        "ok": best < args.target,
    }
    print(json.dumps(summary))
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
