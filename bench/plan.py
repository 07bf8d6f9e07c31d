"""End-to-end route planning in Odoo: N open deliveries over M drivers, in one transaction.

Run after `make test` (it uses the test database and .local/odoo.conf)::

    .venv/bin/python bench/plan.py [--stops 1000] [--drivers 50] [--time-limit 30] [--pinned 0.1]
    .venv/bin/python bench/plan.py --stops 5000 --drivers 200 --time-limit 60 --target 120

Prints one JSON line: wall time of `lastmile.route.plan_routes()` (matrix, engine, writing the
routes and the tasks back), the engine's own search time, SQL queries, stops planned and left
out, and the peak memory (resident set) of the Odoo process and of the search's child process.
Targets: 1,000 stops / 50 drivers under 60 s (issue 4); 5,000 stops / 200 drivers under 120 s
with 60 s of search, the Odoo process within Odoo's default memory limit (limit_memory_soft,
2 GiB) (issue 11). Everything is rolled back. Exits 1 when a target is missed.
"""

import argparse
import json
import os
import random
import resource
import sys
import time

from odoo_day import DAY, make_day, open_registry


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stops", "--tasks", dest="tasks", type=int, default=1000)
    parser.add_argument("--drivers", type=int, default=50)
    parser.add_argument("--time-limit", type=int, default=30, help="search time given to the engine")
    parser.add_argument("--target", type=float, default=60.0)
    parser.add_argument(
        "--pinned",
        type=float,
        default=0.0,
        help="share of deliveries whose driver a dispatcher chose by hand (0.1: a tenth), as in "
        "most shops' plans",
    )
    parser.add_argument(
        "--memory-limit",
        type=int,
        default=2048,
        help="MiB the Odoo process may reach (Odoo's limit_memory_soft)",
    )
    parser.add_argument("--db", default=os.environ.get("TEST_DB_NAME") or "lastmile_test")
    args = parser.parse_args()
    import odoo

    registry = open_registry(args.db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env.company.partner_id.tz = "Europe/Brussels"
        rng = random.Random(1)
        tasks = make_day(
            env,
            args.tasks,
            args.drivers,
            rng,
            tz="Europe/Brussels",
            capacity=600.0,
            first_hours=(7, 12),
            window_hours=[2, 3, 4],
            max_weight=15.0,
        )
        drivers = env["lastmile.driver"].search([("name", "like", "Bench driver")])
        for task in tasks.filtered(lambda t: rng.random() < args.pinned):
            task.driver_id = rng.choice(drivers)  # as a drag on the board: the driver is kept
        env.flush_all()
        queries = cr.sql_log_count
        started = time.perf_counter()
        summary = env["lastmile.route"].plan_routes(DAY.date(), time_limit=args.time_limit)
        env.flush_all()
        seconds = time.perf_counter() - started
        queries = cr.sql_log_count - queries
        cr.rollback()
    mib = 1024  # ru_maxrss is in KiB on Linux
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / mib
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / mib
    result = {
        "tasks": args.tasks,
        "drivers": args.drivers,
        "pinned": args.pinned,
        "seconds": round(seconds, 2),
        "engine": summary["engine"],
        "engine_seconds": summary["seconds"],
        "queries": queries,
        "routes": summary["routes"],
        "planned": summary["planned"],
        "unserved": len(summary["unserved"]),
        "peak_rss_mib": round(peak),
        "search_child_peak_rss_mib": round(child_peak),
        "target_seconds": args.target,
        "memory_limit_mib": args.memory_limit,
        "ok": seconds < args.target and peak < args.memory_limit,
    }
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
