from datetime import datetime, timedelta
from unittest.mock import patch

import psycopg2
import requests
from freezegun import freeze_time

import odoo
from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..models.lastmile_route import seconds_since
from ..services import matrix as matrix_service
from ..services import routing as engine
from ..services.geo import haversine_km
from .common import ATOMIUM, MIDI, NEAR, NOW, WAREHOUSE, LastmileCase, osrm_table

DAY = "2026-11-18"


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestRoutePlanning(LastmileCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        matrix_service.CACHE.clear()
        cls.company.lastmile_plan_time_limit = 1  # plans at once (longer ones: see the background tests)
        cls.points = [NEAR, MIDI, ATOMIUM, (50.8300, 4.3700), (50.8600, 4.3900), (50.8200, 4.3400)]
        cls.customers = [cls._create_customer(f"Stop {i}", p) for i, p in enumerate(cls.points)]

    def _tasks(self, count=6, **values):
        return self.env["lastmile.delivery.task"].browse(
            [
                self._create_task(partner=self.customers[i % len(self.customers)], **values).id
                for i in range(count)
            ]
        )

    def plan(self, **kw):
        return self.env["lastmile.route"].plan_routes(DAY, time_limit=kw.pop("time_limit", 1), **kw)

    def test_plan_assigns_sequences_and_records_baseline(self):
        tasks = self._tasks()
        summary = self.plan()
        self.assertEqual(summary["planned"], 6)
        self.assertFalse(summary["unserved"])
        self.assertTrue(all(t.route_id and t.driver_id and t.state == "assigned" for t in tasks))
        routes = tasks.route_id
        for route in routes:
            stops = route.task_ids.sorted("sequence")
            self.assertEqual(stops.mapped("sequence"), list(range(1, len(stops) + 1)))
            self.assertEqual(route.driver_id, stops.driver_id)
            self.assertEqual(route.state, "planned")
            self.assertGreater(route.planned_distance_km, 0)
            self.assertGreaterEqual(route.baseline_duration_min + 0.5, route.planned_duration_min)
            etas = stops.mapped("eta")
            self.assertEqual(etas, sorted(etas), "ETAs follow the stop order")
            for stop in stops:
                self.assertTrue(stop.window_start <= stop.eta <= stop.window_end)
            self.assertIn("Planned:", route.message_ids[0].body)

    def test_unplannable_tasks_carry_a_reason(self):
        planned = self._tasks(2)
        evening = self._create_task(start=datetime(2026, 11, 18, 19, 0), end=datetime(2026, 11, 18, 20, 0))
        heavy = self._create_task(weight=5000)
        nowhere = self._create_task(partner=self._create_customer("Nowhere"))
        self.plan()
        self.assertTrue(all(planned.mapped("route_id")))
        self.assertIn("No driver on shift", evening.dispatch_issue)
        self.assertIn("No capacity", heavy.dispatch_issue)
        self.assertIn("Address to check", nowhere.dispatch_issue)
        self.assertFalse(evening.route_id | heavy.route_id | nowhere.route_id)

    def test_no_driver_on_duty(self):
        """Nobody can drive: the plan says so and changes nothing (a delivery keeps its driver)."""
        tasks = self._tasks(2)
        tasks[0].driver_id = self.driver
        (self.driver | self.other_driver).on_duty = False
        summary = self.plan()
        self.assertEqual(summary["routes"], 0)
        self.assertIn("no driver can drive on 2026-11-18", summary["error"])
        self.assertEqual(
            (tasks[0].driver_id, tasks[0].state, tasks[1].state), (self.driver, "assigned", "new")
        )

    def test_optimize_after_the_shift_keeps_the_route(self):
        tasks = self._tasks(3, driver_id=self.driver.id)
        self.plan()
        route = tasks.route_id
        with freeze_time("2026-11-18 18:00:00"):  # Ana's shift ended at 17:00
            result = route.with_user(self.dispatcher_user).action_optimize()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertTrue(route.exists())
        self.assertEqual(route.task_ids, tasks)
        self.assertEqual(sorted(tasks.mapped("sequence")), [1, 2, 3])

    def test_time_limits_are_bounded(self):
        with self.assertRaisesRegex(ValidationError, "from 1 to 90 seconds"):
            self.company.lastmile_plan_time_limit = 600
        self._tasks(1)
        failed = engine.Solution(engine="ortools", error="not searched: only the time limit matters here")
        with patch.object(engine, "solve", return_value=failed) as solve:
            self.env["lastmile.route"].plan_routes(DAY, time_limit=3600)
        self.assertEqual(solve.call_args.args[0].time_limit, 90)

    def test_driver_chosen_by_hand_is_kept(self):
        tasks = self._tasks(4)
        tasks[0].write({"driver_id": self.other_driver.id})
        self.assertTrue(tasks[0].driver_pinned)
        self.plan()
        self.assertEqual(tasks[0].driver_id, self.other_driver)
        self.assertEqual(tasks[0].route_id.driver_id, self.other_driver)

    def test_optimize_one_route(self):
        tasks = self._tasks(5, driver_id=self.driver.id)
        self.plan()
        route = tasks.route_id
        self.assertEqual(len(route), 1)
        # scramble the order, then optimize: same driver, same stops, not slower
        for i, task in enumerate(route.task_ids.sorted("sequence").ids[::-1], 1):
            self.env["lastmile.delivery.task"].browse(task).sequence = i
        before = route.planned_duration_min
        route.action_optimize()
        self.assertEqual(route.task_ids, tasks)
        self.assertEqual(tasks.driver_id, self.driver)
        self.assertLessEqual(route.planned_duration_min, before + 0.5)

    def test_replan_mid_day_keeps_started_routes(self):
        tasks = self._tasks(6)
        self.plan()
        route = tasks.route_id.filtered(lambda r: r.stop_count >= 2)[:1] or tasks.route_id[:1]
        driver = route.driver_id
        first, second = route.task_ids.sorted("sequence")[:2]
        with freeze_time("2026-11-18 10:00:00"):
            first.action_start()
            first.action_deliver()
            second.action_start()
            self.assertEqual(route.state, "in_progress")
            late_order = self._create_task(
                partner=self.customers[0],
                start=datetime(2026, 11, 18, 10, 0),
                end=datetime(2026, 11, 18, 16, 0),
            )
            own_before = route.task_ids.filtered(lambda t: t.state in ("assigned", "in_transit"))
            self.env["lastmile.route"].action_replan(DAY)
            self.assertEqual(second.route_id, route)
            self.assertEqual(
                second.sequence, 2, "the stop under way comes first, after the one delivered (#1)"
            )
            self.assertTrue(second.eta >= datetime(2026, 11, 18, 10, 0))
            self.assertTrue(late_order.route_id, "the new order is inserted")
            self.assertEqual(own_before.driver_id, driver, "a started route keeps its stops")
            self.assertEqual(first.state, "delivered")

    def test_access(self):
        tasks = self._tasks(4)
        self.plan()
        with self.assertRaises(AccessError):
            self.env["lastmile.route"].with_user(self.driver_user).plan_routes(DAY)
        own = self.env["lastmile.route"].with_user(self.driver_user).search([])
        self.assertEqual(own.driver_id, self.driver if self.driver in tasks.driver_id else own.driver_id)
        for route in own:
            self.assertEqual(route.driver_id.user_id, self.driver_user)
        summary = self.env["lastmile.route"].with_user(self.dispatcher_user).plan_routes(DAY, time_limit=1)
        self.assertEqual(summary["planned"], 4)

    def test_two_planners_on_the_same_day(self):
        self._tasks(2)
        waiting = self._create_task()
        with self.env.registry.cursor() as other:  # a separate transaction holds the day
            other_env = odoo.api.Environment(other, odoo.SUPERUSER_ID, {})
            self.assertTrue(other_env["res.company"].browse(self.company.id)._lastmile_lock_day(DAY))
            with self.assertRaisesRegex(UserError, "Someone else is dispatching or planning"):
                self.plan()
            with self.assertRaisesRegex(UserError, "Someone else is dispatching or planning"):
                waiting.action_dispatch()
            other.rollback()
        self.assertEqual(self.plan()["planned"], 3, "once the other transaction is over")

    def test_osrm_down_falls_back_with_a_warning(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("lastmile.matrix_provider", "osrm")
        params.set_param("lastmile.osrm_url", "http://osrm.example:5000")
        params.set_param("lastmile.osrm_timeout", "2")
        tasks = self._tasks(3)
        with patch.object(requests, "get", side_effect=requests.Timeout()) as get:
            summary = self.plan()
        self.assertTrue(get.called)
        self.assertIn("OSRM did not answer within 2 s", summary["warning"])
        self.assertIn("Straight-line estimates used", tasks.route_id[:1].plan_warning)
        self.assertEqual(summary["planned"], 3)

    def test_route_sheet_and_map_data(self):
        tasks = self._tasks(3)
        self.plan()
        route = tasks.route_id[:1]
        data = route.get_route_map_data()
        self.assertEqual([s["sequence"] for s in data["stops"]], sorted(s["sequence"] for s in data["stops"]))
        self.assertEqual(data["start"], [WAREHOUSE[0], WAREHOUSE[1]])
        html = self.env["ir.actions.report"]._render_qweb_html(
            "lastmile_delivery.report_route_sheet", route.ids
        )[0]
        self.assertIn(route.driver_id.name, html.decode())
        self.assertIn(route.task_ids[:1].partner_shipping_id.name, html.decode())

    def test_dispatch_inserts_into_a_planned_route(self):
        tasks = self._tasks(4, driver_id=self.driver.id)
        self.plan()
        route = tasks.route_id
        self.assertEqual(len(route), 1)
        (self.other_driver).on_duty = False  # only Ana can take the new order
        new = self._create_task(partner=self.customers[4])
        new.action_dispatch()
        self.assertEqual(new.driver_id, self.driver)
        self.assertEqual(new.route_id, route, "the new task joins the planned route")
        stops = route.task_ids.sorted("sequence")
        self.assertEqual(stops.mapped("sequence"), list(range(1, 6)))
        self.assertEqual(stops.mapped("eta"), sorted(stops.mapped("eta")))
        # a second order for a door already on the route joins that stop
        again = self._create_task(partner=self.customers[1])
        again.action_dispatch()
        (same_door,) = tasks.filtered(lambda t: t.partner_shipping_id == self.customers[1])
        self.assertEqual(
            (again.route_id, again.sequence, again.eta), (route, same_door.sequence, same_door.eta)
        )
        self.assertEqual(sorted(set(route.task_ids.mapped("sequence"))), list(range(1, 6)))

    def test_orders_to_one_door_are_one_stop(self):
        """Three orders for one address: one stop number, one ETA, one service time."""
        one_door = self._tasks(1, driver_id=self.driver.id) | self.env["lastmile.delivery.task"].browse(
            [self._create_task(partner=self.customers[0], driver_id=self.driver.id).id for _i in range(2)]
        )
        other = self._create_task(partner=self.customers[2], driver_id=self.driver.id)
        self.plan()
        self.assertEqual(len(set(one_door.mapped("sequence"))), 1)
        self.assertEqual(len(set(one_door.mapped("eta"))), 1)
        self.assertEqual(sorted({one_door[0].sequence, other.sequence}), [1, 2])
        route = other.route_id
        self.assertEqual(route, one_door.route_id)
        # the route's time holds one service time per stop: 2 stops × 5 min, not 4 × 5
        driving = self.env.company._lastmile_travel_matrix(
            [WAREHOUSE, self.points[0], self.points[2]]
        ).durations
        a, b = (1, 2) if one_door[0].sequence == 1 else (2, 1)
        legs = driving[0][a] + driving[a][b] + driving[b][0]
        self.assertAlmostEqual(route.planned_duration_min, legs / 60 + 10, delta=1)
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("lastmile_delivery.report_route_sheet", route.ids)[0]
            .decode()
        )
        self.assertEqual(html.count("lastmile_stop_row"), 2, "the route sheet has one row per stop")

    def test_long_planning_runs_in_the_background(self):
        tasks = self._tasks(3)
        self.company.lastmile_plan_time_limit = 4
        Planning = self.env["lastmile.route.planning"].with_user(self.dispatcher_user)
        result = Planning.action_plan(DAY)
        self.assertIn("in the background", result["params"]["message"])
        run = Planning.search([], limit=1)
        self.assertEqual(run.state, "queued")
        self.assertFalse(tasks.route_id, "nothing planned while the browser waits")
        # the scheduled action has no language: the summary is in the dispatcher's
        french = self.in_french({"%(planned)s stop(s) planned.": "%(planned)s arrêt(s) planifié(s)."})
        self.dispatcher_user.lang = "fr_FR"
        with (
            patch.object(self.env.cr, "commit"),
            patch.object(type(self.env["res.users"]), "_bus_send") as bus,
            french,
        ):
            self.env["lastmile.route.planning"]._cron_run()
        self.assertEqual(run.state, "done")
        self.assertIn("3 arrêt(s) planifié(s)", run.summary)
        self.assertTrue(all(tasks.mapped("route_id")))
        self.assertEqual(bus.call_args.args[0], "simple_notification")
        # a quick setting plans at once
        self.company.lastmile_plan_time_limit = 1
        result = Planning.action_plan(DAY)
        self.assertIn("stop(s) planned", result["params"]["message"])

    def test_map_data_skips_locations_without_coordinates(self):
        self.driver.end_partner_id = self._create_customer("Nowhere home")
        tasks = self._tasks(2, driver_id=self.driver.id)
        self.plan()
        data = tasks.route_id.get_route_map_data()
        self.assertIsNone(data["end"])
        self.assertTrue(data["start"])

    def test_baseline_is_the_order_of_entry(self):
        """The baseline drives the stops in the order they were entered: measured here by hand
        (straight line × road factor, there and back) and with its late stops counted."""
        self.other_driver.on_duty = False
        second_atomium = (50.8900, 4.3400)
        far = self._create_task(partner=self.customers[2])  # Atomium, entered first
        near = self._create_task(
            partner=self.customers[0], start=datetime(2026, 11, 18, 9), end=datetime(2026, 11, 18, 9, 10)
        )
        far2 = self._create_task(partner=self._create_customer("Atomium 2", second_atomium))
        self.plan()
        route = far.route_id
        self.assertEqual(route, near.route_id | far2.route_id)
        legs = [WAREHOUSE, ATOMIUM, NEAR, second_atomium, WAREHOUSE]
        expected_km = sum(haversine_km(*a, *b) for a, b in zip(legs, legs[1:], strict=False)) * 1.3
        self.assertAlmostEqual(route.baseline_distance_km, expected_km, delta=0.01)
        self.assertEqual(route.baseline_late_count, 1, "entered second, the 9:00-9:10 stop comes too late")
        self.assertEqual(near.sequence, 1, "the plan serves it first, on time")
        self.assertFalse((far | near | far2).filtered("late_minutes"))
        self.assertGreater(route.saving_km, 1.0)
        # the way back from the last stop, which the reports leave out of the drive compared
        last = (far | near | far2).sorted("sequence")[-1]
        way_back = haversine_km(last.latitude, last.longitude, *WAREHOUSE) * 1.3
        self.assertAlmostEqual(route.planned_return_km, way_back, delta=0.05)  # kept to 0.1 km

    def test_costs_plan_as_many_stops_as_no_costs(self):
        """A shop's plan has a delivery chosen by hand: with costs per hour and per km on every
        driver, it serves as many stops as without."""
        tasks = self._tasks()
        tasks[0].driver_id = self.driver  # chosen by hand
        without = self.plan()
        self.assertEqual(without["engine"], "pyvrp")
        (self.driver | self.other_driver).write({"cost_per_hour": 25, "cost_per_km": 0.5})
        with_costs = self.plan()
        self.assertEqual(without["planned"], 6)
        self.assertEqual(with_costs["planned"], without["planned"])
        self.assertFalse(with_costs["unserved"])

    def test_driver_without_costs_is_an_average_driver(self):
        self.driver.write({"cost_per_hour": 30, "cost_per_km": 0.4})
        third = self._create_driver("Chloé", on_duty=True, cost_per_hour=20, cost_per_km=0.2)
        costs = (self.driver | self.other_driver | third)._prepare_routing_costs()
        self.assertEqual(costs[self.driver.id], (30_000, 1_440))
        self.assertEqual(
            costs[self.other_driver.id], (25_000, 1_080), "the fleet's average, not 1000× cheaper"
        )
        self.assertEqual(
            (self.driver | self.other_driver).write({"cost_per_hour": 0, "cost_per_km": 0})
            and self.driver._prepare_routing_costs(),
            {self.driver.id: (1, 0)},
        )

    def _started_round(self):
        """Ana's three deliveries of the morning (9:00-10:30), planned; at 10:00 the first is done
        and she is on the way to the second."""
        self.other_driver.on_duty = False
        tasks = self._tasks(3, driver_id=self.driver.id, end=datetime(2026, 11, 18, 10, 30))
        self.plan()
        first, second, third = tasks.sorted("sequence")
        with freeze_time("2026-11-18 10:00:00"):
            first.action_start()
            first.action_deliver()
            second.action_start()
        return first, second, third

    def test_late_started_van_keeps_its_loaded_stops(self):
        """Running late at 11:50, Ana keeps every delivery on her van: served late, with the
        lateness on the ETAs and in the dispatcher's notification, nothing unassigned."""
        _first, second, third = self._started_round()
        route = second.route_id
        with freeze_time("2026-11-18 11:50:00"):
            new = self._create_task(partner=self.customers[4], end=datetime(2026, 11, 18, 16))
            result = self.env["lastmile.route"].with_user(self.dispatcher_user).action_replan(DAY)
        self.assertEqual((second.driver_id, third.driver_id), (self.driver, self.driver))
        self.assertEqual((second.route_id, third.route_id), (route, route))
        self.assertEqual(
            (second.sequence, third.sequence), (2, 3), "under way first, after the one delivered (#1)"
        )
        self.assertFalse(third.dispatch_issue)
        self.assertGreaterEqual(second.eta, datetime(2026, 11, 18, 11, 50))
        self.assertGreater(third.late_minutes, 80)
        self.assertIn("will be late", result["params"]["message"])
        self.assertIn(third.display_name, result["params"]["message"])
        self.assertIn("Running late", route.message_ids[0].body)
        self.assertEqual(new.route_id, route, "new work still fits after the loaded stops")

    def test_planning_starts_no_earlier_than_now(self):
        tasks = self._tasks(4, end=datetime(2026, 11, 18, 17))
        with freeze_time("2026-11-18 10:00:00"):
            self.plan()
        self.assertTrue(all(tasks.mapped("route_id")))
        self.assertGreaterEqual(min(tasks.mapped("eta")), datetime(2026, 11, 18, 10))
        self.assertGreaterEqual(min(tasks.route_id.mapped("start_time")), datetime(2026, 11, 18, 10))

    def test_a_failed_solve_keeps_the_previous_plan(self):
        """The search finds no plan: the previous one stays as it was, and the dispatcher is
        told why."""
        _first, second, third = self._started_round()
        before = [(t.driver_id, t.route_id, t.sequence, t.eta) for t in (second, third)]
        failed = engine.Solution(engine="ortools", error="no plan keeps every rule: (a test)")
        with (
            freeze_time("2026-11-18 10:05:00"),
            patch.object(engine, "_solve_ortools", return_value=failed),
            patch.object(engine, "_solve_pyvrp", return_value=failed),
        ):
            result = self.env["lastmile.route"].with_user(self.dispatcher_user).action_replan(DAY)
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("no plan keeps every rule", result["params"]["message"])
        self.assertIn("previous plan is kept", result["params"]["message"])
        self.assertEqual([(t.driver_id, t.route_id, t.sequence, t.eta) for t in (second, third)], before)
        self.assertEqual((second.state, third.state), ("in_transit", "assigned"))

    def test_a_failed_solve_is_told_in_the_dispatchers_language(self):
        """The engine's texts are English templates that the models translate: a French
        dispatcher reads why there is no plan in French, with the engine's values in place."""
        self._started_round()
        crashed = engine.Solution(
            engine="pyvrp", error=engine.CRASHED, error_params={"engine": "PyVRP", "reason": "exit status 9"}
        )
        french = {
            engine.CRASHED: "la recherche %(engine)s s'est arrêtée sur une erreur (%(reason)s)",
            "No plan was found (%(error)s): the previous plan is kept.": (
                "Aucun plan trouvé (%(error)s) : le plan précédent est gardé."
            ),
        }
        with (
            freeze_time("2026-11-18 10:05:00"),
            patch.object(engine, "_solve_ortools", return_value=crashed),
            patch.object(engine, "_solve_pyvrp", return_value=crashed),
            self.in_french(french),
        ):
            result = (
                self.env["lastmile.route"]
                .with_user(self.dispatcher_user)
                .with_context(lang="fr_FR")
                .action_replan(DAY)
            )
        self.assertIn(
            "Aucun plan trouvé (la recherche PyVRP s'est arrêtée sur une erreur (exit status 9)) : "
            "le plan précédent est gardé.",
            result["params"]["message"],
        )

    def test_stop_count_follows_the_stops(self):
        tasks = self._tasks(3, driver_id=self.driver.id)
        self.plan()
        route = tasks.route_id
        self.assertEqual(route.stop_count, 3)
        tasks[0].action_cancel()
        self.assertEqual(route.stop_count, 2)
        self.assertEqual(route.search([("stop_count", "=", 2), ("id", "=", route.id)]), route)

    def test_an_overfull_started_van_does_not_block_the_plan(self):
        """Ana carries more deliveries than her maximum (a dispatcher added one by hand): they
        are on her van, so she keeps them all, and the day is planned."""
        _first, second, third = self._started_round()
        self.driver.max_stops = 1
        with freeze_time("2026-11-18 10:05:00"):
            summary = (
                self.env["lastmile.route"].with_user(self.dispatcher_user).plan_routes(DAY, time_limit=1)
            )
        self.assertFalse(summary.get("error"))
        self.assertEqual((second.driver_id, third.driver_id), (self.driver, self.driver))
        self.assertEqual(summary["planned"], 2)

    def test_optimize_never_unassigns_the_routes_stops(self):
        """Optimize keeps the same driver and stops: a stop it cannot place stays with its
        driver, with the reason, rather than going back to dispatch."""
        tasks = self._tasks(3, driver_id=self.driver.id)
        tasks.driver_pinned = False
        self.plan()
        route = tasks.route_id
        left_out = tasks.sorted("sequence")[-1]

        def without_the_last(sub):
            vehicle = sub.vehicles[0]
            kept = [s.id for s in sub.stops if s.id != left_out.id]
            return engine.Solution(engine="ortools", routes=[engine.schedule(sub, vehicle, kept)])

        with (
            patch.object(engine, "_repair"),
            patch.object(engine, "_solve_ortools", without_the_last),
            patch.object(engine, "_solve_pyvrp", without_the_last),
        ):
            route.with_user(self.dispatcher_user).action_optimize()
        self.assertEqual(left_out.driver_id, self.driver)
        self.assertEqual(left_out.state, "assigned")
        self.assertIn("No room", left_out.dispatch_issue)

    def test_a_warehouse_validation_before_the_shift_sends_nobody_out(self):
        """At 7:00, before Ana's 8:00 shift, the warehouse validates one of her delivery orders
        (the customer came to the shop). Planning again at 7:05 still starts her at the depot
        at 8:00, not at that customer's door at 7:05."""
        self.other_driver.on_duty = False
        tasks = self.env["lastmile.delivery.task"]
        for customer in self.customers[:3]:
            tasks |= self._create_order(partner=customer).lastmile_task_ids
        tasks.driver_id = self.driver
        self.plan()
        first = tasks.sorted("sequence")[0]
        first.picking_id.move_ids.picked = True
        first.picking_id.with_user(self.stock_user).button_validate()
        self.assertEqual(first.state, "delivered")
        with freeze_time("2026-11-18 07:05:00"):
            self.plan()
        route = (tasks - first).route_id
        self.assertGreaterEqual(route.start_time, datetime(2026, 11, 18, 8, 0))
        self.assertGreaterEqual(min((tasks - first).mapped("eta")), datetime(2026, 11, 18, 8, 0))

    def test_stops_done_count_in_the_daily_maximum(self):
        """Ana may do 3 stops a day and has delivered one: the plan gives her two more."""
        self.other_driver.on_duty = False
        self.driver.max_stops = 3
        done = self._create_task(driver_id=self.driver.id)
        done.action_deliver()
        tasks = self._tasks(4, end=datetime(2026, 11, 18, 17))
        summary = self.plan()
        self.assertEqual(len(tasks.filtered(lambda t: t.driver_id == self.driver)), 2)
        self.assertEqual(len(summary["unserved"]), 2)
        self.assertEqual(
            sorted(tasks.filtered("route_id").mapped("sequence")), [2, 3], "numbered after the one done"
        )
        self.assertEqual(done.sequence, 1)

    def test_background_plan_meets_a_driver_at_work(self):
        """A driver moves a delivery along while the background plan searches: the plan is made
        again on fresh data, and the dispatcher gets its result, not a database error."""
        tasks = self._tasks(3)
        self.company.lastmile_plan_time_limit = 4
        Planning = self.env["lastmile.route.planning"].with_user(self.dispatcher_user)
        Planning.action_plan(DAY)
        run = Planning.search([], limit=1)
        plan_routes = type(self.env["lastmile.route"]).plan_routes
        calls = []

        def stale_once(routes, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise psycopg2.errors.SerializationFailure(
                    "could not serialize access due to concurrent update"
                )
            return plan_routes(routes, *args, **kwargs)

        with (
            patch.object(self.env.cr, "commit"),
            patch.object(self.env.cr, "rollback"),
            patch.object(type(self.env["lastmile.route"]), "plan_routes", stale_once),
            patch.object(type(self.env["res.users"]), "_bus_send") as bus,
        ):
            self.env["lastmile.route.planning"]._cron_run()
        self.assertEqual(len(calls), 2)
        self.assertEqual(run.state, "done")
        self.assertIn("3 stop(s) planned", bus.call_args.args[1]["message"])
        self.assertTrue(all(tasks.mapped("route_id")))


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestPlanningAsShopsHaveIt(LastmileCase):
    """A day with what real shops have: dispatch rules, a delivery pinned by hand, a driver on
    the road, the working hours' lunch hour and a driver's flexible break, weight and volume."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        matrix_service.CACHE.clear()
        cls.company.lastmile_plan_time_limit = 1
        cls.points = [NEAR, MIDI, ATOMIUM, (50.8300, 4.3700), (50.8600, 4.3900), (50.8200, 4.3400)]
        cls.customers = [cls._create_customer(f"Stop {i}", p) for i, p in enumerate(cls.points)]
        cls.cold = cls.env["lastmile.driver.tag"].create({"name": "Refrigerated"})
        cls.other_driver.write({"tag_ids": [Command.set(cls.cold.ids)], "break_minutes": 30})

    def _task(self, i, start=9, end=17, **values):
        return self._create_task(
            partner=self.customers[i % len(self.customers)],
            start=datetime(2026, 11, 18, start),
            end=datetime(2026, 11, 18, end),
            **values,
        )

    def test_plan_with_rules_pins_a_started_driver_and_breaks(self):
        Rule = self.env["lastmile.dispatch.rule"]
        self.driver.max_stops = 20  # a limit of stops does not cost Ana her lunch
        frozen = self._task(1)
        heavy = self._task(2, weight=300.0)
        pinned = self._task(3)
        afternoon = [self._task(i, start=13, end=15) for i in range(3)]
        afternoon.append(self._task(3, start=13, end=15))
        afternoon[-1].driver_id = self.driver  # Ana's, chosen by hand
        Rule.create(
            {"name": "Cold", "domain": f"[('id', '=', {frozen.id})]", "tag_ids": [Command.set(self.cold.ids)]}
        )
        Rule.create(
            {
                "name": "Heavy",
                "mode": "prefer",
                "domain": f"[('id', '=', {heavy.id})]",
                "driver_ids": [Command.set(self.driver.ids)],
            }
        )
        self.company.lastmile_prefer_minutes = 60
        # Ana is on the road at 10:00: one delivered, one under way, one more on her van
        first, second, third = (self._task(i, end=12) for i in (4, 5, 0))
        (first | second | third).driver_id = self.driver
        morning = self.env["lastmile.route"].plan_routes(DAY, time_limit=1)
        self.assertFalse(morning.get("error"), morning)
        pinned.driver_id = self.driver  # chosen by hand
        with freeze_time("2026-11-18 10:00:00"):
            ordered = (first | second | third).sorted("sequence")
            self.assertEqual(len(ordered.route_id), 1, "Ana's three deliveries are on her route")
            ordered[0].action_start()
            ordered[0].action_deliver()
            ordered[1].action_start()
            Route = self.env["lastmile.route"].with_user(self.dispatcher_user)
            tasks = self.env["lastmile.delivery.task"].search(
                [("scheduled_date", "=", DAY), ("state", "in", ["new", "assigned", "in_transit"])]
            )
            drivers = self.driver | self.other_driver
            plan = Route._prepare_plan(self.company, fields.Date.to_date(DAY), tasks, drivers, 1)
            self.assertEqual(plan["solution"].engine, "pyvrp", "rules, pins and a driver on the road: PyVRP")
            self.assertFalse(plan["solution"].error)
            vehicles = {v.id: v for v in plan["problem"].vehicles}
            noon = seconds_since(plan["origin"], datetime(2026, 11, 18, 12))
            self.assertEqual(
                [(b.earliest, b.latest, b.duration) for b in vehicles[self.driver.id].breaks],
                [(noon, noon, 3600)],
                "Ana's lunch hour is a fixed break",
            )
            self.assertEqual(
                [(b.earliest, b.latest, b.duration) for b in vehicles[self.other_driver.id].breaks],
                [(noon - 1800, noon + 7200 - 1800, 1800)],
                "Bruno's flexible break replaces it: 30 min between 11:30 and 14:00",
            )
            self.assertTrue(vehicles[self.driver.id].on_the_road)
            summary = Route.plan_routes(DAY, time_limit=1)
        self.assertFalse(summary.get("error"))
        self.assertEqual(frozen.driver_id, self.other_driver, "only the refrigerated van")
        self.assertEqual(heavy.driver_id, self.driver, "preferred, an hour of work is worth it")
        self.assertEqual(pinned.driver_id, self.driver, "chosen by hand")
        self.assertEqual(ordered[1].driver_id, self.driver)
        self.assertEqual(ordered[1].sequence, 2, "under way: first after the one delivered")
        for task in (*afternoon, frozen, heavy, pinned, second, third):
            self.assertTrue(task.route_id, task.display_name)
        # nobody serves during Ana's lunch hour
        ana = self.env["lastmile.delivery.task"].search(
            [("driver_id", "=", self.driver.id), ("eta", "!=", False)]
        )
        for task in ana:
            self.assertFalse(datetime(2026, 11, 18, 12) < task.eta < datetime(2026, 11, 18, 13), task.eta)
        self.assertTrue(ana.filtered(lambda t: t.eta >= datetime(2026, 11, 18, 13)), "her day spans lunch")

    def test_breaks_of_the_day(self):
        """Bruno's flexible break replaces the working hours' lunch, not his time off; a lunch
        under way at a re-plan keeps what is left of it; a break whose time is over is gone."""
        day = fields.Date.to_date(DAY)
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Dentist",
                "resource_id": self.other_driver.resource_id.id,
                "calendar_id": self.calendar.id,
                "date_from": datetime(2026, 11, 18, 13, 30),
                "date_to": datetime(2026, 11, 18, 15, 0),
            }
        )
        drivers = self.driver | self.other_driver
        breaks = drivers._get_breaks(day, drivers._get_shifts(day))
        hour = timedelta(hours=1)
        noon = datetime(2026, 11, 18, 12)
        self.assertEqual(breaks[self.driver.id], [(noon, noon, hour)], "Ana: the lunch hour")
        self.assertEqual(
            breaks[self.other_driver.id],
            [
                (noon - hour / 2, noon + hour * 1.5, hour / 2),  # 30 min between 11:30 and 14:00
                (datetime(2026, 11, 18, 13, 30), datetime(2026, 11, 18, 13, 30), hour * 1.5),  # dentist
            ],
        )
        Route = self.env["lastmile.route"]
        origin = self.company._lastmile_localize(day)
        at = seconds_since(origin, datetime(2026, 11, 18, 12, 10))
        self.assertEqual(
            Route._prepare_breaks(origin, at, breaks[self.driver.id]),
            [engine.Break(at, at, 50 * 60)],
            "10 minutes into lunch: 50 minutes left",
        )
        self.assertEqual(Route._prepare_breaks(origin, at + 3600, breaks[self.driver.id]), [])

    def test_a_flexible_break_taken_is_not_planned_again(self):
        """Bruno's plan puts his 30 min break somewhere in 11:30-14:00 and his route shows it.
        Once he is on his way and its time has come, it counts as taken: planning again during
        it keeps what is left, after it plans no second break, and the route keeps it."""
        self.driver.on_duty = False
        tasks = self._task(1, start=9, end=11) | self._task(2, start=14, end=16) | self._task(3)
        Route = self.env["lastmile.route"].with_user(self.dispatcher_user)
        self.assertFalse(Route.plan_routes(DAY, time_limit=1).get("error"))
        route = tasks.route_id
        self.assertEqual(route.driver_id, self.other_driver)
        start = route.break_start
        self.assertTrue(datetime(2026, 11, 18, 11, 30) <= start <= datetime(2026, 11, 18, 13, 30), start)
        self.assertEqual(route.break_end, start + timedelta(minutes=30))
        fmt = route._time_formatter()
        self.assertEqual(route.break_label, f"{fmt(start)}–{fmt(start + timedelta(minutes=30))}")
        taken = (datetime(2026, 11, 18, 11, 30), datetime(2026, 11, 18, 12, 0))
        route.write({"break_start": taken[0], "break_end": taken[1]})  # where a plan put it
        day = fields.Date.to_date(DAY)
        origin = self.company._lastmile_localize(day)

        def bruno_breaks():
            open_tasks = tasks.filtered(lambda t: t.state in ("assigned", "in_transit"))
            plan = Route._prepare_plan(self.company, day, open_tasks, self.other_driver, 1)
            self.assertFalse(plan["solution"].error)
            return plan["problem"].vehicles[0].breaks

        with freeze_time("2026-11-18 11:40:00"):
            (rule,) = bruno_breaks()
            self.assertLess(rule.earliest, rule.latest, "his route has not started: still to take")
        with freeze_time("2026-11-18 09:00:00"):
            tasks.sorted("sequence")[0].with_user(self.other_driver_user).action_start()
        self.assertEqual(route.state, "in_progress")
        with freeze_time("2026-11-18 11:40:00"):
            at = seconds_since(origin, datetime(2026, 11, 18, 11, 40))
            self.assertEqual(bruno_breaks(), [engine.Break(at, at, 20 * 60)], "under way: 20 min left")
        with freeze_time("2026-11-18 12:10:00"):
            self.assertEqual(bruno_breaks(), [], "taken: no second break")
            self.assertFalse(Route.plan_routes(DAY, time_limit=1).get("error"))
            self.assertEqual((route.break_start, route.break_end), taken)

    def test_a_plan_without_a_break_clears_it(self):
        """A route shows no break when its plan has none to place: Bruno's round is over before
        his break must start, or he no longer has a flexible break."""
        self.driver.on_duty = False
        morning = self._task(1, start=9, end=10)
        Route = self.env["lastmile.route"].with_user(self.dispatcher_user)
        earlier = {"break_start": datetime(2026, 11, 18, 12), "break_end": datetime(2026, 11, 18, 12, 30)}
        Route.plan_routes(DAY, time_limit=1)
        route = morning.route_id
        route.write(earlier)  # what an earlier plan showed
        Route.plan_routes(DAY, time_limit=1)
        self.assertFalse(route.break_start, "back before 11:30: no break to take on the round")
        self._task(2, start=14, end=16)
        self.other_driver.break_minutes = 0
        route.write(earlier)
        Route.plan_routes(DAY, time_limit=1)
        self.assertFalse(route.break_start, "no flexible break any more")

    def test_preference_cost_in_the_fleets_unit(self):
        Route = self.env["lastmile.route"]
        self.company.write({"lastmile_prefer_minutes": 10, "lastmile_speed_kmh": 30})
        timed = [engine.Vehicle(1, 0, time_cost=1), engine.Vehicle(2, 0, time_cost=1)]
        self.assertEqual(Route._preference_cost(self.company, timed), 600, "10 min of work")
        per_km = [engine.Vehicle(1, 0, time_cost=0, distance_cost=2)]
        self.assertEqual(Route._preference_cost(self.company, per_km), 10000, "5 km at 30 km/h, 2 per m")

    def test_plan_is_the_same_for_the_same_day_data_and_iterations(self):
        for i in range(6):
            self._task(i, weight=20.0 * i)
        Route = self.env["lastmile.route"].with_user(self.dispatcher_user)
        plans = []
        for _run in range(2):  # the second plan starts from the first's routes: same plan
            Route.plan_routes(DAY, time_limit=30, iteration_limit=300)
            tasks = self.env["lastmile.delivery.task"].search([("scheduled_date", "=", DAY)], order="id")
            plans.append([(t.driver_id.id, t.sequence, t.eta) for t in tasks])
        self.assertEqual(plans[0], plans[1])

    def test_volume_is_planned(self):
        """Vans of 0.5 m³ and 500 kg: three light deliveries of 0.3 m³ take both vans and one
        waits; one of 0.8 m³ fits no van, and says so."""
        self.driver.capacity_volume = 0.5
        self.other_driver.capacity_volume = 0.5
        tasks = [self._task(i, volume=0.3) for i in range(3)]
        bulky = self._task(4, volume=0.8)
        summary = self.env["lastmile.route"].plan_routes(DAY, time_limit=1)
        self.assertEqual(summary["planned"], 2, "one 0.3 m³ delivery per 0.5 m³ van")
        unplanned = [t for t in tasks if not t.route_id]
        self.assertEqual(len(unplanned), 1)
        self.assertIn("capacities", unplanned[0].dispatch_issue)
        self.assertFalse(bulky.route_id)
        self.assertIn(
            "its volume of 0.800 m³ is more than any vehicle on duty it may go to holds (0.500 m³)",
            bulky.dispatch_issue,
        )
        # the biggest van it may go to: pinned to a van of 0.5 m³, a van of 1 m³ does not count
        self.other_driver.capacity_volume = 1.0
        bulky.driver_id = self.driver
        self.env["lastmile.route"].plan_routes(DAY, time_limit=1)
        self.assertFalse(bulky.route_id)
        self.assertIn("it may go to holds (0.500 m³)", bulky.dispatch_issue)

    def test_optimize_and_replan_run_in_the_background(self):
        tasks = [self._task(i, driver_id=self.driver.id) for i in range(4)]
        self.env["lastmile.route"].plan_routes(DAY, time_limit=1)
        route = tasks[0].route_id
        self.company.lastmile_plan_time_limit = 4
        Planning = self.env["lastmile.route.planning"]
        for act, kind, routes in (
            (lambda: route.with_user(self.dispatcher_user).action_optimize(), "optimize", route),
            (
                lambda: self.env["lastmile.route"].with_user(self.dispatcher_user).action_replan(DAY),
                "plan",
                self.env["lastmile.route"],
            ),
        ):
            result = act()
            self.assertIn("in the background", result["params"]["message"])
            run = Planning.search([], limit=1)
            self.assertEqual((run.state, run.kind, run.route_ids), ("queued", kind, routes))
            with (
                patch.object(self.env.cr, "commit"),
                patch.object(type(self.env["res.users"]), "_bus_send") as bus,
            ):
                Planning._cron_run()
            self.assertEqual(run.state, "done", run.summary)
            self.assertIn("4 stop(s) planned", run.summary)
            self.assertEqual(bus.call_args.args[1]["message"], run.summary)
            self.assertEqual(bus.call_args.args[0], "simple_notification")
        self.assertEqual(route.task_ids, self.env["lastmile.delivery.task"].browse([t.id for t in tasks]))
        # an optimization whose route a plan made meanwhile removed optimizes nothing: it does
        # not plan the day in its place
        route.with_user(self.dispatcher_user).action_optimize()
        run = Planning.search([], limit=1)
        newcomer = self._task(9)
        route.task_ids.route_id = False
        route.unlink()
        with patch.object(self.env.cr, "commit"), patch.object(type(self.env["res.users"]), "_bus_send"):
            Planning._cron_run()
        self.assertEqual((run.state, run.kind), ("done", "optimize"), run.summary)
        self.assertIn("0 stop(s) planned", run.summary)
        self.assertFalse(newcomer.route_id)
        with self.assertRaises(AccessError):
            tasks[0].route_id.with_user(self.driver_user).action_optimize()
        # runs are made by the actions: a dispatcher cannot queue one for another user or route
        with self.assertRaises(AccessError):
            Planning.with_user(self.dispatcher_user).create(
                {"date": DAY, "route_ids": [Command.set(route.ids)]}
            )
        with self.assertRaises(AccessError):
            run.with_user(self.dispatcher_user).user_id = self.manager_user

    def test_osrm_with_a_table_limit_and_an_unroutable_pair(self):
        """An OSRM server that answers at most 3 × 3 places and finds no road to one customer
        from one other: the plan asks in blocks, uses the road times, and the straight line
        for that pair only, and says so."""
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("lastmile.matrix_provider", "osrm")
        params.set_param("lastmile.osrm_url", "http://osrm.example:5000")
        params.set_param("lastmile.osrm_table_limit", "3")
        matrix_service.FAILURES.clear()
        tasks = [self._task(i) for i in range(6)]
        asked = []

        def trip(a, b):
            meters = haversine_km(*a, *b) * 1300
            return None if (a, b) == (ATOMIUM, NEAR) else (meters / 8, meters)

        table = osrm_table(trip, 3, asked)
        with patch.object(requests, "get", side_effect=table):
            summary = self.env["lastmile.route"].plan_routes(DAY, time_limit=1)
        self.assertTrue(asked)
        self.assertTrue(all(len(s) <= 3 and len(t) <= 3 for s, t in asked), asked)
        self.assertGreater(len(asked), 1, "7 places in blocks of 3")
        self.assertEqual(summary["planned"], 6)
        self.assertIn("OSRM found no road for 1 of the", summary["warning"])
        self.assertEqual({t.route_id.matrix_provider for t in tasks}, {"osrm"})
