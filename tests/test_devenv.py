"""The provisioning script reports bad environments with clear messages, not tracebacks."""

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import devenv  # noqa: E402


def test_parse_deb822_sources_finds_main_archive():
    text = """Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""
    entries = devenv.parse_deb822_sources(text)
    assert len(entries) == 2
    assert devenv.find_debian_uri(entries) == "http://mirror.example/debian"


def test_parse_one_line_sources_skips_security_and_comments():
    text = """# deb http://old.example/debian bookworm main
deb http://security.example/debian-security bookworm-security main
deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib
"""
    entries = devenv.parse_one_line_sources(text)
    assert devenv.find_debian_uri(entries) == "http://mirror.example/debian"


def test_disabled_sources_are_ignored():
    text = "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n"
    assert devenv.parse_deb822_sources(text) == []


def test_odoo_path_that_is_not_odoo(tmp_path):
    with pytest.raises(devenv.EnvError, match="not an Odoo source tree"):
        devenv.resolve_odoo_path(tmp_path)


def test_odoo_path_of_another_version(tmp_path):
    (tmp_path / "odoo").mkdir()
    (tmp_path / "odoo" / "release.py").write_text("version_info = (18, 0, 0, FINAL, 0, '')\n")
    assert devenv.resolve_odoo_path(tmp_path) == tmp_path
    with pytest.raises(devenv.EnvError, match="not Odoo 19"):
        devenv.check_odoo_version(tmp_path)


def test_odoo_path_git_checkout_layout(tmp_path):
    (tmp_path / "odoo" / "addons").mkdir(parents=True)
    (tmp_path / "addons").mkdir()
    (tmp_path / "odoo" / "release.py").write_text("version_info = (19, 0, 0, FINAL, 0, '')\n")
    devenv.check_odoo_version(devenv.resolve_odoo_path(tmp_path))
    assert devenv.addons_paths(tmp_path) == [devenv.ROOT, tmp_path / "addons", tmp_path / "odoo" / "addons"]


def test_no_apt_get_and_no_odoo_path(monkeypatch, tmp_path):
    monkeypatch.delenv("ODOO_PATH", raising=False)
    monkeypatch.setenv("LASTMILE_HOME", str(tmp_path))
    monkeypatch.setattr(devenv.shutil, "which", lambda name: None)
    with pytest.raises(devenv.EnvError, match="ODOO_PATH=/path/to/odoo"):
        devenv.ensure_odoo()


def test_port_in_use_is_reported():
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(devenv.EnvError, match=f"(?s)Port {port} is already in use.*PORT={port + 1}"):
            devenv.check_port_free(port)


def test_bad_port_value(monkeypatch):
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(devenv.EnvError, match="not a TCP port"):
        devenv.http_port()


def test_external_postgres_refusing_login():
    import devenv_stage2

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    db = {"host": "127.0.0.1", "port": str(port), "user": "nobody", "password": "wrong"}
    with pytest.raises(devenv.EnvError, match="(?s)refused the connection as user 'nobody'.*DB_PASSWORD"):
        devenv_stage2.connect(db, "postgres")


def test_main_prints_error_without_traceback(monkeypatch, capsys):
    monkeypatch.setenv("PORT", "0x50")
    assert devenv.main(["run"]) == 2
    err = capsys.readouterr().err
    assert "error: PORT=0x50" in err
    assert "Traceback" not in err


def test_postgres_refusing_unknown_role():
    """The server the tests run on refuses a role that does not exist: reported clearly."""
    import devenv_stage2

    import odoo

    config = odoo.tools.config
    db = {
        "host": config["db_host"] or "localhost",
        "port": str(config["db_port"] or 5432),
        "user": "lastmile_no_such_role",
        "password": "x",
    }
    with pytest.raises(devenv.EnvError, match="refused the connection as user 'lastmile_no_such_role'"):
        devenv_stage2.connect(db, "postgres")


def test_postgres_superuser_is_refused_early(monkeypatch):
    monkeypatch.setenv("DB_HOST", "db.example")
    monkeypatch.setenv("DB_USER", "postgres")
    with pytest.raises(devenv.EnvError, match="dedicated role"):
        devenv.external_db()


@pytest.mark.skipif(not devenv.shutil.which("apt-get"), reason="needs Debian's apt-get")
def test_unreachable_debian_archive(tmp_path):
    """A mirror that does not answer is reported as such, not as a missing package."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    apt = devenv.PrivateApt(tmp_path)
    with pytest.raises(devenv.EnvError, match="(?s)Could not read Debian's archive.*ODOO_PATH"):
        apt.update(f"http://127.0.0.1:{port}/debian")


def test_fresh_test_database_is_dropped_and_recreated_by_name():
    """FRESH_DB drops a database: DROP DATABASE must run outside a transaction block."""
    import devenv_stage2

    import odoo

    config = odoo.tools.config
    db = {"host": config["db_host"], "port": str(config["db_port"] or 5432), "user": config["db_user"]}
    db["password"] = config["db_password"] or ""
    name = "lastmile_devenv_probe"
    with devenv_stage2.closing(devenv_stage2.connect(db, "postgres")) as conn, conn.cursor() as cr:
        cr.execute(f"DROP DATABASE IF EXISTS {name}")
        cr.execute(f"CREATE DATABASE {name}")
    devenv_stage2.drop_database(db, name)
    with devenv_stage2.closing(devenv_stage2.connect(db, "postgres")) as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        assert cr.fetchone() is None
