"""What the benchmarks that drive a real Odoo server over loopback share (driver_day.py,
tracking_load.py): a database copied from the test database, the server started and stopped,
its request log read for the SQL queries of each request, and the latencies recorded."""

import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from odoo_day import ROOT, open_registry


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db, port, workers, logfile):
    config = ROOT / ".local" / "odoo.conf"
    command = [
        sys.executable, "-m", "odoo", "server", "-c", str(config), "-d", db, f"--db-filter=^{db}$",
        f"--http-port={port}", "--http-interface=127.0.0.1", f"--workers={workers}",
        "--max-cron-threads=1", f"--logfile={logfile}", "--log-level=info",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"Odoo stopped at start: see {logfile}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/web/health", timeout=2).ok:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.5)
    server.kill()
    sys.exit("Odoo did not answer within 2 minutes.")


def stop_server(server):
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()


class LogReader:
    """The request lines the server wrote since the last read that match ``pattern`` (its
    groups: what ``kind`` makes the request's name of, then the status, then the queries), as
    (name, status, queries)."""

    def __init__(self, path, pattern, kind=lambda match: match[1]):
        self.path, self.offset, self.pattern, self.kind = Path(path), 0, pattern, kind

    def read(self):
        with self.path.open(encoding="utf-8", errors="replace") as log:
            log.seek(self.offset)
            text = log.read()
            self.offset = log.tell()
        return [
            (self.kind(m), int(m[m.re.groups - 1]), int(m[m.re.groups])) for m in self.pattern.finditer(text)
        ]

    def queries(self, kinds):
        """The SQL queries of the successful requests logged since the last read, by kind."""
        counts = {k: [] for k in kinds}
        for kind, status, count in self.read():
            if kind in counts and status == 200:
                counts[kind].append(count)
        return counts


class Recorder:
    """The time of every request, and the errors, by kind of request (thread-safe)."""

    def __init__(self, kinds):
        self.lock = threading.Lock()
        self.times = {k: [] for k in kinds}
        self.errors = {k: [] for k in kinds}

    def __call__(self, kind, ms, status, error):
        with self.lock:
            self.times[kind].append(ms)
            if status != 200:
                self.errors[kind].append(f"{status}: {error}")

    def measures(self, kind):
        """requests, errors, p50/p95/max in ms of ``kind`` (and, for the caller's targets,
        the raw p95 as the second value)."""
        times = self.times[kind]
        p95 = percentile(times, 0.95)
        return {
            "requests": len(times),
            "errors": len(self.errors[kind]),
            "p50_ms": round(percentile(times, 0.5), 1) if times else None,
            "p95_ms": round(p95, 1) if times else None,
            "max_ms": round(max(times), 1) if times else None,
        }, p95

    def print_errors(self, kind):
        for error in sorted(set(self.errors[kind]))[:5]:
            print(f"  {kind}: {error}", file=sys.stderr)


def query_stats(counts):
    return {
        "queries_median": statistics.median(counts) if counts else None,
        "queries_max": max(counts) if counts else None,
    }


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench_database(args, build):
    """Copy ``args.template`` to ``args.db`` and run ``build(env)`` in it (committed); returns
    what ``build`` returns and the seconds it all took. Exits when `make test` never ran."""
    import odoo
    import odoo.sql_db
    from odoo.tools import config

    if not (ROOT / ".local" / "odoo.conf").exists():
        sys.exit("Run `make test` (or `make provision`) first: .local/odoo.conf is missing.")
    config.parse_config(["-c", str(ROOT / ".local" / "odoo.conf"), "--log-level=warn"])
    started = time.perf_counter()
    copy_database(args.template, args.db)
    registry = open_registry(args.db)
    with registry.cursor() as cr:
        result = build(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}))
    type(registry).delete(args.db)
    odoo.sql_db.close_db(args.db)
    return result, time.perf_counter() - started


def clean_up(server, args, logfile):
    """Stop the server; drop the copied database and the server's log unless ``--keep``."""
    if server:
        stop_server(server)
    if not args.keep:
        logfile.unlink(missing_ok=True)
        drop_database(args.db)


def copy_database(template, name):
    import odoo.sql_db

    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr._cnx.autocommit = True
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cr.fetchone():
            cr.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        cr.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop_database(name):
    import shutil

    import odoo.sql_db
    from odoo.tools import config

    odoo.sql_db.close_db(name)
    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr._cnx.autocommit = True
        cr.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(Path(config["data_dir"]) / "filestore" / name, ignore_errors=True)
