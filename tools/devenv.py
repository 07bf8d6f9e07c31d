#!/usr/bin/env python3
"""Provision and drive a development Odoo 19 for the Last Mile Delivery addons.

``make run`` and ``make test`` call this script. It only uses the standard library in its
first stage, which provisions what is missing and idempotently caches it:

* the Odoo 19 source tree (Debian's ``odoo-19`` package, unpacked without installing it, or an
  existing tree given in ``ODOO_PATH``);
* a virtualenv in ``.venv/`` with ``requirements-dev.txt``;
* the system packages PostgreSQL, wkhtmltopdf and (for tests) Chromium, from Debian;
* a private PostgreSQL cluster (unless ``DB_HOST`` points to an external server).

The second stage runs inside the virtualenv (so it can use psycopg2 and Odoo itself) and creates
or updates the database, then starts Odoo or pytest.

Every failure the user can fix is reported as one clear ``error:`` paragraph, never a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDONS = ("lastmile_delivery", "lastmile_delivery_pod", "lastmile_delivery_reports")
VENV = ROOT / ".venv"
LOCAL = ROOT / ".local"  # per-clone generated files (Odoo configuration)
REQUIREMENTS = ("requirements.txt", "requirements-odoo.txt", "requirements-dev.txt")

ODOO_PACKAGE = "odoo-19"
# Odoo's Debian package replaces some vendored files by symlinks into these packages; the
# versions of trixie carry the file names Odoo 19 expects (sid's Font Awesome 7 does not).
ODOO_SYMLINK_PACKAGES = (
    "libjs-jquery",
    "libjs-underscore",
    "libjs-jquery-form",
    "fonts-font-awesome",
    "fonts-roboto-unhinted",
    "fonts-montserrat",
    "fonts-inconsolata",
    "fonts-ocr-b",
)
# Debian strips this file, yet web.assets_backend lists it: every asset bundle then fails.
# It only serves the background blur of video calls, so an empty module is a safe stand-in.
STRIPPED_ASSETS = ("odoo/addons/mail/static/lib/selfie_segmentation/selfie_segmentation.js",)
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
DB_ROLE = "odoo"
HASH_PARAM = "lastmile_devenv.addons_hash"


class EnvError(Exception):
    """A problem of the environment that the user can fix; printed without a traceback."""


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


def state_dir() -> Path:
    """Machine-level cache shared by all clones of this user: downloads, Odoo tree, cluster."""
    if os.environ.get("LASTMILE_HOME"):
        return Path(os.environ["LASTMILE_HOME"]).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lastmile-delivery"


def is_root() -> bool:
    return os.geteuid() == 0


def external_db() -> dict | None:
    """Connection settings of an external PostgreSQL server, or None for the private one."""
    if not os.environ.get("DB_HOST"):
        return None
    if os.environ.get("DB_USER") == "postgres":
        raise EnvError(
            "Odoo refuses to connect as the PostgreSQL superuser 'postgres'. Create a dedicated "
            "role (CREATE ROLE odoo LOGIN CREATEDB PASSWORD '...') and set DB_USER to it."
        )
    return {
        "host": os.environ["DB_HOST"],
        "port": os.environ.get("DB_PORT") or "5432",
        "user": os.environ.get("DB_USER") or DB_ROLE,
        "password": os.environ.get("DB_PASSWORD") or "",
    }


def say(message: str) -> None:
    print(f"[lastmile] {message}", flush=True)


def run(cmd, *, check=True, capture=False, env=None, cwd=None, what=None):
    """Run a command; on failure raise EnvError with its last output lines."""
    try:
        proc = subprocess.run(
            cmd,
            check=False,
            env=env,
            cwd=cwd,
            text=True,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
        )
    except FileNotFoundError as exc:
        raise EnvError(f"{what or cmd[0]}: command not found ({exc.filename}).") from None
    if check and proc.returncode != 0:
        tail = ""
        if capture:
            lines = ((proc.stdout or "") + (proc.stderr or "")).strip().splitlines()
            tail = "\n" + textwrap.indent("\n".join(lines[-15:]), "    ")
        raise EnvError(f"{what or ' '.join(map(str, cmd))} failed (exit {proc.returncode}).{tail}")
    return proc


# --------------------------------------------------------------------------------------------
# Odoo source tree
# --------------------------------------------------------------------------------------------


def odoo_version_of(path: Path) -> tuple | None:
    """Return Odoo's version_info for a folder that contains the ``odoo`` package."""
    release = path / "odoo" / "release.py"
    if not release.is_file():
        return None
    match = re.search(r"^version_info = \((\d+), (\d+)", release.read_text(), re.M)
    return (int(match.group(1)), int(match.group(2))) if match else None


def resolve_odoo_path(path: Path) -> Path:
    """Accept a git checkout, the folder holding the ``odoo`` package, or an unpacked .deb."""
    for candidate in (path, path / "usr/lib/python3/dist-packages", path.parent):
        if odoo_version_of(candidate):
            return candidate
    raise EnvError(
        f"ODOO_PATH={path} is not an Odoo source tree: no odoo/release.py found in it.\n"
        "Point ODOO_PATH to a checkout of Odoo 19 (the folder holding odoo-bin) or unset it "
        "to let `make` download Odoo 19 from Debian's archive."
    )


def addons_paths(odoo_path: Path) -> list[Path]:
    paths = [ROOT]
    for sub in ("addons", "odoo/addons"):
        if (odoo_path / sub).is_dir():
            paths.append(odoo_path / sub)
    return paths


def debian_archive_uri() -> str:
    """The Debian archive this machine already uses (so mirrors and proxies keep working)."""
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"].rstrip("/")
    uri = find_debian_uri(read_apt_sources())
    if not uri:
        raise EnvError(
            "Could not find the Debian archive in this machine's apt sources. Set DEBIAN_MIRROR "
            "to the URL of a Debian mirror, or ODOO_PATH to an existing Odoo 19 source tree."
        )
    return uri


def read_apt_sources() -> list[tuple[str, list[str], list[str]]]:
    """(uri, suites, components) of every enabled ``deb`` entry of the apt configuration."""
    entries = []
    one_line = [Path("/etc/apt/sources.list")] + sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    for path in one_line:
        if path.is_file():
            entries += parse_one_line_sources(path.read_text())
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        entries += parse_deb822_sources(path.read_text())
    return entries


def parse_one_line_sources(text: str) -> list[tuple[str, list[str], list[str]]]:
    entries = []
    for line in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(line) >= 4 and line[0] == "deb":
            entries.append((line[1], [line[2]], line[3:]))
    return entries


def parse_deb822_sources(text: str) -> list[tuple[str, list[str], list[str]]]:
    entries = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields = {}
        for line in paragraph.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.split()
        if "deb" not in fields.get("types", []) or fields.get("enabled", ["yes"])[0] == "no":
            continue
        for uri in fields.get("uris", []):
            entries.append((uri, fields.get("suites", []), fields.get("components", [])))
    return entries


def find_debian_uri(entries) -> str | None:
    """The main Debian archive: a ``main`` component and a plain release suite."""
    for uri, suites, components in entries:
        plain = [s for s in suites if "-" not in s and "/" not in s]
        if plain and "main" in components and "security" not in uri:
            return uri.rstrip("/")
    return None


class PrivateApt:
    """apt-get with its own sources, lists and cache: the machine's apt is never changed."""

    def __init__(self, folder: Path):
        self.folder = folder
        for sub in ("lists/partial", "cache/archives/partial", "debs"):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    @property
    def options(self) -> list[str]:
        opts = {
            "Dir::Etc::SourceList": self.folder / "sources.list",
            "Dir::Etc::SourceParts": "/dev/null",
            "Dir::State::Lists": self.folder / "lists",
            "Dir::Cache": self.folder / "cache",
            "Dir::Etc::Preferences": "/dev/null",
            "Dir::Etc::PreferencesParts": "/dev/null",
            "Debug::NoLocking": "true",
        }
        if is_root():  # the _apt sandbox user could not write into our cache folder
            opts["APT::Sandbox::User"] = "root"
        result = []
        for key, value in opts.items():
            result += ["-o", f"{key}={value}"]
        return result

    def update(self, uri: str) -> None:
        keyring = f" [signed-by={DEBIAN_KEYRING}]" if Path(DEBIAN_KEYRING).exists() else ""
        (self.folder / "sources.list").write_text(
            f"deb{keyring} {uri} sid main\ndeb{keyring} {uri} trixie main\n"
        )
        try:
            proc = run(["apt-get", "-q", *self.options, "update"], capture=True, what="apt-get update")
            failures = [
                line
                for line in (proc.stdout + proc.stderr).splitlines()
                if line.startswith(("Err:", "W: Failed", "E:"))
            ]
            if failures:
                raise EnvError("apt-get update failed:\n    " + "\n    ".join(failures[:6]))
        except EnvError as exc:
            raise EnvError(
                f"Could not read Debian's archive at {uri} (suites sid and trixie) to download "
                f"Odoo 19.\n{exc}\nCheck the network or proxy, set DEBIAN_MIRROR to a reachable "
                "mirror, or set ODOO_PATH to an existing Odoo 19 source tree."
            ) from None

    def candidate(self, package: str) -> str:
        out = run(["apt-cache", *self.options, "policy", package], capture=True).stdout
        match = re.search(r"Candidate:\s*(\S+)", out)
        if not match or match.group(1) == "(none)":
            raise EnvError(f"Debian's archive has no package {package} (looked in sid and trixie).")
        return match.group(1)

    def download(self, specs: list[str]) -> list[Path]:
        debs = self.folder / "debs"
        before = set(debs.glob("*.deb"))
        run(
            ["apt-get", "-q", *self.options, "download", *specs],
            capture=True,
            cwd=debs,
            what=f"apt-get download {' '.join(specs)}",
        )
        return sorted(set(debs.glob("*.deb")) - before) or sorted(debs.glob("*.deb"))


def ensure_odoo() -> Path:
    """Return the folder that holds the ``odoo`` package, downloading Odoo 19 if needed."""
    if os.environ.get("ODOO_PATH"):
        path = resolve_odoo_path(Path(os.environ["ODOO_PATH"]).expanduser().resolve())
        check_odoo_version(path)
        return path
    tree = state_dir() / "odoo-19"
    marker = tree / ".provisioned.json"
    python_root = tree / "usr/lib/python3/dist-packages"
    if marker.is_file() and odoo_version_of(python_root):
        return python_root
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise EnvError(
            "Odoo 19 is not provisioned and this machine has no apt-get/dpkg (not Debian?).\n"
            "Install Odoo 19 yourself (git clone --depth 1 -b 19.0 of Odoo's repository, or "
            "an Odoo 19 package) and run again with ODOO_PATH=/path/to/odoo (the folder "
            "holding odoo-bin)."
        )
    uri = debian_archive_uri()
    say(f"downloading Odoo 19 from Debian's archive ({uri}, suite sid) ...")
    apt = PrivateApt(state_dir() / "apt")
    apt.update(uri)
    version = apt.candidate(ODOO_PACKAGE)
    specs = [f"{ODOO_PACKAGE}={version}"] + [f"{name}/trixie" for name in ODOO_SYMLINK_PACKAGES]
    debs = apt.download(specs)
    wanted = [ODOO_PACKAGE, *ODOO_SYMLINK_PACKAGES]
    chosen = [d for d in debs if d.name.split("_", 1)[0] in wanted]
    missing = set(wanted) - {d.name.split("_", 1)[0] for d in chosen}
    if missing:
        raise EnvError(f"Download of {', '.join(sorted(missing))} from Debian's archive failed.")
    say(f"unpacking {len(chosen)} packages into {tree} ...")
    staging = Path(tempfile.mkdtemp(prefix="odoo-19.", dir=state_dir()))
    for deb in chosen:
        run(["dpkg-deb", "-x", str(deb), str(staging)], what=f"dpkg-deb -x {deb.name}")
    staged_root = staging / "usr/lib/python3/dist-packages"
    for rel in STRIPPED_ASSETS:
        target = staged_root / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("// Stripped from Debian's odoo-19 package; only used for video-call blur.\n")
    broken = [str(p) for p in (staged_root / "odoo").rglob("*") if p.is_symlink() and not p.exists()]
    if broken:
        raise EnvError(
            "Odoo 19 unpacked with broken links (missing packages?):\n  " + "\n  ".join(broken[:10])
        )
    (staging / ".provisioned.json").write_text(
        json.dumps({"package": ODOO_PACKAGE, "version": version, "debs": [d.name for d in chosen]}, indent=1)
    )
    if tree.exists():
        shutil.rmtree(tree)
    staging.rename(tree)
    for deb in chosen:  # the unpacked tree is the cache; the .debs are not needed any more
        deb.unlink()
    check_odoo_version(python_root)
    return python_root


def check_odoo_version(path: Path) -> None:
    version = odoo_version_of(path)
    if not version or version[0] != 19:
        raise EnvError(f"{path} holds Odoo {version and '.'.join(map(str, version))}, not Odoo 19.")


# --------------------------------------------------------------------------------------------
# System packages
# --------------------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    candidates = (
        sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
        if Path("/usr/lib/postgresql").is_dir()
        else []
    )
    if candidates:
        return candidates[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def ensure_system_packages(*, need_browser: bool) -> None:
    missing = []
    if not external_db() and not postgres_bindir():
        missing.append("postgresql")
    if not shutil.which("wkhtmltopdf"):
        missing.append("wkhtmltopdf")
    if need_browser and not chromium_binary():
        missing.append("chromium")
    if not missing:
        return
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    if not shutil.which("apt-get"):
        raise EnvError(
            f"Missing on this machine: {', '.join(missing)}, and there is no apt-get to install "
            "them. Install them with your system's package manager (or point DB_HOST to an "
            "external PostgreSQL), then run again."
        )
    prefix = []
    if not is_root():
        if shutil.which("sudo") and run(["sudo", "-n", "true"], check=False, capture=True).returncode == 0:
            prefix = ["sudo", "-n"]
        elif missing == ["wkhtmltopdf"]:
            say(
                "warning: wkhtmltopdf is not installed; PDF reports will be shown as HTML. "
                "Install it with: sudo apt-get install wkhtmltopdf"
            )
            return
        else:
            raise EnvError(
                f"Missing on this machine: {', '.join(missing)}. Install them once as root:\n"
                f"    sudo apt-get install {' '.join(missing)}\nthen run again."
            )
    say(f"installing Debian packages: {', '.join(missing)} ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        run([*prefix, "apt-get", "update", "-q"], capture=True, env=env, what="apt-get update")
        run([*prefix, *command], capture=True, env=env, what="apt-get install " + " ".join(missing))
    except EnvError as exc:
        raise EnvError(f"{exc}\nIs Debian's archive reachable from this machine?") from None


# --------------------------------------------------------------------------------------------
# Python virtualenv
# --------------------------------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / "bin" / "python"


def requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in REQUIREMENTS:
        digest.update((ROOT / name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv(odoo_path: Path) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - this script must explain, not crash
        raise EnvError(f"Odoo 19 needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    stamp = VENV / ".requirements.sha256"
    digest = requirements_digest()
    if not (venv_python().exists() and stamp.is_file() and stamp.read_text() == digest):
        if not venv_python().exists():
            say(f"creating the virtualenv {VENV} ...")
            try:
                run([sys.executable, "-m", "venv", str(VENV)], capture=True, what="python -m venv")
            except EnvError as exc:
                raise EnvError(
                    f"{exc}\nOn Debian, install the venv module: apt-get install python3-venv"
                ) from None
        say("installing Python requirements (requirements-dev.txt) ...")
        pip = [str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        try:
            run([*pip, "-r", str(ROOT / "requirements-dev.txt")], capture=True, what="pip install")
        except EnvError as exc:
            raise EnvError(f"{exc}\nIs PyPI (or your pip index/proxy) reachable from this machine?") from None
        stamp.write_text(digest)
    # Make `import odoo` work in the venv (pytest-odoo and `python -m odoo` need it).
    site = run(
        [str(venv_python()), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture=True,
    ).stdout.strip()
    pth = Path(site) / "lastmile_odoo_path.pth"
    if not pth.exists() or pth.read_text().strip() != str(odoo_path):
        pth.write_text(f"{odoo_path}\n")


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


class LocalCluster:
    """A private PostgreSQL cluster on a Unix socket only (no TCP port to collide with)."""

    def __init__(self):
        self.bindir = postgres_bindir()
        if is_root():
            # PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user,
            # in a folder it can reach whatever the permissions of the checkout are.
            self.folder = Path("/var/lib/postgresql/lastmile-delivery")
        else:
            self.folder = state_dir() / "postgres"
        self.data = self.folder / "data"
        self.socket_dir = self.folder / "run"
        if len(str(self.socket_dir)) > 90:  # Unix socket paths are limited to ~107 bytes
            self.socket_dir = Path(tempfile.gettempdir()) / f"lastmile-pg-{os.getuid()}"

    def _as_owner(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd

    def ensure_running(self) -> dict:
        if not self.bindir:
            raise EnvError("PostgreSQL's server binaries were not found (/usr/lib/postgresql/*/bin).")
        if is_root():
            self.folder.mkdir(parents=True, exist_ok=True)
            shutil.chown(self.folder, "postgres", "postgres")
        self.socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if is_root():
            shutil.chown(self.socket_dir, "postgres", "postgres")
        if not (self.data / "PG_VERSION").is_file():
            say(f"creating a private PostgreSQL cluster in {self.data} ...")
            self.data.mkdir(parents=True, exist_ok=True)
            if is_root():
                shutil.chown(self.data, "postgres", "postgres")
            run(
                self._as_owner(
                    [
                        str(self.bindir / "initdb"),
                        "-D",
                        str(self.data),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                capture=True,
                what="initdb",
            )
        status = run(
            self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"]),
            check=False,
            capture=True,
        )
        if status.returncode != 0:
            say("starting the private PostgreSQL server ...")
            options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
            run(
                self._as_owner(
                    [
                        str(self.bindir / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-l",
                        str(self.folder / "server.log"),
                        "-o",
                        options,
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ]
                ),
                capture=True,
                what=f"starting PostgreSQL (log: {self.folder / 'server.log'})",
            )
        return {
            "host": str(self.socket_dir),
            "port": "5432",
            "user": DB_ROLE,
            "password": "",
            "admin_user": "postgres",
        }

    def stop(self) -> None:
        if self.bindir and (self.data / "PG_VERSION").is_file():
            run(
                self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]),
                check=False,
            )


# --------------------------------------------------------------------------------------------
# Stage 1: provision, then continue inside the virtualenv
# --------------------------------------------------------------------------------------------


def provision(*, need_browser: bool) -> dict:
    odoo_path = ensure_odoo()
    ensure_system_packages(need_browser=need_browser)
    ensure_venv(odoo_path)
    db = external_db()
    if db is None:
        db = LocalCluster().ensure_running()
    return {"odoo_path": str(odoo_path), "db": db}


def write_odoo_config(info: dict) -> Path:
    odoo_path = Path(info["odoo_path"])
    db = info["db"]
    LOCAL.mkdir(exist_ok=True)
    (state_dir() / "data").mkdir(parents=True, exist_ok=True)
    config = LOCAL / "odoo.conf"
    lines = [
        "[options]",
        f"addons_path = {','.join(str(p) for p in addons_paths(odoo_path))}",
        f"data_dir = {state_dir() / 'data'}",
        f"db_host = {db['host']}",
        f"db_port = {db['port']}",
        f"db_user = {db['user']}",
        f"db_password = {db['password']}",
        f"http_interface = {http_interface()}",
        "list_db = False",
        "log_level = info",
        # Odoo 19 core still calls Werkzeug APIs deprecated in the pinned 2.3: keep logs readable.
        "log_handler = :INFO,py.warnings:ERROR",
    ]
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    return config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("provision", help="provision everything, start PostgreSQL, and stop")
    sub.add_parser("run", help="start Odoo with the demo database")
    test = sub.add_parser("test", help="run every test (pytest arguments may follow)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    sub.add_parser("pot", help="export the translation templates (i18n/*.pot) of the addons")
    sub.add_parser("stop-db", help="stop the private PostgreSQL server")
    args = parser.parse_args(argv)
    try:
        if args.command == "stop-db":
            LocalCluster().stop()
            return 0
        if args.command == "run":
            check_port_free(http_port())
        info = provision(need_browser=args.command == "test")
        info["config"] = str(write_odoo_config(info))
        if args.command == "provision":
            say("provisioned.")
            return 0
        stage2 = [
            str(venv_python()),
            str(ROOT / "tools" / "devenv_stage2.py"),
            args.command,
            json.dumps(info),
        ]
        if args.command == "test":
            stage2 += args.pytest_args
        sys.stdout.flush()
        os.execv(stage2[0], stage2)
    except EnvError as exc:
        print(f"\nerror: {exc}\n", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def http_port() -> int:
    value = os.environ.get("PORT") or "8069"
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise EnvError(f"PORT={value} is not a TCP port number (1-65535).")
    return int(value)


def http_interface() -> str:
    """Odoo listens on the loopback interface only, unless HTTP_INTERFACE says otherwise: the
    demo database has well-known passwords."""
    return os.environ.get("HTTP_INTERFACE") or "127.0.0.1"


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((http_interface(), port))
        except OSError:
            raise EnvError(
                f"Port {port} is already in use (another Odoo, or an earlier `make run`?).\n"
                f"Stop that program, or choose another port: make run PORT={port + 1}"
            ) from None


if __name__ == "__main__":
    sys.exit(main())
