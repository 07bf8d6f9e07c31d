"""Benchmark of the reports (issue 10): 100,000 ended deliveries over 90 days and 60 drivers,
then the reads the web client makes to open the reports' pivots and the dashboard, as a
dispatcher (record rules apply), in the shop's time zone.

Run after `make test` (it copies the test database, where lastmile_delivery_reports is
installed, and drops the copy at the end)::

    .venv/bin/python bench/reports.py [--tasks 100000] [--days 90] [--drivers 60] [--repeat 5]

Each delivery has its order and its delivery order, which the reports join. Each read is the
ORM call the browser makes through RPC: `formatted_read_grouping_sets` for a pivot (the web
client's and the spreadsheet's), `formatted_read_group` for a dashboard chart, `web_search_read`
for the list, with the domain of the view's default filter (the last 30 days) or of the
dashboard's date filter; and the daily operations report of today's 60 routes, rendered as HTML
(wkhtmltopdf's conversion to PDF is left out). Prints one JSON line per read (first run, then
the median and the worst of the repeats) and a summary. Target: each read under 1 s on 2 cores.
Exits 1 when it is missed.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from http_bench import copy_database, drop_database
from odoo_day import configure, open_registry

DASHBOARD = (
    Path(__file__).resolve().parent.parent / "lastmile_delivery_reports/data/files/lastmile_dashboard.json"
)
BENCH_DB = "lastmile_bench_reports"
TARGET_S = 1.0


def load(env, n_tasks, n_days, n_drivers):
    """Drivers, customers and routes through the ORM, the deliveries in one INSERT … SELECT
    (what years of the flows would leave: windows, times of delivery, ETAs, attempts, failures,
    ratings), spread over the last ``n_days`` days."""
    cr = env.cr
    company = env.company
    company.partner_id.tz = "Europe/Brussels"
    drivers = env["lastmile.driver"].create(
        [{"name": f"Bench driver {n:02d}", "vehicle_name": f"Van {n % 12}"} for n in range(n_drivers)]
    )
    customers = env["res.partner"].create(
        [
            {"name": f"Bench customer {n}", "zip": str(1000 + n % 90 * 10), "city": "Brussels"}
            for n in range(600)
        ]
    )
    reasons = env["lastmile.failure.reason"].search([])
    env.flush_all()
    today = date.today()
    cr.execute("SELECT setseed(0.42)")
    cr.execute(
        """INSERT INTO lastmile_route (name, driver_id, date, company_id, state, start_time, end_time,
                                      date_started, planned_distance_km, planned_duration_min,
                                      baseline_distance_km, baseline_duration_min, baseline_late_count,
                                      saving_km, saving_min, driven_distance_km, stop_count)
           SELECT 'bench', d, day, %(company)s, 'done', day + time '07:00', day + time '16:00',
                  day + time '07:00' + random() * interval '20 minutes',
                  p.km, p.min, p.km * 1.2, p.min * 1.15, (random() * 2)::int,
                  p.km * 0.2, p.min * 0.15, p.km * (0.9 + random() * 0.2), 30
             FROM unnest(%(drivers)s::int[]) AS d,
                  generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS day,
                  LATERAL (SELECT 40 + random() * 40 AS km, 300 + random() * 120 AS min) p""",
        {
            "company": company.id,
            "drivers": drivers.ids,
            "first": today - timedelta(days=n_days - 1),
            "last": today,
        },
    )
    cr.execute(
        """WITH r AS (SELECT id, driver_id, date, row_number() OVER (ORDER BY id) - 1 AS n,
                             COUNT(*) OVER () AS total
                        FROM lastmile_route WHERE name = 'bench'),
                t AS (SELECT i, random() AS luck, random() AS late, (random() * 9)::int AS hour,
                             (random() * 599)::int AS customer
                        FROM generate_series(0, %(tasks)s - 1) AS i)
           INSERT INTO lastmile_delivery_task (name, company_id, state, partner_id, partner_shipping_id,
                                               window_start, window_end, scheduled_date, driver_id,
                                               route_id, sequence, attempt, date_delivered, date_closed,
                                               date_arrived, eta, eta_planned, failure_reason_id,
                                               rating_last_value, create_date, write_date)
           SELECT 'BENCH/' || t.i, %(company)s,
                  CASE WHEN t.luck < 0.06 THEN 'failed' ELSE 'delivered' END,
                  (%(customers)s::int[])[t.customer + 1], (%(customers)s::int[])[t.customer + 1],
                  r.date + make_interval(hours => 8 + t.hour), r.date + make_interval(hours => 9 + t.hour),
                  r.date, r.driver_id, r.id, 1 + t.i %% 40,
                  CASE WHEN t.luck < 0.03 OR t.luck > 0.97 THEN 2 ELSE 1 END,
                  CASE WHEN t.luck >= 0.06
                       THEN r.date + make_interval(hours => 8 + t.hour, mins => (t.late * 80)::int) END,
                  r.date + make_interval(hours => 8 + t.hour, mins => (t.late * 80)::int),
                  r.date + make_interval(hours => 8 + t.hour, mins => (t.late * 80)::int - 3),
                  r.date + make_interval(hours => 8 + t.hour, mins => 30),
                  r.date + make_interval(hours => 8 + t.hour, mins => 30),
                  CASE WHEN t.luck < 0.06
                       THEN (%(reasons)s::int[])[1 + t.i %% array_length(%(reasons)s::int[], 1)] END,
                  CASE WHEN t.luck BETWEEN 0.5 AND 0.7 THEN 1 + (t.late * 4)::int ELSE 0 END,
                  r.date - interval '1 day' + make_interval(hours => 18), now() at time zone 'UTC'
             FROM t JOIN r ON r.n = t.i %% r.total""",
        {
            "tasks": n_tasks,
            "company": company.id,
            "customers": customers.ids,
            "reasons": reasons.ids or [None],
        },
    )
    # each delivery with its order (confirmed the evening before) and its delivery order, as
    # the flows make them: the reports join both
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
    picking_type = warehouse.out_type_id
    cr.execute(
        """WITH t AS (SELECT id, partner_id, create_date
                        FROM lastmile_delivery_task WHERE name LIKE 'BENCH/%%'),
                so AS (INSERT INTO sale_order (name, partner_id, partner_invoice_id, partner_shipping_id,
                                               company_id, date_order, picking_policy, state, warehouse_id)
                       SELECT 'BENCH-SO/' || t.id, t.partner_id, t.partner_id, t.partner_id, %(company)s,
                              t.create_date, 'direct', 'sale', %(warehouse)s
                         FROM t RETURNING id, name),
                pk AS (INSERT INTO stock_picking (name, picking_type_id, location_id, location_dest_id,
                                                  move_type, company_id, state, origin)
                       SELECT 'BENCH-OUT/' || t.id, %(type)s, %(source)s, %(destination)s, 'direct',
                              %(company)s, 'done', 'BENCH-SO/' || t.id
                         FROM t RETURNING id, origin)
           UPDATE lastmile_delivery_task task
              SET sale_order_id = so.id, picking_id = pk.id
             FROM so JOIN pk ON pk.origin = so.name
            WHERE so.name = 'BENCH-SO/' || task.id""",
        {
            "company": company.id,
            "warehouse": warehouse.id,
            "type": picking_type.id,
            "source": picking_type.default_location_src_id.id,
            "destination": env.ref("stock.stock_location_customers").id,
        },
    )
    cr.execute("ANALYZE sale_order")
    cr.execute("ANALYZE stock_picking")
    cr.execute("ANALYZE lastmile_delivery_task")
    cr.execute("ANALYZE lastmile_route")
    user = env["res.users"].create(
        {
            "name": "Bench dispatcher",
            "login": "bench_reports_dispatcher",
            "tz": "Europe/Brussels",
            "group_ids": [(6, 0, [env.ref("lastmile_delivery.group_lastmile_dispatcher").id])],
        }
    )
    return user.id


def period(days=30, offset=0):
    """The dashboard's date filter: the last ``days`` days, or the ``offset``-th period before."""
    last = date.today() + timedelta(days=days * offset)
    return [("date", ">=", str(last - timedelta(days=days - 1))), ("date", "<=", str(last))]


def pivot_read(model, domain, rows, cols, measures):
    """The grouping sets the pivot asks for: the total, each header, each cell."""
    sets = [[], rows, cols, rows + cols] if cols else [[], rows]
    return ("formatted_read_grouping_sets", model, domain, sets, measures)


def view_reads():
    """Opening the reports' pivots from the menu, with their default filter."""
    return {
        "pivot deliveries driver x week (30 days)": pivot_read(
            "lastmile.delivery.report",
            period(30),
            ["driver_id"],
            ["date:week"],
            ["delivered_count:sum", "on_time_rate:avg", "first_attempt_rate:avg", "__count"],
        ),
        "pivot deliveries driver x week (90 days)": pivot_read(
            "lastmile.delivery.report",
            [],
            ["driver_id"],
            ["date:week"],
            ["delivered_count:sum", "on_time_rate:avg", "first_attempt_rate:avg", "__count"],
        ),
        "pivot routes driver x week (90 days)": pivot_read(
            "lastmile.route.report",
            [],
            ["driver_id"],
            ["date:week"],
            ["shift_count:sum", "deliveries_per_shift:avg", "deliveries_per_hour:avg", "__count"],
        ),
    }


def dashboard_reads(path=DASHBOARD):
    """The dashboard's pivots and charts, with its date filter on the last 30 days."""
    data = json.loads(path.read_text())
    reads = {}
    for pivot_id, pivot in data.get("pivots", {}).items():
        groupby = lambda dims: [  # noqa: E731
            f"{d['fieldName']}:{d['granularity']}" if d.get("granularity") else d["fieldName"] for d in dims
        ]
        measures = [
            m["id"] if ":" in m.get("id", "") else f"{m['fieldName']}:{m.get('aggregator') or 'sum'}"
            for m in pivot.get("measures", [])
            if m.get("fieldName") not in (None, "__count") and not m.get("computedBy")
        ] + ["__count"]
        offset = next(iter(pivot.get("fieldMatching", {}).values()), {}).get("offset", 0)
        reads[f"dashboard pivot {pivot_id} {pivot.get('name') or pivot['model']}"] = pivot_read(
            pivot["model"],
            list(pivot.get("domain") or []) + period(30, offset),
            groupby(pivot.get("rows", [])),
            groupby(pivot.get("columns", [])),
            measures,
        )
    for sheet in data.get("sheets", []):
        for figure in sheet.get("figures", []):
            chart = figure.get("data", {})
            meta = chart.get("metaData")
            if not meta:
                continue
            search = chart.get("searchParams", {})
            measure = meta["measure"]
            aggregates = [measure]  # with the field's aggregator, as the graph view asks
            reads[f"dashboard chart {measure} by {', '.join(meta.get('groupBy') or [])}"] = (
                "formatted_read_group",
                meta["resModel"],
                list(search.get("domain") or []) + period(30),
                meta.get("groupBy") or [],
                aggregates,
            )
    return reads


def other_reads():
    """The list of the deliveries (its first page) and the daily operations report of today."""
    return {
        "list deliveries (30 days, first 80)": (
            "web_search_read",
            "lastmile.delivery.report",
            period(30),
            [],
            [],
        ),
        "daily operations report of today (HTML)": (
            "daily_report",
            "lastmile.route.report",
            period(1),
            [],
            [],
        ),
    }


def run(env, call):
    method, model, domain, groupby, aggregates = call
    records = env[model]
    if method == "web_search_read":
        fields = [
            "date",
            "task_id",
            "driver_id",
            "partner_id",
            "date_closed",
            "state",
            "timing",
            "failure_reason_id",
        ]
        return records.web_search_read(domain, {name: {} for name in fields}, limit=80)["records"]
    if method == "daily_report":
        routes = records.search(domain)
        html, _kind = env["ir.actions.report"]._render_qweb_html(
            "lastmile_delivery_reports.report_daily_operations", routes.ids
        )
        return routes
    aggregates = [
        a if ":" in a or a == "__count" else f"{a}:{records._fields[a].aggregator}" for a in aggregates
    ]
    if method == "formatted_read_grouping_sets":
        return records.formatted_read_grouping_sets(domain, groupby, aggregates)
    return records.formatted_read_group(domain, groupby, aggregates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--drivers", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--template", default="lastmile_test", help="database with the addons installed")
    args = parser.parse_args()

    configure(args.template)
    copy_database(args.template, BENCH_DB)
    try:
        import odoo

        registry = open_registry(BENCH_DB)
        started = time.perf_counter()
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            uid = load(env, args.tasks, args.days, args.drivers)
            cr.execute(
                "SELECT COUNT(*), COUNT(sale_order_id), COUNT(picking_id) FROM lastmile_delivery_task"
                " WHERE name LIKE 'BENCH/%%'"
            )
            loaded, with_order, with_picking = cr.fetchone()
        print(
            json.dumps(
                {
                    "loaded_tasks": loaded,
                    "with_order": with_order,
                    "with_picking": with_picking,
                    "routes": args.drivers * args.days,
                    "load_s": round(time.perf_counter() - started, 1),
                }
            )
        )
        reads = {**view_reads(), **dashboard_reads(), **other_reads()}
        worst = 0.0
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, uid, {"tz": "Europe/Brussels", "lang": "en_US"})
            for name, call in reads.items():
                timings = []
                for _index in range(args.repeat + 1):
                    env.invalidate_all()
                    started = time.perf_counter()
                    result = run(env, call)
                    timings.append(time.perf_counter() - started)
                groups = (
                    sum(len(g) for g in result) if call[0] == "formatted_read_grouping_sets" else len(result)
                )
                median, slowest = statistics.median(timings[1:]), max(timings)
                worst = max(worst, slowest)
                print(
                    json.dumps(
                        {
                            "read": name,
                            "groups": groups,
                            "first_ms": round(timings[0] * 1000, 1),
                            "median_ms": round(median * 1000, 1),
                            "max_ms": round(slowest * 1000, 1),
                        }
                    )
                )
        ok = worst < TARGET_S
        print(
            json.dumps(
                {
                    "reads": len(reads),
                    "worst_ms": round(worst * 1000, 1),
                    "target_ms": TARGET_S * 1000,
                    "ok": ok,
                }
            )
        )
        return 0 if ok else 1
    finally:
        import odoo.modules.registry

        odoo.modules.registry.Registry.delete(BENCH_DB)
        drop_database(BENCH_DB)


if __name__ == "__main__":
    sys.exit(main())
