"""End-to-end route planning in Odoo: N open deliveries over M drivers, in one transaction.

Run after `make test` (it uses the test database and .local/odoo.conf)::

    .venv/bin/python bench/plan.py [--tasks 1000] [--drivers 50] [--time-limit 30]

Prints one JSON line: wall time of `lastmile.route.plan_routes()` (matrix, engine, writing the
routes and the tasks back), the engine's own search time, SQL queries, stops planned and left
out. Target (issue 4): 1,000 stops / 50 drivers under 60 s. Everything is rolled back.
Exits 1 when the target is missed.
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
CENTER = (50.8466, 4.3528)  # Brussels
DAY = datetime(2030, 1, 8)  # a Tuesday


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--drivers", type=int, default=50)
    parser.add_argument("--time-limit", type=int, default=30, help="search time given to the engine")
    parser.add_argument("--target", type=float, default=60.0)
    parser.add_argument("--db", default=os.environ.get("TEST_DB_NAME") or "lastmile_test")
    args = parser.parse_args()
    config_file = ROOT / ".local" / "odoo.conf"
    if not config_file.exists():
        sys.exit("Run `make test` (or `make provision`) first: .local/odoo.conf is missing.")
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(["-c", str(config_file), "-d", args.db, "--log-level=warn"])
    registry = Registry(args.db)
    rng = random.Random(1)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env.company.write({"lastmile_auto_dispatch": False})
        env.company.partner_id.tz = "Europe/Brussels"
        calendar = env["resource.calendar"].create({"name": "Bench shifts", "tz": "Europe/Brussels"})
        depot = env["res.partner"].create(
            {"name": "Bench depot", "partner_latitude": CENTER[0], "partner_longitude": CENTER[1]}
        )
        env["lastmile.driver"].create(
            [
                {
                    "name": f"Bench driver {i:02d}",
                    "resource_calendar_id": calendar.id,
                    "on_duty": True,
                    "capacity_weight": 600.0,
                    "start_partner_id": depot.id,
                    "end_partner_id": depot.id,
                }
                for i in range(args.drivers)
            ]
        )
        partners = env["res.partner"].create(
            [
                {
                    "name": f"Bench customer {i:04d}",
                    "partner_latitude": CENTER[0] + rng.uniform(-0.06, 0.06),
                    "partner_longitude": CENTER[1] + rng.uniform(-0.09, 0.09),
                }
                for i in range(args.tasks)
            ]
        )
        env["lastmile.delivery.task"].create(
            [
                {
                    "partner_id": p.id,
                    "partner_shipping_id": p.id,
                    "window_start": DAY + timedelta(hours=start),
                    "window_end": DAY + timedelta(hours=start + rng.choice([2, 3, 4])),
                    "weight": round(rng.uniform(0.5, 15.0), 1),
                }
                for p, start in ((p, rng.randint(7, 12)) for p in partners)
            ]
        )
        env.flush_all()
        env.invalidate_all()
        queries = cr.sql_log_count
        started = time.perf_counter()
        summary = env["lastmile.route"].plan_routes(DAY.date(), time_limit=args.time_limit)
        env.flush_all()
        seconds = time.perf_counter() - started
        queries = cr.sql_log_count - queries
        cr.rollback()
    result = {
        "tasks": args.tasks,
        "drivers": args.drivers,
        "seconds": round(seconds, 2),
        "engine": summary["engine"],
        "engine_seconds": summary["seconds"],
        "queries": queries,
        "routes": summary["routes"],
        "planned": summary["planned"],
        "unserved": len(summary["unserved"]),
        "target_seconds": args.target,
        "ok": seconds < args.target,
    }
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
