from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace
from unittest.mock import MagicMock, patch

import freezegun
from geopy.adapters import RequestsAdapter

from odoo import Command, fields
from odoo.tests import new_test_user
from odoo.tests.common import TransactionCase
from odoo.tools.translate import code_translations

from ..services import geocoding

# PyVRP stops on the wall clock: let it see the real one while tests freeze the date.
freezegun.configure(extend_ignore_list=["pyvrp"])

# Real places of Brussels (latitude, longitude)
WAREHOUSE = (50.8466, 4.3528)  # Grand-Place
NEAR = (50.8503, 4.3517)  # Rue Neuve, ~0.4 km north
MIDI = (50.8357, 4.3365)  # Gare du Midi, ~1.7 km south-west
ATOMIUM = (50.8949, 4.3415)  # ~5.4 km north
NOW = datetime(2026, 11, 18, 7, 0)  # a Wednesday, before the shifts start (UTC)


def all_day_calendar(name, zone="UTC"):
    """Values of working hours every day, all day (for a ``create`` or a ``write``), in
    ``zone``."""
    return {
        "name": name,
        "tz": zone,
        "attendance_ids": [
            Command.clear(),
            *[
                Command.create({"name": f"Day {d}", "dayofweek": str(d), "hour_from": 0, "hour_to": 23.99})
                for d in range(7)
            ],
        ],
    }


def midday_zone():
    """A time zone in which now is around midday (Etc/GMT+N is N hours west of UTC): a tour that
    runs now, whatever the hour, has a day that is not over before it is."""
    return f"Etc/GMT{fields.Datetime.now().hour - 12:+d}"


def osrm_table(trip, table_limit, asked):
    """A fake OSRM server's ``/table`` (``requests.get``'s signature) that answers at most
    ``table_limit`` sources by as many destinations, ``trip(source, target)`` giving
    ``(seconds, meters)`` between two (latitude, longitude) places or None (no road); each
    request's sources and targets are added to ``asked``."""

    def get(url, params, timeout):
        places = [tuple(float(v) for v in c.split(","))[::-1] for c in url.rsplit("/", 1)[1].split(";")]
        sources = [places[int(k)] for k in params["sources"].split(";")] if "sources" in params else places
        targets = (
            [places[int(k)] for k in params["destinations"].split(";")]
            if "destinations" in params
            else places
        )
        assert len(sources) <= table_limit and len(targets) <= table_limit, "above the table limit"
        asked.append((sources, targets))
        trips = [[trip(a, b) for b in targets] for a in sources]
        answer = MagicMock(status_code=200)
        answer.json.return_value = {
            "code": "Ok",
            "durations": [[t and t[0] for t in row] for row in trips],
            "distances": [[t and t[1] for t in row] for row in trips],
        }
        return answer

    return get


class LastmileCase(TransactionCase):
    """Fixtures shared by the tests of the suite: users of each group, a warehouse with
    coordinates, an own-fleet delivery method, drivers with shifts, and order helpers.

    Every test runs in UTC on Wednesday 18 November 2026 at 07:00; geocoding requests fail the
    test unless the test mocks them (see :meth:`mock_geocoder`).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(
            patch.object(
                RequestsAdapter, "get_json", side_effect=AssertionError("unexpected geocoding request")
            )
        )
        geocoding.CACHE.clear()
        cls.company = cls.env.company
        cls.company.partner_id.tz = "UTC"
        cls.company.write(
            {
                "lastmile_auto_dispatch": False,
                "lastmile_delivery_hour_from": 9.0,
                "lastmile_delivery_hour_to": 18.0,
                "lastmile_service_minutes": 5.0,
            }
        )
        cls.env["ir.config_parameter"].sudo().set_param("lastmile.geocoder", "nominatim")
        cls.env["ir.config_parameter"].sudo().set_param(
            "lastmile.nominatim_url", "https://nominatim.example.org"
        )
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.company.id)], limit=1)
        cls.warehouse.partner_id.write({"partner_latitude": WAREHOUSE[0], "partner_longitude": WAREHOUSE[1]})
        cls.calendar = cls.env["resource.calendar"].create(
            {"name": "Driver shifts", "company_id": cls.company.id, "tz": "UTC"}
        )
        cls.company.resource_calendar_id.tz = "UTC"
        cls.manager_user = new_test_user(
            cls.env, "lm_manager", groups="lastmile_delivery.group_lastmile_manager"
        )
        cls.dispatcher_user = new_test_user(
            cls.env,
            "lm_dispatcher",
            groups="lastmile_delivery.group_lastmile_dispatcher,sales_team.group_sale_salesman",
        )
        cls.driver_user = new_test_user(
            cls.env, "lm_driver", groups="lastmile_delivery.group_lastmile_driver"
        )
        cls.other_driver_user = new_test_user(
            cls.env, "lm_driver2", groups="lastmile_delivery.group_lastmile_driver"
        )
        # shop staff without any Last Mile group
        cls.salesperson = new_test_user(
            cls.env, "lm_seller", groups="sales_team.group_sale_salesman,stock.group_stock_user"
        )
        cls.stock_user = new_test_user(cls.env, "lm_clerk", groups="stock.group_stock_user")
        cls.driver = cls._create_driver("Ana", cls.driver_user, on_duty=True)
        cls.other_driver = cls._create_driver("Bruno", cls.other_driver_user, on_duty=True)
        cls.carrier = cls.env["delivery.carrier"].create(
            {
                "name": "Our drivers",
                "delivery_type": "lastmile",
                "lastmile_pricing": "fixed",
                "product_id": cls.env["product.product"]
                .create({"name": "Home delivery", "type": "service"})
                .id,
            }
        )
        cls.product = cls.env["product.product"].create(
            {"name": "Pizza box", "type": "consu", "weight": 2.0, "volume": 0.01, "list_price": 12}
        )
        cls.customer = cls._create_customer("Carla", NEAR)
        if "lastmile_pod_default_proof" in cls.company._fields:
            # with lastmile_delivery_pod installed, drivers deliver with a proof (tested there);
            # these tests are about the flows without it
            cls.company.lastmile_pod_default_proof = "none"
            cls.carrier.lastmile_proof_required = "none"

    @classmethod
    def _create_driver(cls, name, user=None, **values):
        return cls.env["lastmile.driver"].create(
            {
                "name": name,
                "user_id": user and user.id,
                "resource_calendar_id": cls.calendar.id,
                "capacity_weight": 500.0,
                **values,
            }
        )

    def in_french(self, translations):
        """French made active, and a context in which ``translations`` ({English source:
        French}) are lastmile_delivery's (no .po ships yet: a test brings its own)."""
        self.env["res.lang"]._activate_lang("fr_FR")
        return patch.dict(
            code_translations.python_translations, {("lastmile_delivery", "fr_FR"): translations}
        )

    @classmethod
    def _create_customer(cls, name, point=None, **values):
        return cls.env["res.partner"].create(
            {
                "name": name,
                "street": f"Rue {name} 1",
                "zip": "1000",
                "city": "Bruxelles",
                "country_id": cls.env.ref("base.be").id,
                "partner_latitude": point[0] if point else 0.0,
                "partner_longitude": point[1] if point else 0.0,
                **values,
            }
        )

    def _create_order(
        self, partner=None, qty=1, carrier=None, product=None, confirm=True, user=None, **values
    ):
        """An order of ``partner``, created and confirmed by ``user`` (default: the superuser)."""
        env = self.env(user=user) if user else self.env
        order = env["sale.order"].create(
            {
                "partner_id": (partner or self.customer).id,
                "carrier_id": (carrier if carrier is not None else self.carrier).id,
                "order_line": [
                    Command.create({"product_id": (product or self.product).id, "product_uom_qty": qty})
                ],
                **values,
            }
        )
        if confirm:
            order.action_confirm()
        return order

    def _create_task(self, partner=None, start=None, end=None, **values):
        """A task without order, for dispatch tests."""
        partner = partner or self.customer
        return self.env["lastmile.delivery.task"].create(
            {
                "partner_id": partner.id,
                "partner_shipping_id": partner.id,
                "window_start": start or datetime(2026, 11, 18, 9, 0),
                "window_end": end or datetime(2026, 11, 18, 12, 0),
                "weight": 5.0,
                **values,
            }
        )

    def run_queue(self):
        """What the scheduled action does after an order's commit: locate, then dispatch (its
        commits become no-ops inside the test's transaction)."""
        with patch.object(self.env.cr, "commit"):
            self.env["lastmile.delivery.task"]._cron_geocode()

    @contextmanager
    def mock_geocoder(self, answer=None, error=None):
        """Answer geocoding requests at geopy's HTTP boundary; yields the mock."""
        geocoding.CACHE.clear()
        kwargs = {"side_effect": error} if error else {"return_value": answer if answer is not None else []}
        with patch.object(RequestsAdapter, "get_json", **kwargs) as get_json:
            yield get_json

    @contextmanager
    def watch_statements(self):
        """Record the first word of every SQL statement run meanwhile; yields an object whose
        ``writes()`` flushes what the ORM holds back and counts the statements that wrote."""
        statements = []
        cursor_class = type(self.env.cr)
        execute = cursor_class.execute

        def spy(cr, query, params=None, log_exceptions=True):
            statements.append(str(getattr(query, "code", query)).split(None, 1)[0].upper())
            return execute(cr, query, params, log_exceptions)

        def writes():
            self.env.flush_all()  # whatever is pending would be written by now
            return sum(1 for s in statements if s in ("UPDATE", "INSERT", "DELETE"))

        with patch.object(cursor_class, "execute", spy):
            yield SimpleNamespace(statements=statements, writes=writes)

    @staticmethod
    def nominatim(point):
        return [{"lat": str(point[0]), "lon": str(point[1]), "display_name": "Somewhere, Bruxelles"}]
