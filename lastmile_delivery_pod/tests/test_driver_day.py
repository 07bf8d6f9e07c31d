import re
from datetime import datetime
from unittest.mock import patch

import psycopg2
from freezegun import freeze_time

from odoo.addons.lastmile_delivery.models.lastmile_route import seconds_since
from odoo.addons.lastmile_delivery.services import routing as engine
from odoo.addons.lastmile_delivery.tests.common import ATOMIUM, MIDI, NEAR
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import PodCase, b64, picture


@freeze_time("2026-11-18 09:00:00")
@tagged("-at_install", "post_install")
class TestDriverDay(PodCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.near = cls.customer
        cls.midi = cls._create_customer("Marc", MIDI, phone="+32 470 00 00 02")
        cls.far = cls._create_customer("Fanny", ATOMIUM)
        cls.reasons = cls.env["lastmile.failure.reason"]
        cls.not_home = cls.env.ref("lastmile_delivery_pod.failure_reason_not_home")
        cls.refused = cls.env.ref("lastmile_delivery_pod.failure_reason_refused")
        cls.wrong_address = cls.env.ref("lastmile_delivery_pod.failure_reason_wrong_address")

    def test_delivered_from_the_back_office_needs_the_proof(self):
        """A driver's Delivered button without proof is refused; a dispatcher may (a delivery
        reported by phone), and another driver is refused before anything else."""
        _orders, tasks = self._planned_orders([self.near, self.midi])
        self.start(tasks)
        near, midi = tasks.sorted(lambda t: t.partner_shipping_id != self.near)
        with self.assertRaises(AccessError):
            self.as_driver(near, self.other_driver_user).action_deliver()
        with self.assertRaisesRegex(UserError, "needs a proof of delivery"):
            self.as_driver(near).action_deliver()
        midi.with_user(self.dispatcher_user).action_deliver()
        self.assertEqual((near.state, midi.state), ("in_transit", "delivered"))

    def start(self, tasks):
        route = tasks.route_id
        self.as_driver(route).action_start_route()
        return route

    # ------------------------------------------------------------------ My Route

    def test_my_route_lists_grouped_stops_for_the_driver(self):
        orders, tasks = self._planned_orders([self.near, self.near, self.midi])
        self.env.invalidate_all()  # what the driver reads, read as the driver
        data = self.as_driver(self.env["lastmile.route"]).get_driver_day()
        self.assertEqual(
            sorted(d["order"] for s in data["stops"] for d in s["deliveries"]), sorted(orders.mapped("name"))
        )
        self.assertEqual(data["route"]["id"], tasks.route_id.id)
        self.assertEqual(data["route"]["stops_left"], 2, "two orders to one door are one stop")
        stops = {tuple(s["task_ids"]): s for s in data["stops"]}
        grouped = stops[tuple(tasks.filtered(lambda t: t.partner_shipping_id == self.near).sorted("id").ids)]
        self.assertEqual(len(grouped["deliveries"]), 2)
        self.assertEqual(grouped["deliveries"][0]["lines"][0]["product"], self.product.display_name)
        self.assertEqual(grouped["deliveries"][0]["lines"][0]["quantity"], 2)
        self.assertTrue(grouped["navigation"]["geo"].startswith(f"geo:{NEAR[0]},{NEAR[1]}"))
        self.assertIn("waze.com", grouped["navigation"]["waze"])
        other = next(s for s in data["stops"] if s is not grouped)
        self.assertEqual(other["phone"], "+32 470 00 00 02")
        self.assertTrue(other["eta"] and other["window"])
        self.assertTrue(data["reasons"] and data["settings"]["position_interval"])
        # another driver has no route today
        self.assertFalse(
            self.as_driver(self.env["lastmile.route"], self.other_driver_user).get_driver_day()["route"]
        )

    def test_driver_logs_in_to_my_route(self):
        action = self.env.ref("lastmile_delivery_pod.lastmile_driver_day_action")
        self.assertEqual(self.driver_user.action_id.id, action.id)
        home = self.env["lastmile.delivery.task"].with_user(self.driver_user)._lastmile_home_action()
        self.assertEqual(home["tag"], "lastmile_driver_day")
        board = self.env["lastmile.delivery.task"].with_user(self.dispatcher_user)._lastmile_home_action()
        self.assertEqual(board["res_model"], "lastmile.delivery.task")

    def test_start_route_moves_everything_on_the_way(self):
        _orders, tasks = self._planned_orders([self.near, self.midi])
        route = self.start(tasks)
        self.assertEqual(route.state, "in_progress")
        self.assertEqual(set(tasks.mapped("state")), {"in_transit"})
        self.assertEqual(tasks.mapped("eta_planned"), tasks.mapped("eta"))
        with self.assertRaises(AccessError):
            self.as_driver(route, self.other_driver_user).action_start_route()

    def test_start_route_refuses_goods_not_in_the_warehouse(self):
        _orders, tasks = self._planned_orders([self.near])
        tasks.picking_id.do_unreserve()
        with self.assertRaisesRegex(UserError, "not ready in the warehouse"):
            self.as_driver(tasks.route_id).action_start_route()
        self.assertEqual(tasks.state, "assigned")

    # ------------------------------------------------------------------ delivered

    def test_deliver_with_photo_and_signature_validates_the_picking(self):
        orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.as_driver(tasks).action_arrive()
        answer = self.as_driver(tasks).action_submit_proof(self.proof())
        self.assertEqual(answer["state"], "delivered")
        proof = tasks.proof_id
        self.assertEqual(
            (proof.kind, proof.driver_id, proof.recipient_name), ("delivered", self.driver, "Carla")
        )
        self.assertEqual(proof.captured_at, datetime(2026, 11, 18, 8, 55), "the time on the phone")
        self.assertEqual(proof.partner_id, self.near)
        self.assertTrue(proof.has_position and proof.signature)
        self.assertEqual(proof.photo_ids.res_model, "lastmile.delivery.task")
        self.assertEqual(proof.photo_ids.res_id, tasks.id)
        self.assertEqual(tasks.driven_sequence, 1)
        self.assertTrue(tasks.date_arrived)
        self.assertIn("Delivered by Ana", tasks.message_ids[0].body)
        # the driver does not wait for the stock: the delivery order is validated right after
        self.assertEqual((tasks.stock_pending, tasks.picking_id.state), ("validate", "assigned"))
        self.run_stock_queue()
        self.assertFalse(tasks.stock_pending)
        self.assertEqual(tasks.picking_id.state, "done")
        self.assertEqual(tasks.picking_id.move_ids.quantity, 2)
        self.assertEqual(orders.delivery_status, "full")
        self.assertEqual(tasks.state, "delivered")

    def test_a_delivery_order_the_warehouse_must_see_to_keeps_the_proof(self):
        """The stock side fails after the report (someone unreserved the goods meanwhile): the
        delivery stays delivered with its proof; the delivery order waits, with a note and an
        activity for the salesperson of the order."""
        orders, tasks = self._planned_orders([self.near])
        orders.user_id = self.salesperson
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof())
        tasks.picking_id.do_unreserve()
        self.run_stock_queue()
        self.assertEqual((tasks.state, tasks.stock_pending), ("delivered", False))
        self.assertEqual(tasks.picking_id.state, "confirmed")
        self.assertTrue(tasks.proof_id)
        self.assertIn("could not be updated after the driver's report", tasks.message_ids[0].body)
        self.assertEqual(tasks.activity_ids.user_id, self.salesperson)

    def test_a_concurrent_stock_update_is_tried_again(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof())
        Task = type(self.env["lastmile.delivery.task"])
        cron = self.env.ref("lastmile_delivery_pod.ir_cron_lastmile_stock")
        busy = psycopg2.errors.SerializationFailure("could not serialize access due to concurrent update")
        with patch.object(Task, "_lastmile_apply_stock", side_effect=busy):
            self.run_stock_queue()
        self.assertEqual((tasks.stock_pending, tasks.picking_id.state), ("validate", "assigned"))
        later = self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)])
        self.assertTrue(later.filtered(lambda t: t.call_at > datetime(2026, 11, 18, 9)), "tried again soon")
        self.run_stock_queue()
        self.assertEqual((tasks.stock_pending, tasks.picking_id.state), (False, "done"))

    def test_more_reports_than_a_batch_run_again_at_once(self):
        _orders, tasks = self._planned_orders([self.near, self.midi])
        self.start(tasks)
        for task in tasks:
            self.as_driver(task).action_submit_proof(self.proof())
        Cron = type(self.env["ir.cron"])
        with patch.object(Cron, "_commit_progress", autospec=True, return_value=60) as progress:
            self.env["lastmile.delivery.task"]._cron_lastmile_stock(batch=1)
        self.assertEqual(progress.call_args.kwargs, {"remaining": 1}, "the scheduler runs the rest at once")
        self.assertEqual(len(tasks.filtered("stock_pending")), 1)

    def test_partial_delivery_creates_the_backorder(self):
        orders, tasks = self._planned_orders([self.near], qty=3)
        self.start(tasks)
        move = tasks.picking_id.move_ids
        self.as_driver(tasks).action_submit_proof(self.proof(quantities={str(move.id): 1}))
        self.assertEqual(tasks.state, "delivered")
        self.assertEqual(tasks.proof_id.delivered_quantities, {str(move.id): 1.0})
        self.run_stock_queue()
        self.assertEqual(move.quantity, 1)
        backorder = tasks.picking_id.backorder_ids
        self.assertEqual(backorder.move_ids.product_uom_qty, 2)
        self.assertEqual(orders.order_line.qty_delivered, 1)
        self.assertEqual(orders.delivery_status, "partial")
        self.assertTrue(backorder.sudo().lastmile_task_ids, "the rest goes out as its own delivery")

    def test_quantities_are_checked(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        move = tasks.picking_id.move_ids
        for bad in ({str(move.id): 5}, {str(move.id): -1}, {"999999": 1}, {str(move.id): "lots"}, [1]):
            with self.assertRaises(ValidationError):
                self.as_driver(tasks).action_submit_proof(self.proof(quantities=bad))
        with self.assertRaisesRegex(ValidationError, "report the stop as failed"):
            self.as_driver(tasks).action_submit_proof(self.proof(quantities={str(move.id): 0}))
        self.assertEqual(tasks.state, "in_transit")
        self.assertFalse(tasks.proof_ids)

    def test_one_proof_covers_a_grouped_stop(self):
        orders, tasks = self._planned_orders([self.near, self.near])
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof(photos=1))
        self.run_stock_queue()
        self.assertEqual(set(tasks.mapped("state")), {"delivered"})
        self.assertEqual(len(tasks.proof_ids), 1)
        self.assertEqual(set(tasks.picking_id.mapped("state")), {"done"})
        self.assertEqual(len(set(tasks.mapped("driven_sequence"))), 1)
        self.assertEqual(sorted(tasks.proof_id.photo_ids.mapped("res_id")), sorted(tasks.ids))

    def test_a_grouped_stop_that_failed_stays_one_stop(self):
        """Failed deliveries lose their stop number; My Route still shows one stop done."""
        _orders, tasks = self._planned_orders([self.near, self.near, self.midi])
        grouped = tasks.filtered(lambda t: t.partner_shipping_id == self.near)
        self.start(tasks)
        self.as_driver(grouped).action_submit_proof(
            self.proof(kind="failed", photos=0, signature=False, failure_reason_id=self.refused.id)
        )
        day = self.as_driver(self.env["lastmile.route"]).get_driver_day()
        done = [stop for stop in day["stops"] if stop["done"]]
        self.assertEqual([sorted(stop["task_ids"]) for stop in done], [sorted(grouped.ids)])
        self.assertEqual((day["route"]["stops_done"], day["route"]["stops_left"]), (1, 1))

    def test_deliveries_of_two_doors_are_not_one_stop(self):
        _orders, tasks = self._planned_orders([self.near, self.midi])
        self.start(tasks)
        with self.assertRaisesRegex(UserError, "not one stop"):
            self.as_driver(tasks).action_submit_proof(self.proof())

    def test_proof_required_by_method_and_customer(self):
        _orders, tasks = self._planned_orders([self.near, self.midi])
        self.start(tasks)
        near, midi = (
            tasks.filtered(lambda t, p=p: t.partner_shipping_id == p) for p in (self.near, self.midi)
        )
        self.carrier.lastmile_proof_required = "signature"
        with self.assertRaisesRegex(ValidationError, "a signature"):
            self.as_driver(near).action_submit_proof(self.proof(signature=False))
        self.midi.lastmile_proof_required = "both"
        with self.assertRaisesRegex(ValidationError, "a photo"):
            self.as_driver(midi).action_submit_proof(self.proof(photos=0))
        self.as_driver(near).action_submit_proof(self.proof(photos=0))
        self.assertEqual(near.state, "delivered")
        self.midi.lastmile_proof_required = "none"
        self.as_driver(midi).action_submit_proof(self.proof(photos=0, signature=False))
        self.assertEqual(midi.state, "delivered")

    def test_bad_pictures_are_refused_and_nothing_is_kept(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.company.lastmile_pod_max_image_mb = 0.1
        too_big = b64(picture("PNG", (600, 600)) + b"\0" * 200_000)
        cases = {
            "damaged or is not a JPEG": [b64(b"%PDF-1.4 fake")],
            "larger than 0.1 MB": [too_big],
            "is not a picture .GIF.": [b64(picture("GIF"))],
            "damaged": [b64(picture("JPEG", (300, 300))[:400])],
        }
        for message, photos in cases.items():
            with self.assertRaisesRegex(ValidationError, message):
                self.as_driver(tasks).action_submit_proof(self.proof(photos=0) | {"photos": photos})
        self.assertEqual(tasks.state, "in_transit")
        self.assertFalse(
            self.env["ir.attachment"].search([("res_model", "=", tasks._name), ("res_id", "=", tasks.id)])
        )

    def test_bad_values_from_the_phone_are_refused(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        bad = [
            {"key": "short"},
            {"kind": "lost"},
            {"latitude": 95.0},
            {"latitude": "north", "longitude": 4.0},
            {"captured_at": "2026-10-01T10:00:00Z"},  # older than a week
            {"captured_at": "2026-11-18T12:00:00Z"},  # hours in the future
            {"recipient_name": "x" * 500},
            {"photos": ["a"] * 6},
        ]
        for values in bad:
            with self.assertRaises(ValidationError, msg=values):
                self.as_driver(tasks).action_submit_proof(self.proof() | values)
        with self.assertRaisesRegex(ValidationError, "^Received By is too long"):
            self.as_driver(tasks).action_submit_proof(self.proof(recipient_name="x" * 500))
        self.assertFalse(tasks.proof_ids)

    # ------------------------------------------------------------------ idempotency

    def test_same_capture_twice_is_one_proof(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        proof = self.proof()
        first = self.as_driver(tasks).action_submit_proof(proof)
        again = self.as_driver(tasks).action_submit_proof(proof)
        self.assertEqual(first["proof_id"], again["proof_id"])
        self.assertTrue(again["duplicate"])
        self.assertEqual(len(tasks.proof_ids), 1)
        self.assertEqual(len(tasks.proof_id.photo_ids), 1)
        # a new capture for a stop already delivered is refused
        with self.assertRaisesRegex(UserError, "already Delivered"):
            self.as_driver(tasks).action_submit_proof(self.proof())

    def test_a_key_of_another_stop_is_refused(self):
        _orders, tasks = self._planned_orders([self.near, self.midi])
        self.start(tasks)
        near, midi = tasks.sorted(lambda t: t.partner_shipping_id != self.near)
        proof = self.proof()
        self.as_driver(near).action_submit_proof(proof)
        with self.assertRaisesRegex(ValidationError, "another stop"):
            self.as_driver(midi).action_submit_proof(proof)

    # ------------------------------------------------------------------ failed

    def test_failed_not_at_home_tries_again_next_delivery_day(self):
        orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        with self.assertRaisesRegex(ValidationError, "needs a photo"):
            self.as_driver(tasks).action_submit_proof(
                self.proof(kind="failed", photos=0, signature=False, failure_reason_id=self.not_home.id)
            )
        answer = self.as_driver(tasks).action_submit_proof(
            self.proof(kind="failed", signature=False, failure_reason_id=self.not_home.id)
        )
        self.assertEqual((tasks.state, tasks.failure_reason_id), ("failed", self.not_home))
        retry = tasks.next_attempt_ids
        self.assertEqual(answer["next_attempt"], retry.name)
        self.assertEqual((retry.attempt, retry.state, retry.picking_id), (2, "new", tasks.picking_id))
        self.assertEqual(str(retry.scheduled_date), "2026-11-19", "Thursday, the next working day")
        self.assertEqual(tasks.picking_id.state, "assigned", "the goods stay reserved for the next attempt")
        self.assertEqual(orders.delivery_status, "pending")
        # the failed attempt keeps its record when the order changes
        orders.picking_ids.write({"scheduled_date": datetime(2026, 11, 20, 9, 0)})
        self.assertEqual(tasks.state, "failed")
        with self.assertRaisesRegex(UserError, "already decided"):
            tasks.with_user(self.dispatcher_user).action_reset()
        # the second attempt delivers: the same picking is validated
        retry.write({"driver_id": self.driver.id})
        with freeze_time("2026-11-20 09:00:00"):
            self.env["lastmile.route"].plan_routes("2026-11-20", time_limit=1)
            self.as_driver(retry.route_id).action_start_route()
            self.as_driver(retry).action_submit_proof(self.proof(captured_at=None))
            self.run_stock_queue()
        self.assertEqual(retry.state, "delivered")
        self.assertEqual(orders.delivery_status, "full")

    def test_failed_refused_returns_the_goods(self):
        orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        stock = self.warehouse.lot_stock_id
        on_hand = self.product.with_context(location=stock.id).qty_available
        self.as_driver(tasks).action_submit_proof(
            self.proof(
                kind="failed",
                photos=0,
                signature=False,
                failure_reason_id=self.refused.id,
                note="Changed mind",
            )
        )
        self.assertEqual((tasks.state, tasks.failure_reason_id), ("failed", self.refused))
        self.assertEqual(tasks.stock_pending, "return")
        self.run_stock_queue()
        self.assertFalse(tasks.next_attempt_ids)
        self.assertEqual(tasks.picking_id.state, "cancel")
        self.assertEqual(
            self.product.with_context(location=stock.id).qty_available, on_hand, "still in stock"
        )
        self.assertEqual(tasks.state, "failed", "cancelling the picking keeps the failure as it was")
        self.assertIn("back in the warehouse", orders.message_ids[0].body)

    def test_a_reason_must_be_given_and_active(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.wrong_address.active = False
        for reason in (None, self.wrong_address.id, "1", 999999):
            with self.assertRaisesRegex(ValidationError, "Choose why"):
                self.as_driver(tasks).action_submit_proof(
                    self.proof(kind="failed", photos=0, failure_reason_id=reason)
                )

    # ------------------------------------------------------------------ reopen

    def test_only_a_manager_reopens_with_a_reason(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof())
        proof = tasks.proof_id
        for user in (self.driver_user, self.dispatcher_user):
            with self.assertRaises(AccessError):
                tasks.with_user(user)._lastmile_reopen("wrong door")
            with self.assertRaises(AccessError):
                tasks.with_user(user).action_open_reopen_wizard()
        wizard = (
            self.env["lastmile.task.reopen"]
            .with_user(self.manager_user)
            .create({"task_id": tasks.id, "reason": "The photo shows the neighbour's door"})
        )
        wizard.action_reopen()
        self.assertEqual(tasks.state, "in_transit")
        self.assertFalse(proof.active)
        self.assertEqual(proof.reopen_reason, "The photo shows the neighbour's door")
        self.assertIn("neighbour", tasks.message_ids[0].body)
        # the driver captures the stop again
        self.as_driver(tasks).action_submit_proof(self.proof())
        self.assertEqual(tasks.state, "delivered")
        self.assertNotEqual(tasks.proof_id, proof)

    def test_a_proof_cannot_be_edited(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof())
        proof = tasks.proof_id
        for user in (self.driver_user, self.dispatcher_user, self.manager_user):
            with self.assertRaises(AccessError):
                proof.with_user(user).write({"recipient_name": "Someone else"})
            with self.assertRaises(AccessError):
                proof.with_user(user).unlink()
        with self.assertRaises(AccessError):
            tasks.with_user(self.dispatcher_user).write({"failure_reason_id": self.refused.id})

    # ------------------------------------------------------------------ isolation

    def test_drivers_see_and_act_only_on_their_own_work(self):
        _orders, tasks = self._planned_orders([self.near])
        route = self.start(tasks)
        other = self.other_driver_user
        self.as_driver(tasks).action_submit_proof(self.proof())
        proof = tasks.proof_id
        self.assertFalse(self.env["lastmile.delivery.proof"].with_user(other).search([]))
        with self.assertRaises(AccessError):
            proof.with_user(other).read(["recipient_name"])
        with self.assertRaises(AccessError):
            self.as_driver(route, other).action_post_position({"latitude": 50.85, "longitude": 4.35})
        with self.assertRaises(AccessError):
            tasks.picking_id.with_user(self.driver_user).button_validate()
        # the driver reads their proof, and its photos
        photos = proof.with_user(self.driver_user).photo_ids
        self.assertEqual(photos.read(["res_id"])[0]["res_id"], tasks.id)

    def test_another_driver_cannot_report_my_stop(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        with self.assertRaises(AccessError):
            self.as_driver(tasks, self.other_driver_user).action_submit_proof(self.proof())
        with self.assertRaises(AccessError):
            self.as_driver(tasks, self.other_driver_user).action_arrive()
        with self.assertRaises(AccessError):
            tasks.with_user(self.dispatcher_user).action_submit_proof(self.proof())
        self.assertEqual(tasks.state, "in_transit")

    # ------------------------------------------------------------------ positions and live ETAs

    def test_positions_move_the_etas(self):
        _orders, tasks = self._planned_orders([self.near, self.far])
        route = self.start(tasks)
        far = tasks.filtered(lambda t: t.partner_shipping_id == self.far)
        planned = far.eta
        with patch.object(type(self.env["ir.cron"]), "_trigger") as trigger:
            answer = self.as_driver(route).action_post_position(
                {"latitude": ATOMIUM[0] - 0.001, "longitude": ATOMIUM[1], "accuracy": 12}
            )
        self.assertTrue(trigger.called)
        self.assertIn(str(far.id), {str(k) for k in answer["etas"]})
        self.assertEqual(len(route.position_ids), 1)
        self.assertAlmostEqual(self.driver.current_latitude, ATOMIUM[0] - 0.001, places=5)
        with patch.object(self.env.cr, "commit"):
            self.env["lastmile.route"]._cron_refresh_etas()
        self.assertTrue(route.eta_refreshed_at)
        near = tasks - far
        self.assertLess(far.eta, planned, "next to Fanny's door, her ETA comes earlier than planned")
        self.assertGreater(near.eta, far.eta, "the route's order is kept: Carla after the long way back")
        for bad in ({"latitude": 91, "longitude": 4}, {"latitude": "x"}, {"latitude": 0, "longitude": 0}, []):
            with self.assertRaises(ValidationError):
                self.as_driver(route).action_post_position(bad)

    def test_my_route_shows_the_break_and_etas_plan_it_once(self):
        """Ana's flexible break, as her plan put it, is on My Route and in the phone's position
        answers; under way, the ETAs refreshed from her phone count what is left of it; once it
        is over, they plan no second break and the route keeps the one she took."""
        self.driver.break_minutes = 30  # somewhere in 11:30-14:00
        _orders, tasks = self._planned_orders([self.near, self.far])
        route = self.start(tasks)
        taken = (datetime(2026, 11, 18, 11, 30), datetime(2026, 11, 18, 12, 0))
        route.write({"break_start": taken[0], "break_end": taken[1]})  # where a plan put it
        fmt = route._time_formatter()
        label = f"{fmt(taken[0])}–{fmt(taken[1])}"
        data = self.as_driver(self.env["lastmile.route"]).get_driver_day()
        self.assertEqual(data["route"]["break_at"], label)
        origin = self.company._lastmile_localize(route.date)
        with freeze_time("2026-11-18 11:45:00"):
            answer, breaks = self._refresh_from_the_phone(route)
            at = seconds_since(origin, datetime(2026, 11, 18, 11, 45))
            self.assertEqual(breaks, [engine.Break(at, at, 15 * 60)], "under way: 15 min left")
            self.assertEqual(answer["break_at"], label)
        with freeze_time("2026-11-18 12:10:00"):
            answer, breaks = self._refresh_from_the_phone(route)
            self.assertEqual(breaks, [], "taken at 11:30: no second break in the ETAs")
            self.assertEqual((route.break_start, route.break_end), taken)
            self.assertEqual(answer["break_at"], "", "over: no longer on My Route")
            data = self.as_driver(self.env["lastmile.route"]).get_driver_day()
            self.assertEqual(data["route"]["break_at"], "")

    def _refresh_from_the_phone(self, route):
        """(the answer to a position the driver's phone sends, the breaks the ETA refresh that
        follows plans)."""
        with patch.object(type(self.env["ir.cron"]), "_trigger"):
            answer = self.as_driver(route).action_post_position(
                {"latitude": ATOMIUM[0] - 0.001, "longitude": ATOMIUM[1], "accuracy": 12}
            )
        with (
            patch.object(self.env.cr, "commit"),
            patch.object(engine, "schedule", wraps=engine.schedule) as schedule,
        ):
            self.env["lastmile.route"]._cron_refresh_etas()
        return answer, schedule.call_args.args[1].breaks

    def test_the_driver_starts_her_break_when_the_round_allows(self):
        """Ana starts her break from My Route before the time her plan gave it: it replaces the
        planned one, the ETAs refreshed after it and every plan keep it where she took it, and
        she takes it once. Only she (or a dispatcher) does, on her route under way."""
        self.driver.break_minutes = 30  # somewhere in 11:30-14:00
        _orders, tasks = self._planned_orders([self.near, self.far])
        route = self.start(tasks)
        route.write(
            {"break_start": datetime(2026, 11, 18, 13, 0), "break_end": datetime(2026, 11, 18, 13, 30)}
        )
        fmt = route._time_formatter()
        origin = self.company._lastmile_localize(route.date)
        Route = self.env["lastmile.route"]
        with self.assertRaisesRegex(AccessError, "This is not your route"):
            self.as_driver(route, self.other_driver_user).action_take_break()
        with freeze_time("2026-11-18 12:05:00"):
            day = self.as_driver(Route).get_driver_day()["route"]
            self.assertEqual(
                (day["can_take_break"], day["on_break"], day["break_minutes"]), (True, False, 30)
            )
            with patch.object(type(self.env["ir.cron"]), "_trigger") as trigger:
                self.as_driver(route).action_take_break()
            self.assertTrue(trigger.called, "the ETAs are refreshed after it, in the background")
            taken = (datetime(2026, 11, 18, 12, 5), datetime(2026, 11, 18, 12, 35))
            self.assertEqual((route.break_start, route.break_end, route.break_reported), (*taken, True))
            self.assertIn(
                f"Break {fmt(taken[0])}–{fmt(taken[1])} reported by {self.driver_user.name}, instead of "
                f"{fmt(datetime(2026, 11, 18, 13, 0))}–{fmt(datetime(2026, 11, 18, 13, 30))} as planned",
                route.message_ids[0].body,
            )
            day = self.as_driver(Route).get_driver_day()["route"]
            self.assertEqual(
                (day["can_take_break"], day["on_break"], day["break_until"]), (False, True, fmt(taken[1]))
            )
            with self.assertRaisesRegex(UserError, "already recorded"):
                self.as_driver(route).action_take_break()
            self.assertEqual(
                self.driver._get_breaks(route.date)[self.driver.id],
                [(taken[0], taken[0], taken[1] - taken[0])],
            )
        with freeze_time("2026-11-18 12:20:00"):
            answer, breaks = self._refresh_from_the_phone(route)
            at = seconds_since(origin, datetime(2026, 11, 18, 12, 20))
            self.assertEqual(breaks, [engine.Break(at, at, 15 * 60)], "15 min left of the break she took")
            self.assertEqual((route.break_start, route.break_end), taken, "kept where she took it")
            self.assertTrue(answer["on_break"])
            with patch.object(type(self.env["ir.cron"]), "_trigger"):
                Route.plan_routes(route.date, time_limit=1)
            self.assertEqual((route.break_start, route.break_end), taken, "planning again keeps it too")
        with freeze_time("2026-11-18 12:40:00"):
            answer, breaks = self._refresh_from_the_phone(route)
            self.assertEqual(breaks, [], "taken: no second break in the ETAs")
            self.assertEqual(
                (answer["on_break"], answer["break_at"], answer["can_take_break"]), (False, "", False)
            )

    def test_a_break_starts_in_its_time_on_the_route_of_the_day_under_way(self):
        """When the planner could put it, in the driver's time zone (Ana works on Dubai time,
        UTC+4, the shop's is UTC: her 30 min in 11:30-14:00 start between 07:30 and 09:30 UTC),
        on today's route once she has left, and not once the planned break has begun (it
        counts as taken then): each refusal says why, and My Route offers no button."""
        self.driver.write({"break_minutes": 30, "tz": "Asia/Dubai"})
        _orders, tasks = self._planned_orders([self.near, self.far])
        route = tasks.route_id
        Route = self.env["lastmile.route"]

        def refused(message, on_the_phone=True):
            with self.assertRaisesRegex(UserError, message):
                self.as_driver(route).action_take_break()
            if on_the_phone:
                self.assertFalse(self.as_driver(Route).get_driver_day()["route"]["can_take_break"])

        with freeze_time("2026-11-18 08:00:00"):
            refused("Start your route first")
            tasks[0]._set_state("in_transit")  # validated in the warehouse: in progress, not left
            self.assertEqual(route.state, "in_progress")
            refused("Start your route first")
        self.start(tasks)  # at 09:00
        with freeze_time("2026-11-18 07:25:00"):
            refused(re.escape("between 07:30 and 09:30, not now"))
        with freeze_time("2026-11-18 09:35:00"):
            refused(re.escape("between 07:30 and 09:30, not now"))
        route.write(
            {"break_start": datetime(2026, 11, 18, 9, 10), "break_end": datetime(2026, 11, 18, 9, 40)}
        )
        with freeze_time("2026-11-18 09:20:00"):
            refused(re.escape("Your break as planned (09:10–09:40) has begun: it counts as taken"))
        with freeze_time("2026-11-18 09:09:00"):
            self.assertTrue(self.as_driver(Route).get_driver_day()["route"]["can_take_break"])
        with freeze_time("2026-11-19 09:00:00"):
            refused("is not today's route", on_the_phone=False)
        self.driver.break_minutes = 0  # the pauses of the working hours only
        with freeze_time("2026-11-18 09:00:00"):
            refused(f"No break is set for {self.driver.name}")
        self.assertFalse(route.break_reported)

    def test_no_break_on_a_route_done(self):
        self.driver.write({"break_minutes": 30, "break_from": 0.0, "break_until": 24.0})
        _orders, tasks = self._planned_orders([self.near])
        route = self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof())
        self.assertEqual(route.state, "done")
        with self.assertRaisesRegex(UserError, "is done: there is no break left"):
            self.as_driver(route).action_take_break()
        self.assertFalse(route.can_take_break)

    def test_a_dispatcher_reports_the_break_a_driver_phones_in(self):
        self.driver.break_minutes = 30
        _orders, tasks = self._planned_orders([self.near])
        route = self.start(tasks)
        with freeze_time("2026-11-18 12:00:00"), patch.object(type(self.env["ir.cron"]), "_trigger"):
            self.assertTrue(route.with_user(self.dispatcher_user).can_take_break, "Break Now on the form")
            route.with_user(self.dispatcher_user).action_take_break()
        self.assertEqual((route.break_start, route.break_reported), (datetime(2026, 11, 18, 12, 0), True))
        self.assertIn(self.dispatcher_user.name, route.message_ids[0].body)

    # ------------------------------------------------------------------ proof of delivery PDF

    def test_proof_pdf_from_task_order_and_picking(self):
        orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof(recipient_name="Carla's neighbour"))
        Report = self.env["ir.actions.report"]
        for xmlid, record in (
            ("lastmile_delivery_pod.action_report_proof_task", tasks),
            ("lastmile_delivery_pod.action_report_proof_order", orders),
            ("lastmile_delivery_pod.action_report_proof_picking", tasks.picking_id),
        ):
            html = Report._render_qweb_html(xmlid, record.ids)[0].decode()
            self.assertIn("Carla&#39;s neighbour", html, xmlid)
            self.assertIn("Ana", html)
            self.assertIn("50.850300, 4.351700", html)
            self.assertIn(self.product.name, html)
            self.assertEqual(html.count("lastmile_proof_photo"), 1)
            self.assertEqual(html.count("lastmile_proof_signature"), 1)
        # a salesperson prints it from the order they sell
        orders.user_id = self.salesperson
        action = orders.with_user(self.salesperson).action_lastmile_print_proof()
        self.assertEqual(action["report_name"], "lastmile_delivery_pod.report_proof_of_delivery_order")
        self.assertEqual(orders.with_user(self.salesperson).lastmile_proof_count, 1)
        pdf, kind = (
            Report.with_user(self.salesperson)
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("lastmile_delivery_pod.action_report_proof_order", orders.ids)
        )
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))

    def test_proof_pdf_only_for_who_reads_the_document(self):
        """The report's route opens any id: the proof comes only with read access to the
        document (another driver, a customer, a salesperson of their own orders only)."""
        orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof())
        own_orders_seller = new_test_user(
            self.env, "lm_own_seller", groups="sales_team.group_sale_salesman,stock.group_stock_user"
        )
        orders.user_id = self.salesperson
        portal = new_test_user(self.env, "lm_portal_other", groups="base.group_portal")
        Report = self.env["ir.actions.report"]
        for user in (self.other_driver_user, portal, own_orders_seller):
            for xmlid, record in (
                ("lastmile_delivery_pod.action_report_proof_order", orders),
                ("lastmile_delivery_pod.action_report_proof_picking", tasks.picking_id),
                ("lastmile_delivery_pod.action_report_proof_task", tasks),
                ("lastmile_delivery_pod.action_report_proof", tasks.proof_id),
            ):
                if user == own_orders_seller and xmlid.endswith("_picking"):
                    continue  # stock users read every transfer, and so its proof
                with self.subTest(user=user.login, report=xmlid), self.assertRaises(AccessError):
                    Report.with_user(user)._render_qweb_html(xmlid, record.ids)

    def test_proof_photos_cannot_be_replaced_or_deleted(self):
        """A dispatcher may write on the delivery, so on its attachments: not on those that are
        a proof's photos."""
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof())
        photo = tasks.proof_id.photo_ids.with_user(self.dispatcher_user)
        original = photo.checksum
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            photo.write({"raw": picture(color=(0, 0, 255))})
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            photo.write({"res_id": self._create_task().id})
        with self.assertRaisesRegex(UserError, "cannot be deleted"):
            photo.unlink()
        photo.write({"name": "front door.jpg"})  # its name is not the proof
        self.assertEqual(photo.checksum, original)
        # other attachments of the delivery are the dispatcher's as before
        other = self.env["ir.attachment"].create(
            {"name": "note.txt", "raw": b"x", "res_model": tasks._name, "res_id": tasks.id}
        )
        other.with_user(self.dispatcher_user).unlink()

    def test_context_keys_sent_by_the_phone_change_nothing(self):
        """What an RPC caller puts in the context reaches neither the proof nor the stock."""
        orders, tasks = self._planned_orders([self.near], qty=3)
        self.start(tasks)
        move = tasks.picking_id.move_ids
        self.as_driver(tasks).with_context(
            default_active=False,
            default_received_at="2020-01-01 00:00:00",
            default_public=True,
            tracking_disable=True,
            picking_ids_not_to_backorder=tasks.picking_id.ids,
            skip_sanity_check=True,
        ).action_submit_proof(self.proof(quantities={str(move.id): 1}))
        proof = tasks.proof_id
        self.assertTrue(proof.active)
        self.assertEqual(proof.received_at, datetime(2026, 11, 18, 9, 0))
        self.assertFalse(proof.photo_ids.public)
        self.run_stock_queue()
        backorder = tasks.picking_id.backorder_ids
        self.assertEqual(backorder.move_ids.product_uom_qty, 2, "the rest still goes out")
        self.assertEqual(orders.order_line.qty_delivered, 1)

    def test_drivers_report_failures_from_my_route_only(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        with self.assertRaisesRegex(UserError, "from My Route"):
            self.as_driver(tasks).action_fail()
        self.assertEqual(tasks.state, "in_transit")

    def test_reopening_one_order_of_a_stop_reopens_the_stop(self):
        """One proof covered two orders to the door: reopening one reopens both (the other
        would stay delivered without a proof, and the driver could not report the stop)."""
        _orders, tasks = self._planned_orders([self.near, self.near])
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(self.proof())
        self.assertEqual(tasks.mapped("date_delivered"), [datetime(2026, 11, 18, 8, 55)] * 2, "when captured")
        tasks[0].with_user(self.manager_user)._lastmile_reopen("Signed by the wrong person")
        self.assertEqual(set(tasks.mapped("state")), {"in_transit"})
        self.assertFalse(tasks.proof_id)
        self.assertIn("same stop", tasks[0].message_ids[0].body)
        self.as_driver(tasks).action_submit_proof(self.proof())
        self.assertEqual(set(tasks.mapped("state")), {"delivered"})

    def test_a_failure_reason_in_use_is_archived_not_deleted(self):
        _orders, tasks = self._planned_orders([self.near])
        self.start(tasks)
        self.as_driver(tasks).action_submit_proof(
            self.proof(kind="failed", photos=0, signature=False, failure_reason_id=self.refused.id)
        )
        with self.assertRaises(psycopg2.errors.ForeignKeyViolation), mute_logger("odoo.sql_db"):
            self.refused.unlink()
            self.env.flush_all()
        self.assertEqual(tasks.failure_reason_id, self.refused)
