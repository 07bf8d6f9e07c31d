"""Cross-module checks: the three addons form one installable, well-described suite."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADDONS = ("lastmile_delivery", "lastmile_delivery_pod", "lastmile_delivery_reports")
# what each addon builds on: the phone's on the core, the reports on everything (proofs, positions)
BASE = {"lastmile_delivery_pod": "lastmile_delivery", "lastmile_delivery_reports": "lastmile_delivery_pod"}


@pytest.mark.parametrize("addon", ADDONS)
def test_manifest_and_readme(addon):
    manifest = ast.literal_eval((ROOT / addon / "__manifest__.py").read_text())
    assert re.fullmatch(r"19\.0\.\d+\.\d+\.\d+", manifest["version"]), manifest["version"]
    assert manifest["license"] == "LGPL-3"
    assert manifest["author"]
    assert manifest["installable"]
    for name in ("DESCRIPTION.md", "USAGE.md"):
        assert (ROOT / addon / "readme" / name).read_text().strip(), f"{addon}/readme/{name} is empty"
    if addon in BASE:
        assert BASE[addon] in manifest["depends"]


def test_addons_installed_with_dependencies(env):
    modules = env["ir.module.module"].search([("name", "in", ADDONS)])
    assert sorted(modules.mapped("name")) == sorted(ADDONS)
    assert set(modules.mapped("state")) == {"installed"}
    for module in modules.filtered(lambda m: m.name in BASE):
        assert BASE[module.name] in module.dependencies_id.mapped("name")


def test_app_menu_for_each_group(env):
    """Every Last Mile group reaches the app menu; a plain internal user does not."""
    root = env.ref("lastmile_delivery.menu_root")
    Users = env["res.users"].with_context(no_reset_password=True)
    plain = Users.create(
        {"name": "Plain", "login": "suite_plain", "group_ids": [(6, 0, [env.ref("base.group_user").id])]}
    )
    assert root.id not in env["ir.ui.menu"].with_user(plain)._visible_menu_ids()
    for group in ("driver", "dispatcher", "manager"):
        user = Users.create(
            {
                "name": group.title(),
                "login": f"suite_{group}",
                "group_ids": [(6, 0, [env.ref(f"lastmile_delivery.group_lastmile_{group}").id])],
            }
        )
        assert root.id in env["ir.ui.menu"].with_user(user)._visible_menu_ids(), group
