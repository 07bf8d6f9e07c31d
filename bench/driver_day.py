"""The drivers' phones against a real Odoo server over loopback (My Route's JSON endpoints).

Run after `make test` (it copies the test database, which has every addon installed)::

    .venv/bin/python bench/driver_day.py [--drivers 50] [--duration 300] [--workers 4]

What it does:

1. Copies the test database and fills today with a delivery day through the ORM: a driver
   user per driver, confirmed sales orders with reserved pickings, routes planned by
   ``plan_routes``. Half the routes have ``--small`` stops, half ``--large``.
2. Starts Odoo (``python -m odoo server``, ``--workers`` processes, 0 for the threaded server of
   `make run`) on a free loopback port, with its request log (it holds the SQL queries of each
   request).
3. Probe: one driver of a small route and one of a large route each load the day, start the
   route, post a position, arrive and report a stop, one request at a time, so that the
   queries of each request are known per route size: they must be the same.
4. Load, for ``--duration`` seconds: every driver logs in; within the first ``--ramp``
   seconds (drivers leave the depot over a minute, not in the same second) loads the day and
   starts the route; then posts a position every ``--interval`` seconds and completes a stop
   every ``--stop-every`` seconds (Arrived, then Delivered with a ``--photo-mb`` MB JPEG of
   1920 px, the size My Route sends).

Prints one JSON line per endpoint (requests, errors, p50/p95/max in ms, SQL queries per
request) and a last line with the probe, the delivery orders still to validate when the load
stops and how long they took to catch up (the stock side of a report runs right after it, in a
scheduled action), and the targets (issue 8, 2 cores): position p95 under 50 ms, proof
submission p95 under 500 ms, no error, queries independent of the route's size, every delivery
order validated in the end.
Exits 1 when one is missed. The copied database is dropped at the end (``--keep`` keeps it).
"""

import argparse
import base64
import io
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import requests
from http_bench import (
    LogReader,
    Recorder,
    bench_database,
    clean_up,
    free_port,
    query_stats,
    start_server,
    stop_server,
)
from odoo_day import CENTER, ROOT

ENDPOINTS = ("day", "route/start", "position", "stop/arrive", "stop/report")
LOG_LINE = re.compile(r'"POST /lastmile/driver/(\S+) HTTP/[\d.]+" (\d{3}) \S+ (\d+) ')
TARGETS_MS = {"position": 50.0, "stop/report": 500.0}


# ---------------------------------------------------------------------- the day


def phone_photo(megabytes):
    """A JPEG of about ``megabytes`` MB, 1920 x 1440: what My Route sends (the phone scales the
    camera's picture down to 1920 px before keeping or sending it)."""
    from PIL import Image

    rng = random.Random(3)
    small = Image.frombytes("RGB", (640, 480), rng.randbytes(640 * 480 * 3))
    image = small.resize((1920, 1440), Image.Resampling.BICUBIC)
    target = megabytes * 1024 * 1024
    for quality in range(95, 20, -1):
        stream = io.BytesIO()
        image.save(stream, "JPEG", quality=quality)
        if stream.tell() <= target:
            break
    return stream.getvalue()


def make_day(env, args, rng):
    """Driver users, their confirmed orders and today's planned routes; returns the logins of
    the load, and for each route size the login of the probe."""
    from odoo import Command, fields

    company = env.company
    tz = "Europe/Brussels"
    company.partner_id.tz = tz
    company.write(
        {
            "lastmile_auto_dispatch": False,
            "lastmile_delivery_hour_from": 0.0,
            "lastmile_delivery_hour_to": 24.0,
            "lastmile_pod_default_proof": "photo",
            "lastmile_plan_time_limit": args.plan_seconds,
        }
    )
    calendar = env["resource.calendar"].create({"name": "Bench shifts (every day)", "tz": tz})
    calendar.attendance_ids = [
        Command.clear(),
        *[
            Command.create({"name": f"Day {d}", "dayofweek": str(d), "hour_from": 0, "hour_to": 23.99})
            for d in range(7)
        ],
    ]
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
    warehouse.partner_id.write({"partner_latitude": CENTER[0], "partner_longitude": CENTER[1]})
    carrier = env["delivery.carrier"].create(
        {
            "name": "Bench own fleet",
            "delivery_type": "lastmile",
            "lastmile_pricing": "fixed",
            "lastmile_proof_required": "photo",
            "product_id": env["product.product"].create({"name": "Bench delivery", "type": "service"}).id,
        }
    )
    product = env["product.product"].create(
        {"name": "Bench parcel", "type": "consu", "is_storable": True, "weight": 1.0, "list_price": 10}
    )
    env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 100000)

    driver_group = env.ref("lastmile_delivery.group_lastmile_driver")
    # two more drivers than asked: the probe's, one of a small route and one of a large route
    logins = [f"bench_driver_{i:02d}" for i in range(args.drivers + 2)]
    users = env["res.users"].create(
        [
            {"name": f"Bench Driver {i:02d}", "login": login, "group_ids": [Command.set(driver_group.ids)]}
            for i, login in enumerate(logins)
        ]
    )
    # one password hash for all (hashing 50 times would take a minute)
    env.cr.execute(
        "UPDATE res_users SET password = %s WHERE id IN %s",
        [env["res.users"]._crypt_context().hash(args.password), tuple(users.ids)],
    )
    drivers = env["lastmile.driver"].create(
        [
            {
                "name": user.name,
                "user_id": user.id,
                "resource_calendar_id": calendar.id,
                "on_duty": True,
                "capacity_weight": 10000.0,
                "start_partner_id": warehouse.partner_id.id,
                "end_partner_id": warehouse.partner_id.id,
            }
            for user in users
        ]
    )
    sizes = [args.small if i % 2 == 0 else args.large for i in range(len(logins))]
    customers = env["res.partner"].create(
        [
            {
                "name": f"Bench customer {i:04d}",
                "street": f"Rue du Banc {i}",
                "city": "Bruxelles",
                "partner_latitude": CENTER[0] + rng.uniform(-0.05, 0.05),
                "partner_longitude": CENTER[1] + rng.uniform(-0.07, 0.07),
            }
            for i in range(sum(sizes))
        ]
    )
    orders = env["sale.order"].create(
        [
            {
                "partner_id": customer.id,
                "carrier_id": carrier.id,
                "warehouse_id": warehouse.id,
                "order_line": [
                    Command.create({"product_id": product.id, "product_uom_qty": rng.randint(1, 3)})
                ],
            }
            for customer in customers
        ]
    )
    orders.action_confirm()
    today = company._lastmile_date_of(fields.Datetime.now())
    day_start = company._lastmile_tz().localize(datetime.combine(today, datetime.min.time()))
    start = day_start.astimezone(UTC).replace(tzinfo=None)
    window = {"window_start": start, "window_end": start + timedelta(hours=23, minutes=59)}
    tasks = orders.lastmile_task_ids
    position = 0
    for driver, size in zip(drivers, sizes, strict=True):
        tasks[position : position + size].write({"driver_id": driver.id, **window})
        position += size
    summary = env["lastmile.route"].plan_routes(today, time_limit=args.plan_seconds)
    routes = env["lastmile.route"].search([("date", "=", today), ("driver_id", "in", drivers.ids)])
    unreserved = tasks.picking_id.filtered(lambda p: p.state != "assigned")
    if len(routes) != len(logins) or unreserved:
        sys.exit(f"The bench day could not be set up: {summary}, {len(unreserved)} picking(s) not reserved.")
    return logins[2:], {args.small: logins[0], args.large: logins[1]}


# ---------------------------------------------------------------------- server


# ---------------------------------------------------------------------- phones


class Phone:
    """A driver's phone: a session, and the day it shows."""

    def __init__(self, base_url, db, login, password, photo, record):
        self.base_url, self.photo, self.record = base_url, photo, record
        self.session = requests.Session()
        answer = self.session.post(
            f"{base_url}/web/session/authenticate",
            json={"jsonrpc": "2.0", "params": {"db": db, "login": login, "password": password}},
            timeout=30,
        )
        if answer.status_code != 200 or answer.json().get("error"):
            raise RuntimeError(f"{login} could not log in: {answer.text[:200]}")
        self.route, self.stops = None, []
        self.rng = random.Random(login)

    def post(self, endpoint, body):
        started = time.perf_counter()
        try:
            answer = self.session.post(f"{self.base_url}/lastmile/driver/{endpoint}", json=body, timeout=60)
            status = answer.status_code
            payload = answer.json() if status == 200 else {"error": answer.text[:200]}
        except (requests.RequestException, ValueError) as error:
            status, payload = 0, {"error": str(error)}
        self.record(endpoint, (time.perf_counter() - started) * 1000, status, payload.get("error"))
        return payload if status == 200 else None

    def load(self):
        day = self.post("day", {})
        if day and day.get("route"):
            self.route = day["route"]
            self.stops = [s for s in day["stops"] if not s["done"]]
        return day

    def start(self):
        self.post("route/start", {"route_id": self.route["id"]})

    def position(self):
        target = self.stops[0] if self.stops else None
        lat, lon = CENTER
        if target and target["navigation"]["geo"]:
            lat, lon = (float(x) for x in target["navigation"]["geo"][4:].split("?")[0].split(","))
        self.post(
            "position",
            {
                "route_id": self.route["id"],
                "latitude": lat + self.rng.uniform(-0.004, 0.004),
                "longitude": lon + self.rng.uniform(-0.004, 0.004),
                "accuracy": self.rng.uniform(5, 25),
                "timestamp": int(time.time() * 1000),
            },
        )

    def complete_stop(self):
        if not self.stops:
            return
        stop = self.stops.pop(0)
        self.post("stop/arrive", {"task_ids": stop["task_ids"]})
        self.post(
            "stop/report",
            {
                "task_ids": stop["task_ids"],
                "proof": {
                    "key": uuid.uuid4().hex,
                    "kind": "delivered",
                    "captured_at": datetime.now(UTC).isoformat(),
                    "latitude": CENTER[0],
                    "longitude": CENTER[1],
                    "accuracy": 9.0,
                    "photos": [self.photo],
                    "recipient_name": "Bench",
                },
            },
        )


def drive(phone, stop_at, args, failures):
    interval, stop_every = args.interval, args.stop_every
    try:
        time.sleep(phone.rng.uniform(0, args.ramp))
        phone.load()
        phone.start()
        now = time.monotonic()
        next_position = now + phone.rng.uniform(0, interval)
        next_stop = now + phone.rng.uniform(stop_every / 4, stop_every)
        while True:
            due = min(next_position, next_stop)
            if due >= stop_at:
                return
            time.sleep(max(0.0, due - time.monotonic()))
            if due == next_position:
                phone.position()
                next_position += interval
            else:
                phone.complete_stop()
                next_stop += stop_every
    except Exception as error:  # noqa: BLE001 - a phone that crashed is an error of the run
        failures.append(repr(error))


def probe_queries(base_url, args, login, photo, log):
    """The SQL queries of each request of one driver, one request at a time, each asked three
    times (three stops for the report): the fewest, i.e. once the server's caches are warm and
    when the request has no scheduled action to trigger (live ETAs: once a minute)."""
    phone = Phone(base_url, args.db, login, args.password, photo, Recorder(ENDPOINTS))
    counts = {}
    for action, times in ((phone.load, 3), (phone.start, 1), (phone.position, 3), (phone.complete_stop, 3)):
        for _i in range(times):
            action()
            # the log line is written once the answer is sent; and the scheduled actions a
            # request triggers (live ETAs, the stock) run before the next one
            time.sleep(2)
            for endpoint, status, queries in log.read():
                counts.setdefault(endpoint, []).append(queries if status == 200 else 10**6)
    return {endpoint: min(values) if min(values) < 10**6 else "error" for endpoint, values in counts.items()}


def stock_backlog(db):
    """Deliveries reported delivered or returned whose delivery order is not updated yet."""
    import odoo.sql_db

    with odoo.sql_db.db_connect(db).cursor() as cr:
        cr.execute("SELECT count(*) FROM lastmile_delivery_task WHERE stock_pending IS NOT NULL")
        return cr.fetchone()[0]


# ---------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drivers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between two positions")
    parser.add_argument("--stop-every", type=float, default=45.0, help="seconds between two stops")
    parser.add_argument("--ramp", type=float, default=60.0, help="seconds over which the routes start")
    parser.add_argument("--photo-mb", type=float, default=1.0)
    parser.add_argument("--small", type=int, default=10, help="stops of half the routes")
    parser.add_argument("--large", type=int, default=30, help="stops of the other half")
    parser.add_argument("--workers", type=int, default=4, help="Odoo worker processes (0: threaded)")
    parser.add_argument("--plan-seconds", type=int, default=10)
    parser.add_argument("--template", default=os.environ.get("TEST_DB_NAME") or "lastmile_test")
    parser.add_argument("--db", default="lastmile_bench_driver_day")
    parser.add_argument("--password", default="bench-driver")
    parser.add_argument("--keep", action="store_true", help="keep the database and the server log")
    args = parser.parse_args()
    if args.drivers < 2 or args.drivers % 2:
        parser.error("--drivers: an even number, at least 2")

    (logins, probe_logins), setup_seconds = bench_database(
        args, lambda env: make_day(env, args, random.Random(1))
    )
    photo = base64.b64encode(phone_photo(args.photo_mb)).decode()

    port = free_port()
    logfile = ROOT / ".local" / f"bench-driver-day-{port}.log"
    base_url = f"http://127.0.0.1:{port}"
    log = LogReader(logfile, LOG_LINE)
    server = None
    try:
        # 3. probe, on the threaded server: one process, so its caches are warm after a request
        server = start_server(args.db, port, 0, logfile)
        probe = {size: probe_queries(base_url, args, who, photo, log) for size, who in probe_logins.items()}
        stop_server(server)
        server = start_server(args.db, port, args.workers, logfile)
        # 4. load
        recorder = Recorder(ENDPOINTS)
        phones = [Phone(base_url, args.db, login, args.password, photo, recorder) for login in logins]
        log.read()
        failures = []
        stop_at = time.monotonic() + args.duration
        threads = [threading.Thread(target=drive, args=(phone, stop_at, args, failures)) for phone in phones]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # the warehouse side of the reports runs after them (a scheduled action): how long
        # until every delivery order of the reported stops is validated
        drained = time.monotonic()
        backlog = stock_backlog(args.db)
        while stock_backlog(args.db) and time.monotonic() - drained < 300:
            time.sleep(1)
        drain_seconds = time.monotonic() - drained
        left_pending = stock_backlog(args.db)
        queries = log.queries(ENDPOINTS)
    finally:
        clean_up(server, args, logfile)

    ok = not failures
    for endpoint in ENDPOINTS:
        measures, p95 = recorder.measures(endpoint)
        line = {"endpoint": endpoint, **measures, **query_stats(queries[endpoint])}
        if endpoint in TARGETS_MS:
            line["target_p95_ms"] = TARGETS_MS[endpoint]
            ok &= bool(measures["requests"]) and p95 < TARGETS_MS[endpoint]
        ok &= not recorder.errors[endpoint]
        print(json.dumps(line))
        recorder.print_errors(endpoint)
    # a route starts once a day (its first request is a cold one): compared are the requests
    # a phone repeats all day
    repeated = ("day", "position", "stop/arrive", "stop/report")
    same_queries = all(probe[args.small].get(e) == probe[args.large].get(e) for e in repeated)
    ok &= same_queries and not left_pending
    print(
        json.dumps(
            {
                "drivers": args.drivers,
                "workers": args.workers,
                "duration_s": args.duration,
                "stop_every_s": args.stop_every,
                "setup_s": round(setup_seconds, 1),
                "photo_bytes": len(base64.b64decode(photo)),
                "queries_per_request_by_route_stops": {str(k): v for k, v in probe.items()},
                "queries_independent_of_stops": same_queries,
                "stock_backlog_at_end": backlog,
                "stock_drained_s": round(drain_seconds, 1),
                "stock_left_pending": left_pending,
                "phone_failures": failures[:5],
                "ok": ok,
            }
        )
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
