from freezegun import freeze_time
from geopy.exc import GeocoderTimedOut

from odoo.tests import tagged

from .common import NOW, LastmileCase


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestGeocoding(LastmileCase):
    def test_missing_coordinates_are_geocoded_on_confirmation(self):
        customer = self._create_customer("Dora")
        with self.mock_geocoder(answer=self.nominatim((50.8503, 4.3517))) as service:
            task = self._create_order(partner=customer).lastmile_task_ids
        self.assertEqual(service.call_count, 1)
        self.assertIn("Rue+Dora+1", service.call_args.args[0])
        self.assertEqual(task.address_state, "ok")
        self.assertAlmostEqual(customer.partner_latitude, 50.8503)
        self.assertAlmostEqual(task.longitude, 4.3517)
        self.assertTrue(customer.date_localization)

    def test_geocoder_down_never_blocks_confirmation(self):
        customer = self._create_customer("Eli")
        self.company.lastmile_auto_dispatch = True
        with self.mock_geocoder(error=GeocoderTimedOut("timed out")):
            order = self._create_order(partner=customer)
        self.assertEqual(order.state, "sale")
        task = order.lastmile_task_ids
        self.assertEqual(task.address_state, "to_check")
        self.assertIn("did not answer within", task.geocode_issue)
        self.assertTrue(task.geocode_retry)
        self.assertFalse(task.driver_id, "auto dispatch skips addresses to check")
        # dispatch on demand explains why
        task.action_dispatch()
        self.assertEqual(task.state, "new")
        self.assertIn("Address to check: The geocoding service did not answer", task.dispatch_issue)
        # the scheduled action tries again when the service is back, and dispatches
        with self.mock_geocoder(answer=self.nominatim((50.8503, 4.3517))):
            self.env["lastmile.delivery.task"]._cron_geocode()
        self.assertEqual(task.address_state, "ok")
        self.assertFalse(task.geocode_issue)
        self.assertEqual(task.state, "assigned")

    def test_unknown_address(self):
        customer = self._create_customer("Fred")
        with self.mock_geocoder(answer=[]):
            task = self._create_order(partner=customer).lastmile_task_ids
        self.assertEqual(task.address_state, "to_check")
        self.assertIn("not found", task.geocode_issue)
        self.assertFalse(task.geocode_retry, "an unknown address is not retried: a person must fix it")
        # the dispatcher fixes the coordinates by hand: the task is located again
        task.write({"latitude": 50.85, "longitude": 4.35})
        task.action_geocode()
        self.assertEqual(task.address_state, "ok")
        self.assertAlmostEqual(customer.partner_latitude, 50.85)

    def test_bad_geocoder_settings_flag_the_task(self):
        self.env["ir.config_parameter"].sudo().set_param("lastmile.geocoder", "google")
        self.env["ir.config_parameter"].sudo().set_param("lastmile.google_api_key", "")
        task = self._create_order(partner=self._create_customer("Gil")).lastmile_task_ids
        self.assertIn("needs an API key", task.geocode_issue)
