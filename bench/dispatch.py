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

from odoo_day import make_day, open_registry


def run_once(registry, n_tasks, n_drivers, seed):
    import odoo

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        tasks = make_day(
            env,
            n_tasks,
            n_drivers,
            random.Random(seed),
            tz="UTC",
            capacity=400.0,
            first_hours=(8, 13),
            window_hours=[1, 2, 4],
            max_weight=20.0,
            urgent_share=0.1,
        )
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

    registry = open_registry(args.db)
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
