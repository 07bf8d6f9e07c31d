"""Second stage of ``tools/devenv.py``, run by the project's virtualenv Python.

Creates or updates the database (only when the addons changed since the last install/update),
then starts Odoo (``run``) or pytest (``test``). Called as::

    .venv/bin/python tools/devenv_stage2.py run|test|pot INFO_JSON [pytest args...]
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg2
from psycopg2 import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devenv import ADDONS, HASH_PARAM, ROOT, EnvError, http_port, say, state_dir  # noqa: E402

TEST_PATHS = [*ADDONS, "tests"]


def connect(db: dict, dbname: str, *, admin: bool = False):
    user = db.get("admin_user") if admin and db.get("admin_user") else db["user"]
    params = {"dbname": dbname, "user": user, "host": db["host"], "port": db["port"], "connect_timeout": 10}
    if db.get("password") and not admin:
        params["password"] = db["password"]
    try:
        conn = psycopg2.connect(**params)
    except psycopg2.OperationalError as exc:
        where = db["host"] if db["host"].startswith("/") else f"{db['host']}:{db['port']}"
        raise EnvError(
            f"PostgreSQL at {where} refused the connection as user {user!r}:\n    "
            + str(exc).strip().replace("\n", "\n    ")
            + "\nCheck DB_HOST, DB_PORT, DB_USER and DB_PASSWORD (the user needs the CREATEDB right)."
        ) from None
    conn.autocommit = True
    return conn


def ensure_role(db: dict) -> None:
    """In the private cluster, create the login role Odoo uses (Odoo refuses `postgres`)."""
    if not db.get("admin_user"):
        return
    with closing(connect(db, "postgres", admin=True)) as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [db["user"]])
        if not cr.fetchone():
            cr.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(db["user"])))


def addons_digest() -> str:
    digest = hashlib.sha256()
    for addon in ADDONS:
        for path in sorted((ROOT / addon).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def database_state(db: dict, name: str) -> tuple[bool, set[str], str | None]:
    """(exists, installed addons of ours, stored addons digest)."""
    with closing(connect(db, "postgres")) as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cr.fetchone():
            return False, set(), None
    with closing(connect(db, name)) as conn, conn.cursor() as cr:
        cr.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
        if not cr.fetchone()[0]:
            raise EnvError(
                f"Database {name!r} exists but is not an Odoo database. Drop it, or choose "
                "another name (DB_NAME for make run, TEST_DB_NAME for make test)."
            )
        cr.execute(
            "SELECT name FROM ir_module_module WHERE state = 'installed' AND name = ANY(%s)", [list(ADDONS)]
        )
        installed = {row[0] for row in cr.fetchall()}
        cr.execute("SELECT value FROM ir_config_parameter WHERE key = %s", [HASH_PARAM])
        row = cr.fetchone()
        return True, installed, row and row[0]


def drop_database(db: dict, name: str) -> None:
    with closing(connect(db, "postgres")) as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cr.fetchone():
            say(f"dropping database {name} ...")
            cr.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
            cr.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
    shutil.rmtree(state_dir() / "data" / "filestore" / name, ignore_errors=True)


def odoo_command(info: dict, *args: str) -> list[str]:
    return [sys.executable, "-m", "odoo", "server", "-c", info["config"], *args]


# The demo is one shop in Brussels. Odoo's own demo data would make the main company a US one
# ("My Company (San Francisco)", a US chart of accounts, USD, with journal items that lock the
# currency) beside a second company in Chicago. So the demo database is created for Belgium
# (EUR, Europe/Brussels), Odoo's modules are installed there without their demo data (the
# Belgian chart of accounts comes with it), and only our addons bring a demo: a delivery day.
DEMO_COUNTRY = "BE"
DEMO_LOCALIZATION = "l10n_be"


def addon_dependencies() -> list[str]:
    """The Odoo modules our addons depend on (their manifests' ``depends``, ours excepted)."""
    depends = set()
    for addon in ADDONS:
        manifest = ast.literal_eval((ROOT / addon / "__manifest__.py").read_text())
        depends.update(manifest.get("depends", []))
    return sorted(depends - set(ADDONS))


def create_demo_database(info: dict, name: str) -> None:
    say(f"database {name}: creating a Belgian shop's database (country {DEMO_COUNTRY}, EUR) ...")
    config = ["-c", info["config"]]
    steps = [
        [sys.executable, "-m", "odoo", "db", *config, "init", name, "--country", DEMO_COUNTRY],
        odoo_command(
            info,
            "-d",
            name,
            "-i",
            ",".join([DEMO_LOCALIZATION, *addon_dependencies()]),
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
            "--log-handler=py.warnings:ERROR",
        ),
    ]
    for step in steps:
        # `odoo db init` has no log level of its own: its output is shown only when it fails
        done = subprocess.run(step, check=False, capture_output=step is steps[0], text=True)
        if done.returncode != 0:
            print(done.stdout or "", done.stderr or "", file=sys.stderr)
            drop_database(info["db"], name)  # half a database would be taken for a finished one
            raise EnvError(f"Creating the demo database {name!r} failed (see the log above).")
    # Odoo installs a module's demo data only when its dependencies have theirs: mark the modules
    # installed above as having it (they have none on purpose), so that ours load their demo.
    with closing(connect(info["db"], name)) as conn, conn.cursor() as cr:
        cr.execute("UPDATE ir_module_module SET demo = TRUE WHERE state = 'installed'")


def install_or_update(info: dict, name: str, *, demo: bool) -> None:
    db = info["db"]
    exists, installed, stored = database_state(db, name)
    if demo and not exists:
        create_demo_database(info, name)
        exists, installed, stored = database_state(db, name)
    digest = addons_digest()
    if exists and installed == set(ADDONS) and stored == digest:
        say(f"database {name}: addons up to date.")
        return
    modules = ",".join(ADDONS)
    if exists and installed == set(ADDONS):
        say(f"database {name}: updating the addons (their code changed) ...")
        args = ["-u", modules]
    else:
        say(f"database {name}: installing the addons{' with demo data' if demo else ''} ...")
        args = ["-i", modules] + (["--with-demo"] if demo else [])
    cmd = odoo_command(
        info,
        "-d",
        name,
        *args,
        "--stop-after-init",
        "--no-http",
        "--log-level=warn",
        "--log-handler=py.warnings:ERROR",
    )
    if subprocess.run(cmd, check=False).returncode != 0:
        raise EnvError(f"Installing/updating the addons in database {name!r} failed (see the log above).")
    exists, installed, _stored = database_state(db, name)
    if installed != set(ADDONS):
        raise EnvError(
            f"After the install, database {name!r} has {sorted(installed)} installed instead of "
            f"{list(ADDONS)}: see the log above."
        )
    with closing(connect(db, name)) as conn, conn.cursor() as cr:
        if demo:  # back to "no demo data" for Odoo's modules: an update of one loads none
            cr.execute("UPDATE ir_module_module SET demo = FALSE WHERE NOT name = ANY(%s)", [list(ADDONS)])
        cr.execute(
            """INSERT INTO ir_config_parameter (key, value, create_date, write_date)
               VALUES (%s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""",
            [HASH_PARAM, digest],
        )


def demo_logins(db: dict, name: str) -> list[str]:
    """Logins of the demo users our addons create (their password equals the login)."""
    with closing(connect(db, name)) as conn, conn.cursor() as cr:
        cr.execute(
            """SELECT u.login FROM res_users u
                 JOIN ir_model_data d ON d.model = 'res.users' AND d.res_id = u.id
                WHERE d.module = ANY(%s) AND u.active ORDER BY u.login""",
            [list(ADDONS)],
        )
        return [row[0] for row in cr.fetchall()]


def command_run(info: dict) -> int:
    name = os.environ.get("DB_NAME") or "lastmile_demo"
    port = http_port()
    install_or_update(info, name, demo=True)
    url = f"http://localhost:{port}"
    logins = [("admin", "admin")] + [(login, login) for login in demo_logins(info["db"], name)]
    lines = "".join(f"    {login:<24} password: {password}\n" for login, password in logins)
    print(
        f"\n  Last Mile Delivery demo is starting on {url}/odoo (database {name})\n"
        f"  Logins:\n{lines}  Stop with Ctrl+C.\n",
        flush=True,
    )
    cmd = odoo_command(info, "-d", name, f"--db-filter=^{name}$", f"--http-port={port}")
    os.execv(cmd[0], cmd)
    return 0


def command_test(info: dict, pytest_args: list[str]) -> int:
    name = os.environ.get("TEST_DB_NAME") or "lastmile_test"
    if os.environ.get("FRESH_DB") in ("1", "true", "yes"):
        drop_database(info["db"], name)
    install_or_update(info, name, demo=False)
    args = pytest_args or TEST_PATHS
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        f"--odoo-config={info['config']}",
        f"--odoo-database={name}",
        "--odoo-http",
        "--odoo-log-level=warn",
        *args,
    ]
    say("running: pytest " + " ".join(args))
    os.chdir(ROOT)
    os.execv(cmd[0], cmd)
    return 0


def command_pot(info: dict) -> int:
    """Refresh each addon's i18n/<addon>.pot from the test database."""
    name = os.environ.get("TEST_DB_NAME") or "lastmile_test"
    install_or_update(info, name, demo=False)
    cmd = [sys.executable, "-m", "odoo", "i18n", "export", "-c", info["config"], "-d", name, *ADDONS]
    returncode = subprocess.run(cmd, check=False).returncode
    for addon in ADDONS:  # an addon without translatable terms gets no template
        pot = ROOT / addon / "i18n" / f"{addon}.pot"
        if pot.exists() and "\nmsgid " not in pot.read_text().split("\n\n", 1)[-1]:
            pot.unlink()
            if not any(pot.parent.iterdir()):
                pot.parent.rmdir()
    return returncode


def main() -> int:
    command, info = sys.argv[1], json.loads(sys.argv[2])
    try:
        ensure_role(info["db"])
        if command == "run":
            return command_run(info)
        if command == "pot":
            return command_pot(info)
        return command_test(info, sys.argv[3:])
    except EnvError as exc:
        print(f"\nerror: {exc}\n", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
