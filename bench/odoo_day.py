"""What the Odoo benchmarks share: the test database's registry and a synthetic delivery day
around Brussels (drivers at one depot, customers spread over about 13 x 13 km)."""

import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CENTER = (50.8466, 4.3528)  # Brussels, Grand-Place
DAY = datetime(2030, 1, 8)  # a Tuesday


def configure(db):
    """Odoo configured as `make test` configures it, on ``db``."""
    config_file = ROOT / ".local" / "odoo.conf"
    if not config_file.exists():
        sys.exit("Run `make test` (or `make provision`) first: .local/odoo.conf is missing.")
    import odoo.tools

    odoo.tools.config.parse_config(["-c", str(config_file), "-d", db, "--log-level=warn"])


def open_registry(db):
    """The registry of ``db`` configured as `make test` configures Odoo."""
    from odoo.modules.registry import Registry

    configure(db)
    return Registry(db)


def make_day(
    env,
    n_tasks,
    n_drivers,
    rng: random.Random,
    *,
    tz,
    capacity,
    first_hours,
    window_hours,
    max_weight,
    urgent_share=None,
):
    """Drivers on duty and open deliveries of DAY; returns the deliveries, flushed."""
    env.company.lastmile_auto_dispatch = False
    calendar = env["resource.calendar"].create({"name": "Bench shifts", "tz": tz})
    depot = env["res.partner"].create(
        {"name": "Bench depot", "partner_latitude": CENTER[0], "partner_longitude": CENTER[1]}
    )
    env["lastmile.driver"].create(
        [
            {
                "name": f"Bench driver {i:02d}",
                "resource_calendar_id": calendar.id,
                "on_duty": True,
                "capacity_weight": capacity,
                "start_partner_id": depot.id,
                "end_partner_id": depot.id,
            }
            for i in range(n_drivers)
        ]
    )
    partners = env["res.partner"].create(
        [
            {
                "name": f"Bench customer {i:04d}",
                "partner_latitude": CENTER[0] + rng.uniform(-0.06, 0.06),
                "partner_longitude": CENTER[1] + rng.uniform(-0.09, 0.09),
            }
            for i in range(n_tasks)
        ]
    )
    values = []
    for partner in partners:
        start = rng.randint(*first_hours)
        task = {
            "partner_id": partner.id,
            "partner_shipping_id": partner.id,
            "window_start": DAY + timedelta(hours=start),
            "window_end": DAY + timedelta(hours=start + rng.choice(window_hours)),
            "weight": round(rng.uniform(0.5, max_weight), 1),
        }
        if urgent_share is not None:
            task["priority"] = "1" if rng.random() < urgent_share else "0"
        values.append(task)
    tasks = env["lastmile.delivery.task"].create(values)
    env.flush_all()
    env.invalidate_all()
    return tasks
