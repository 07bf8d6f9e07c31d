"""Customers following their deliveries: the tracking page and its JSON endpoint under load.

Run after `make test` (it copies the test database, which has every addon installed)::

    .venv/bin/python bench/tracking_load.py [--clients 20] [--duration 30] [--workers 4]

What it does:

1. Copies the test database and makes today's delivery day through the ORM (the day of
   ``bench/driver_day.py``: drivers, confirmed orders, routes planned by ``plan_routes``), then
   starts every route from its driver's phone and posts each driver's position: the first
   open stop of each route shows its driver on the map, the others their stops before.
2. Starts Odoo on a free loopback port (``--workers`` processes, 0 for the threaded server of
   `make run`), with its request log (it holds the SQL queries of each request).
3. Probe, one request at a time on the threaded server: the page and the JSON of a delivery
   with the driver on the way, of one with a few stops before it and of one at the end of a
   long route, three times each: the last two must make the same queries, the first at most
   one more (the driver's position, read only when it is shown).
4. Load, for ``--duration`` seconds: ``--clients`` anonymous visitors (no session cookie, the
   token of the link only), each on the delivery of another customer, open the page, then ask
   its JSON ``--polls`` times, again and again, ``--interval`` seconds apart (default 1 s: 15
   times as often as the page does). ``--interval 0`` sends without pause: the server's
   throughput, where every request waits for the ones before it (on 2 cores, Odoo answers
   /web/health, which touches no database, in about 10 ms: 20 clients without pause cannot
   get under 100 ms).

Prints one JSON line per request kind (requests, errors, p50/p95/max in ms, SQL queries per
request), then a last line with the probe and the targets (issue 9, 2 cores): JSON p95 under
100 ms, page p95 under 300 ms, no error, queries independent of the delivery. Exits 1 when one
is missed. The copied database is dropped at the end (``--keep`` keeps it).
"""

import argparse
import json
import os
import random
import re
import sys
import threading
import time
from types import SimpleNamespace

import requests
from driver_day import make_day
from http_bench import (
    ROOT,
    LogReader,
    Recorder,
    bench_database,
    clean_up,
    free_port,
    query_stats,
    start_server,
    stop_server,
)

KINDS = ("page", "live")
LOG_LINE = re.compile(r'"GET /my/deliveries/\d+(/live)?\?\S* HTTP/[\d.]+" (\d{3}) \S+ (\d+) ')
TARGETS_MS = {"live": 100.0, "page": 300.0}


def make_tracked_day(env, args):
    """Today's routes, started, with their drivers' positions; returns the tracking links of
    the load and, for the probe, three links: the driver on the way, a few stops before, the
    end of a long route."""
    day_args = SimpleNamespace(
        drivers=args.drivers, small=args.small, large=args.large, plan_seconds=10, password=args.password
    )
    make_day(env, day_args, random.Random(1))
    today = env.company._lastmile_date_of(env.cr.now())
    routes = env["lastmile.route"].search([("date", "=", today), ("state", "=", "planned")])
    for route in routes:
        driver = route.with_user(route.driver_id.user_id)
        driver.action_start_route()
        first = route.task_ids.filtered(lambda t: t.state == "in_transit").sorted("sequence")[:1]
        driver.action_post_position(
            {"latitude": first.latitude + 0.003, "longitude": first.longitude, "accuracy": 10}
        )
    tasks = routes.task_ids.filtered(lambda t: t.state == "in_transit")
    links = {task: task.get_portal_url() for task in tasks}
    long_route = max(routes, key=lambda r: len(r.task_ids))
    ordered = long_route.task_ids.sorted("sequence")
    probe = {
        "on_the_way": links[ordered[0]],
        "few_before": links[ordered[3]],
        "end_of_long_route": links[ordered[-1]],
    }
    load = [links[t] for t in sorted(tasks - ordered, key=lambda t: t.id)]
    random.Random(2).shuffle(load)
    return load[: args.clients], probe


class Visitor:
    """A customer's phone on the tracking link: no login, a fresh session."""

    def __init__(self, base_url, link, record):
        self.base_url, self.link, self.record = base_url, link, record
        self.session = requests.Session()
        path, _sep, query = link.partition("?")
        self.live_url = f"{base_url}{path}/live?{query}"

    def get(self, kind, url):
        started = time.perf_counter()
        try:
            answer = self.session.get(url, timeout=60)
            ok = answer.status_code == 200 and (kind == "page" or "state" in answer.json())
            status = 200 if ok else -1 if answer.status_code == 200 else answer.status_code
            detail = answer.text[:120]
        except (requests.RequestException, ValueError) as error:
            status, detail = 0, str(error)
        self.record(kind, (time.perf_counter() - started) * 1000, status, detail)

    def page(self):
        self.get("page", self.base_url + self.link)

    def live(self):
        self.get("live", self.live_url)


def visit(visitor, stop_at, args, failures):
    rng = random.Random(visitor.link)

    def pause():
        if args.interval:
            time.sleep(rng.uniform(0.5, 1.5) * args.interval)

    try:
        time.sleep(rng.uniform(0, args.interval))  # the visitors do not all arrive at once
        while time.monotonic() < stop_at:
            visitor.page()
            pause()
            for _i in range(args.polls):
                if time.monotonic() >= stop_at:
                    return
                visitor.live()
                pause()
    except Exception as error:  # noqa: BLE001 - a visitor that crashed is an error of the run
        failures.append(repr(error))


def probe_queries(base_url, links, log):
    counts = {}
    for name, link in links.items():
        visitor = Visitor(base_url, link, Recorder(KINDS))
        for _i in range(3):
            visitor.page()
            visitor.live()
        time.sleep(1)  # the log line is written once the answer is sent
        for kind, status, queries in log.read():
            counts.setdefault(name, {}).setdefault(kind, []).append(queries if status == 200 else 10**6)
    return {name: {kind: min(values) for kind, values in kinds.items()} for name, kinds in counts.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--polls", type=int, default=5, help="JSON requests after each page load")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between a visitor's requests")
    parser.add_argument("--drivers", type=int, default=10, help="even; their routes hold the deliveries")
    parser.add_argument("--small", type=int, default=10, help="stops of half the routes")
    parser.add_argument("--large", type=int, default=30, help="stops of the other half")
    parser.add_argument("--workers", type=int, default=4, help="Odoo worker processes (0: threaded)")
    parser.add_argument("--template", default=os.environ.get("TEST_DB_NAME") or "lastmile_test")
    parser.add_argument("--db", default="lastmile_bench_tracking")
    parser.add_argument("--password", default="bench-driver")
    parser.add_argument("--keep", action="store_true", help="keep the database and the server log")
    args = parser.parse_args()

    (links, probe_links), setup_seconds = bench_database(args, lambda env: make_tracked_day(env, args))
    if len(links) < args.clients:
        sys.exit(f"Only {len(links)} deliveries under way for {args.clients} clients: raise --drivers.")

    port = free_port()
    logfile = ROOT / ".local" / f"bench-tracking-{port}.log"
    base_url = f"http://127.0.0.1:{port}"
    log = LogReader(logfile, LOG_LINE, kind=lambda match: "live" if match[1] else "page")
    server = None
    try:
        server = start_server(args.db, port, 0, logfile)
        probe = probe_queries(base_url, probe_links, log)
        stop_server(server)
        server = start_server(args.db, port, args.workers, logfile)
        recorder = Recorder(KINDS)
        visitors = [Visitor(base_url, link, recorder) for link in links]
        for visitor in visitors:  # the server's caches warm, as after a minute of production
            visitor.page()
            visitor.live()
        recorder = Recorder(KINDS)
        for visitor in visitors:
            visitor.record = recorder
        log.read()
        failures = []
        stop_at = time.monotonic() + args.duration
        threads = [threading.Thread(target=visit, args=(v, stop_at, args, failures)) for v in visitors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(1)
        queries = log.queries(KINDS)
    finally:
        clean_up(server, args, logfile)

    ok = not failures
    for kind in KINDS:
        measures, p95 = recorder.measures(kind)
        line = {
            "request": kind,
            **measures,
            "per_second": round(measures["requests"] / args.duration, 1),
            "target_p95_ms": TARGETS_MS[kind],
            **query_stats(queries[kind]),
        }
        ok &= bool(measures["requests"]) and p95 < TARGETS_MS[kind] and not recorder.errors[kind]
        print(json.dumps(line))
        recorder.print_errors(kind)
    # the queries must not grow with the route or the stop's place in it; a delivery whose
    # driver is shown reads the driver's position too: one more query, the same for all
    same_queries = all(
        probe["few_before"].get(kind) == probe["end_of_long_route"].get(kind)
        and probe["on_the_way"].get(kind, 10**6) <= probe["few_before"].get(kind, 0) + 1
        for kind in KINDS
    )
    ok &= same_queries
    print(
        json.dumps(
            {
                "clients": args.clients,
                "interval_s": args.interval,
                "workers": args.workers,
                "duration_s": args.duration,
                "setup_s": round(setup_seconds, 1),
                "queries_per_request_by_delivery": probe,
                "queries_independent_of_delivery": same_queries,
                "client_failures": failures[:5],
                "ok": ok,
            }
        )
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
