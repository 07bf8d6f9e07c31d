from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestReportsTour(HttpCase):
    """A dispatcher opens the reporting menu, its pivots and the dashboard."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dispatcher = new_test_user(
            cls.env, "tour_reports_dispatcher", groups="lastmile_delivery.group_lastmile_dispatcher"
        )
        driver = cls.env["lastmile.driver"].create({"name": "Tour Driver"})
        partner = cls.env["res.partner"].create(
            {"name": "Tour Customer", "partner_latitude": 50.85, "partner_longitude": 4.35}
        )
        start = fields.Datetime.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
        for late in (0, 90):
            task = cls.env["lastmile.delivery.task"].create(
                {
                    "partner_id": partner.id,
                    "partner_shipping_id": partner.id,
                    "window_start": start,
                    "window_end": start + timedelta(hours=1),
                    "driver_id": driver.id,
                }
            )
            task._set_state("delivered", check=False, date_delivered=start + timedelta(minutes=30 + late))

    def test_reporting_menu_and_dashboard(self):
        self.start_tour("/odoo", "lastmile_reports", login="tour_reports_dispatcher")
