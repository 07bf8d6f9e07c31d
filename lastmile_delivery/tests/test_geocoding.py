from unittest.mock import patch

from freezegun import freeze_time
from geopy.exc import GeocoderTimedOut

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import NOW, LastmileCase


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestGeocoding(LastmileCase):
    def test_missing_coordinates_are_geocoded_after_confirmation(self):
        """The salesperson's confirmation asks no geocoder: the address is located by the
        scheduled action that runs after the commit."""
        customer = self._create_customer("Dora")
        with self.mock_geocoder(answer=self.nominatim((50.8503, 4.3517))) as service:
            order = self._create_order(partner=customer, user=self.salesperson)
            task = order.sudo().lastmile_task_ids
            self.assertEqual(service.call_count, 0, "no HTTP call in the salesperson's transaction")
            self.assertEqual(task.address_state, "pending")
            self.assertTrue(task.geocode_pending)
            self.run_queue()
        self.assertEqual(service.call_count, 1)
        self.assertIn("Rue+Dora+1", service.call_args.args[0])
        self.assertEqual(task.address_state, "ok")
        self.assertFalse(task.geocode_pending)
        self.assertAlmostEqual(customer.partner_latitude, 50.8503)
        self.assertAlmostEqual(task.longitude, 4.3517)
        self.assertTrue(customer.date_localization)

    def test_confirmation_queues_the_job(self):
        cron = self.env.ref("lastmile_delivery.ir_cron_lastmile_geocode")
        before = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        self._create_order(partner=self._create_customer("Queue"), user=self.salesperson)
        self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), before + 1)

    def test_geocoder_down_never_blocks_confirmation(self):
        customer = self._create_customer("Eli")
        self.company.lastmile_auto_dispatch = True
        order = self._create_order(partner=customer, user=self.salesperson)
        self.assertEqual(order.state, "sale")
        task = order.sudo().lastmile_task_ids
        with self.mock_geocoder(error=GeocoderTimedOut("timed out")):
            self.run_queue()
        self.assertEqual(task.address_state, "to_check")
        self.assertIn("did not answer within", task.geocode_issue)
        self.assertTrue(task.geocode_pending)
        self.assertFalse(task.driver_id, "a delivery waits for its coordinates before dispatch")
        self.assertTrue(task.dispatch_pending)
        # dispatch on demand explains why
        task.with_user(self.dispatcher_user).action_dispatch()
        self.assertEqual(task.state, "new")
        self.assertIn("Address to check: The geocoding service did not answer", task.dispatch_issue)
        # the scheduled action tries again when the service is back, and dispatches
        with self.mock_geocoder(answer=self.nominatim((50.8503, 4.3517))):
            self.run_queue()
        self.assertEqual(task.address_state, "ok")
        self.assertFalse(task.geocode_issue)
        self.assertEqual(task.state, "assigned")
        self.assertFalse(task.dispatch_pending)

    def test_unknown_address(self):
        customer = self._create_customer("Fred")
        task = self._create_order(partner=customer).lastmile_task_ids
        with self.mock_geocoder(answer=[]):
            self.run_queue()
        self.assertEqual(task.address_state, "to_check")
        self.assertIn("not found", task.geocode_issue)
        self.assertFalse(task.geocode_pending, "an unknown address is not retried: a person must fix it")
        # the dispatcher fixes the coordinates by hand: the task is located again at once
        task.with_user(self.dispatcher_user).write({"latitude": 50.85, "longitude": 4.35})
        result = task.with_user(self.dispatcher_user).action_geocode()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(task.address_state, "ok")
        self.assertAlmostEqual(customer.partner_latitude, 50.85)

    def test_locate_again_runs_in_the_background(self):
        """A dispatcher's “Locate Address” on an address without coordinates queues the lookup
        instead of waiting for the geocoder in the browser's request."""
        task = self._create_order(partner=self._create_customer("Gus")).lastmile_task_ids
        with self.mock_geocoder(answer=[]):
            self.run_queue()
        with self.mock_geocoder(answer=self.nominatim((50.85, 4.35))) as service:
            result = task.with_user(self.dispatcher_user).action_geocode()
            self.assertEqual(service.call_count, 0)
            self.assertIn("in the background", result["params"]["message"])
            self.assertEqual(task.address_state, "pending")
            self.run_queue()
        self.assertEqual(task.address_state, "ok")

    def test_bad_geocoder_settings_flag_the_task(self):
        self.env["ir.config_parameter"].sudo().set_param("lastmile.geocoder", "google")
        self.env["ir.config_parameter"].sudo().set_param("lastmile.google_api_key", "")
        task = self._create_order(partner=self._create_customer("Gil")).lastmile_task_ids
        self.run_queue()
        self.assertIn("needs an API key", task.geocode_issue)

    def test_no_request_while_rows_are_locked(self):
        """Every geocoder request of a batch is made before the first row is written."""
        tasks = self.env["lastmile.delivery.task"]
        for name in ("Hal", "Ivy", "Jon"):
            tasks |= self._create_order(partner=self._create_customer(name)).lastmile_task_ids
        self.env.flush_all()
        writes_at_request = []
        with self.mock_geocoder() as service, self.watch_statements() as watch:

            def answer(*args, **kwargs):
                writes_at_request.append(watch.writes())
                return self.nominatim((50.85, 4.35))

            service.side_effect = answer
            tasks._geocode()
            self.env.flush_all()
        self.assertEqual(writes_at_request, [0, 0, 0])
        self.assertIn("UPDATE", watch.statements)
        self.assertEqual(set(tasks.mapped("address_state")), {"ok"})

    def test_the_queue_works_in_small_committed_batches(self):
        """Each round locates a small batch and commits it, reporting what is left, so a long
        queue never runs into the time limit of a scheduled action and no answer is lost."""
        tasks = self.env["lastmile.delivery.task"]
        for name in ("Kim", "Lea", "Max", "Ned", "Oda"):
            tasks |= self._create_order(partner=self._create_customer(name)).lastmile_task_ids
        with (
            self.mock_geocoder(answer=self.nominatim((50.85, 4.35))) as service,
            patch.object(self.env.cr, "commit") as commit,
            patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=600.0) as progress,
        ):
            self.env["lastmile.delivery.task"]._cron_geocode(batch=2)
        self.assertEqual(service.call_count, 2)
        self.assertEqual(len(tasks.filtered(lambda t: t.address_state == "ok")), 2)
        self.assertEqual(progress.call_args_list[0].args, (2,))
        self.assertEqual(progress.call_args_list[0].kwargs, {"remaining": 3})
        commit.assert_not_called()  # commits go through the scheduler's progress API

    def test_the_queues_dispatch_reasons_are_in_the_shops_language(self):
        """The scheduled action has no language: what it writes on a delivery it could not
        dispatch is in the shop's (its company's), as the dispatchers read it."""
        self.company.lastmile_auto_dispatch = True
        french = self.in_french(
            {
                "No driver on duty": "Aucun chauffeur en service",
                "no driver is on duty": "personne n'est en service",
            }
        )
        self.company.partner_id.lang = "fr_FR"
        self.env["lastmile.driver"].search([]).on_duty = False
        task = self._create_order(partner=self._create_customer("Tess")).lastmile_task_ids
        with (
            self.mock_geocoder(answer=self.nominatim((50.85, 4.35))),
            patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=600.0),
            patch.object(self.env.cr, "commit"),
            french,
        ):
            self.env["lastmile.delivery.task"]._cron_geocode()
        self.assertEqual(task.state, "new")
        self.assertEqual(task.dispatch_issue, "Aucun chauffeur en service: personne n'est en service")

    def test_a_down_service_is_asked_once_per_round(self):
        tasks = self.env["lastmile.delivery.task"]
        for name in ("Pia", "Quin", "Rui"):
            tasks |= self._create_order(partner=self._create_customer(name)).lastmile_task_ids
        with (
            self.mock_geocoder(error=GeocoderTimedOut("timed out")) as service,
            patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=600.0) as progress,
        ):
            self.env["lastmile.delivery.task"]._cron_geocode()
        self.assertEqual(service.call_count, 1, "the others wait for the next round")
        self.assertEqual(progress.call_args_list[0].kwargs, {"remaining": 0})
        self.assertTrue(all(tasks.mapped("geocode_pending")))
        self.assertEqual(set(tasks.mapped("address_state")), {"to_check"})
        self.assertIn("did not answer", tasks[2].geocode_issue)

    def test_dispatcher_enters_coordinates_without_editing_contacts(self):
        """A dispatcher fixes an address's coordinates on the delivery; the contact itself stays
        out of their reach. The stale reason goes, and the waiting dispatch follows."""
        self.company.lastmile_auto_dispatch = True
        customer = self._create_customer("Sid")
        task = self._create_order(partner=customer, user=self.salesperson).sudo().lastmile_task_ids
        with self.mock_geocoder(answer=[]):
            self.run_queue()
        # a dispatcher and nothing else (no sales right, which may edit contacts)
        dispatcher = new_test_user(
            self.env, "lm_only_dispatcher", groups="lastmile_delivery.group_lastmile_dispatcher"
        )
        task.with_user(dispatcher).action_dispatch()
        self.assertIn("Address to check", task.dispatch_issue)
        task.with_user(dispatcher).write({"latitude": 50.8503, "longitude": 4.3517})
        self.assertAlmostEqual(customer.partner_latitude, 50.8503)
        with self.assertRaises(AccessError):
            customer.with_user(dispatcher).write({"name": "Someone else"})
        with self.assertRaises(AccessError):
            task.with_user(self.driver_user).write({"latitude": 1.0})
        task.with_user(dispatcher).action_geocode()
        self.assertEqual(task.address_state, "ok")
        self.assertFalse(task.dispatch_issue, "the old reason is gone")
        self.run_queue()
        self.assertEqual(task.state, "assigned", "the automatic dispatch followed")

    def test_a_price_that_cannot_be_set_does_not_stop_the_queue(self):
        """Priced per km once located, on an order locked meanwhile: the price cannot be written;
        that is noted on the transfer, and the queue goes on."""
        self.carrier.write(
            {
                "lastmile_pricing": "distance",
                "lastmile_base_price": 2,
                "lastmile_price_per_km": 1,
                "invoice_policy": "real",
            }
        )
        first = self._create_order(partner=self._create_customer("Tom"))
        second = self._create_order(partner=self._create_customer("Uma"))
        first.action_lock()
        with self.mock_geocoder(answer=self.nominatim((50.8949, 4.3415))):
            self.run_queue()
        tasks = (first | second).lastmile_task_ids
        self.assertEqual(set(tasks.mapped("address_state")), {"ok"})
        self.assertFalse(any(tasks.mapped("price_pending")))
        self.assertIn("could not be set", first.picking_ids.message_ids[0].body)
        self.assertGreater(second.picking_ids.carrier_price, 0)
