import base64
import io
import uuid
from unittest.mock import patch

from PIL import Image

from odoo.addons.lastmile_delivery.tests.common import LastmileCase

DAY = "2026-11-18"


def picture(kind="JPEG", size=(64, 48), color=(200, 30, 30)):
    """A small picture of ``kind``, as bytes."""
    stream = io.BytesIO()
    Image.new("RGB", size, color).save(stream, format=kind)
    return stream.getvalue()


def b64(data):
    return base64.b64encode(data).decode()


class PodCase(LastmileCase):
    """A planned route of the driver Ana with stock on hand, and helpers to report its stops
    from her phone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.lastmile_pod_default_proof = "either"
        cls.carrier.lastmile_proof_required = "either"
        stock = cls.warehouse.lot_stock_id
        cls.second_product = cls.env["product.product"].create(
            {"name": "Lemonade", "type": "consu", "is_storable": True, "weight": 1.0}
        )
        cls.env["stock.quant"]._update_available_quantity(cls.second_product, stock, 100)
        cls.product.is_storable = True
        cls.env["stock.quant"]._update_available_quantity(cls.product, stock, 100)

    def _planned_orders(self, partners, qty=2):
        """Confirmed orders for ``partners`` (one each), all assigned to Ana and planned."""
        orders = self.env["sale.order"]
        for partner in partners:
            orders |= self._create_order(partner=partner, qty=qty)
        tasks = orders.lastmile_task_ids
        tasks.write({"driver_id": self.driver.id})
        self.env["lastmile.route"].plan_routes(DAY, time_limit=1)
        self.assertTrue(all(tasks.mapped("route_id")), "every delivery is planned")
        return orders, tasks

    def run_stock_queue(self):
        """What the scheduled action does seconds after the drivers' reports: their delivery
        orders validated or cancelled (its commits become no-ops inside the test)."""
        with patch.object(self.env.cr, "commit"):
            self.env["lastmile.delivery.task"]._cron_lastmile_stock()

    def as_driver(self, records, user=None):
        return records.with_user(user or self.driver_user)

    def proof(self, kind="delivered", photos=1, signature=True, **values):
        return {
            "key": uuid.uuid4().hex,
            "kind": kind,
            "captured_at": "2026-11-18T08:55:00Z",
            "latitude": 50.8503,
            "longitude": 4.3517,
            "accuracy": 8.0,
            "recipient_name": "Carla",
            "photos": [b64(picture()) for _i in range(photos)],
            "signature": b64(picture("PNG", (300, 120), (255, 255, 255))) if signature else False,
            **values,
        }
