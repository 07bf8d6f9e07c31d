"""The routing engine, without a database: small instances whose optimum is known by hand."""

import dataclasses
import itertools
import math
import os
import pathlib
import sys
import tempfile
import threading
from unittest.mock import patch

import numpy as np

from odoo.tests import BaseCase, tagged

from ..services import routing as r

# A plus-shaped city: depot in the middle, two stops east, two north (1 unit = 1 km = 1 min).
POINTS = [(0, 0), (10, 0), (20, 0), (0, 10), (0, 20), (30, 30)]
MATRIX = [[round(math.dist(a, b) * 60) for b in POINTS] for a in POINTS]  # seconds at 60 km/h


def problem(stops, vehicles=None, **kw):
    kw.setdefault("time_limit", 0.3)
    kw.setdefault("iteration_limit", 200)
    return r.Problem(
        durations=MATRIX,
        distances=[[v * 1000 // 60 for v in row] for row in MATRIX],
        vehicles=vehicles if vehicles is not None else [r.Vehicle("van", start=0, end=0)],
        stops=stops,
        **kw,
    )


def for_engines(build, engines=("ortools", "pyvrp")):
    """(engine, solution) of the problem ``build(engine)`` makes, for each engine."""
    return [(engine, r.solve(build(engine))) for engine in engines]


def pyvrp_inputs(model):
    """(duration matrices, distance matrices, vehicle types) of a PyVRP model."""
    durations, distances, profile_of = model._profiles()
    types, _groups = model._vehicle_types(profile_of)
    return durations, distances, types


def road_day():
    """(10:00, vans, stops): a driver at stop 1's place at 10:00 with stop 2 under way and stop
    4 on board, a van at the depot, and stop 6 to serve between 11:00 and 12:00."""
    now = 10 * 3600
    vans = [
        r.Vehicle("road", 1, 0, shift_start=now, shift_end=now + 3 * 3600, locked=(2,)),
        r.Vehicle("depot", 0, 0, shift_start=now, shift_end=now + 3 * 3600),
    ]
    stops = [
        r.Stop(2, 2),
        r.Stop(4, 4, vehicle_id="road", required=True),
        r.Stop(3, 3),
        r.Stop(5, 5),
        r.Stop(6, 1, window_start=now + 3600, window_end=now + 2 * 3600),
    ]
    return now, vans, stops


def sequences(solution):
    return {route.vehicle_id: [visit.stop_id for visit in route.visits] for route in solution.routes}


@tagged("-at_install", "post_install")
class TestRoutingEngine(BaseCase):
    def test_known_optimum_single_vehicle(self):
        """East to the far stop, across the diagonal, north back home: 68.28 km (10+10+28.28+
        10+10), shorter than two out-and-back trips (80 km)."""
        stops = [r.Stop(i, i) for i in range(1, 5)]
        for engine, solution in for_engines(lambda e: problem(stops, engine=e)):
            self.assertEqual(solution.distance, 68283, engine)
            self.assertEqual(solution.duration, 600 + 600 + 1697 + 600 + 600, engine)
            self.assertIn(sequences(solution)["van"], ([1, 2, 4, 3], [3, 4, 2, 1]), engine)
            self.assertFalse(solution.unserved)

    def test_capacity_splits_routes(self):
        vans = [r.Vehicle("a", 0, 0, capacity=10), r.Vehicle("b", 0, 0, capacity=10)]
        stops = [r.Stop(i, i, demand=5) for i in range(1, 5)]
        for _engine, solution in for_engines(lambda e: problem(stops, vans, engine=e)):
            routes = sorted(sorted(seq) for seq in sequences(solution).values())
            self.assertEqual(routes, [[1, 2], [3, 4]])
            for route in solution.routes:
                self.assertEqual(route.visits[0].load, (5,), "leaves with 10, 5 left after the first stop")
                self.assertEqual(route.visits[-1].load, (0,))

    def test_time_windows_order_the_route(self):
        """Stop 2 closes at minute 20 and stop 1 opens at minute 30: the route serves 2 first."""
        stops = [
            r.Stop(1, 1, window_start=30 * 60, window_end=3600),
            r.Stop(2, 2, window_start=0, window_end=20 * 60),
        ]
        for engine, solution in for_engines(lambda e: problem(stops, engine=e)):
            route = solution.routes[0]
            self.assertEqual([v.stop_id for v in route.visits], [2, 1], engine)
            self.assertEqual(route.visits[1].start, 30 * 60)
            self.assertTrue(solution.feasible)

    def test_waiting_and_service_time(self):
        stops = [r.Stop(1, 1, window_start=30 * 60, window_end=40 * 60, service=300)]
        solution = r.solve(problem(stops, engine="ortools"))
        visit = solution.routes[0].visits[0]
        self.assertEqual(visit.start, 30 * 60)
        self.assertEqual(visit.departure, 30 * 60 + 300)
        # the van leaves late enough not to wait
        self.assertEqual(solution.routes[0].start_time, 20 * 60)
        self.assertEqual(visit.wait, 0)

    def test_shift_end_and_unreachable_window(self):
        vans = [r.Vehicle("van", 0, 0, shift_start=0, shift_end=30 * 60)]
        stops = [r.Stop(1, 1), r.Stop(5, 5)]  # stop 5 is 42 min away: out and back exceeds the shift
        solution = r.solve(problem(stops, vans))
        self.assertEqual(sequences(solution), {"van": [1]})
        self.assertEqual([(u.stop_id, u.reason) for u in solution.unserved], [(5, r.REASON_WINDOW)])
        late = r.solve(problem([r.Stop(2, 2, window_start=0, window_end=5 * 60)]))
        self.assertEqual(late.unserved[0].reason, r.REASON_WINDOW)
        self.assertIn("time window", late.unserved[0].text)

    def test_soft_lateness(self):
        """With a lateness penalty, an unreachable window is served late instead of dropped."""
        stops = [r.Stop(2, 2, window_start=0, window_end=5 * 60)]
        solution = r.solve(problem(stops, soft_late_penalty=10, engine="auto"))
        self.assertEqual(solution.engine, "ortools")
        visit = solution.routes[0].visits[0]
        self.assertEqual(visit.late, 20 * 60 - 5 * 60)
        self.assertFalse(solution.feasible)

    def test_load_above_every_vehicle_and_no_vehicle(self):
        vans = [r.Vehicle("a", 0, 0, capacity=10)]
        solution = r.solve(problem([r.Stop(1, 1, demand=50), r.Stop(2, 2, demand=5)], vans))
        self.assertEqual(sequences(solution), {"a": [2]})
        self.assertEqual(solution.unserved[0].reason, r.REASON_CAPACITY)
        empty = r.solve(problem([r.Stop(1, 1)], vehicles=[]))
        self.assertEqual(empty.unserved[0].reason, r.REASON_NO_VEHICLE)
        self.assertEqual(empty.routes, [])

    def test_infeasible_stops_leave_the_rest_planned(self):
        """Too much work for the shift: the plan keeps what fits, each left-out stop says why."""
        vans = [r.Vehicle("van", 0, 0, shift_end=45 * 60)]
        stops = [r.Stop(i, i, service=0) for i in range(1, 5)]
        for _engine, solution in for_engines(lambda e: problem(stops, vans, engine=e)):
            served = [v.stop_id for v in solution.routes[0].visits]
            self.assertEqual(len(served), 2, "one arm of 40 min fits in 45 min, not two")
            self.assertEqual(len(solution.unserved), 2)
            self.assertTrue(all(u.reason == r.REASON_DROPPED for u in solution.unserved))

    def test_several_depots(self):
        vans = [r.Vehicle("east", 2, 2), r.Vehicle("north", 4, 4)]
        stops = [r.Stop(1, 1), r.Stop(3, 3)]
        for _engine, solution in for_engines(lambda e: problem(stops, vans, engine=e)):
            self.assertEqual(sequences(solution), {"east": [1], "north": [3]})

    def test_pinned_stop(self):
        vans = [r.Vehicle("east", 2, 2), r.Vehicle("north", 4, 4)]
        stops = [r.Stop(1, 1, vehicle_id="north"), r.Stop(3, 3)]
        self.assertEqual(r.solve(problem(stops, vans, engine="auto")).engine, "pyvrp")
        for engine, solution in for_engines(lambda e: problem(stops, vans, engine=e)):
            self.assertEqual(sorted(sequences(solution)["north"]), [1, 3], engine)

    def test_locked_prefix_and_driver_on_the_road(self):
        """The driver is at stop 3's place at 10:00 with stop 4 under way: 4 stays first; the new
        stops 1 and 2 come after, from there (the far one first, the near one on the way back)."""
        now = 10 * 3600
        van = r.Vehicle("van", start=3, end=0, shift_start=now, shift_end=now + 4 * 3600, locked=[4])
        stops = [r.Stop(4, 4), r.Stop(1, 1), r.Stop(2, 2)]
        self.assertEqual(r.solve(problem(stops, [van], engine="auto")).engine, "pyvrp")
        for engine, solution in for_engines(lambda e: problem(stops, [van], engine=e)):
            route = solution.routes[0]
            self.assertEqual([v.stop_id for v in route.visits], [4, 2, 1], engine)
            self.assertEqual(route.start_time, now)
            self.assertEqual(route.visits[0].arrival, now + 10 * 60)

    def test_pickup_and_delivery(self):
        """A courier job: pick up at 2, deliver at 4, same vehicle, pickup first."""
        stops = [
            r.Stop("p", 2, is_pickup=True),
            r.Stop("d", 4, demand=7, pickup_id="p"),
            r.Stop("x", 1, demand=5),
        ]
        vans = [r.Vehicle("a", 0, 0, capacity=10), r.Vehicle("b", 0, 0, capacity=10)]
        for _engine, solution in for_engines(lambda e: problem(stops, vans, engine=e)):
            owner = [seq for seq in sequences(solution).values() if "p" in seq]
            self.assertEqual(len(owner), 1)
            self.assertIn("d", owner[0])
            self.assertLess(owner[0].index("p"), owner[0].index("d"))
            loads = {v.stop_id: v.load for route in solution.routes for v in route.visits}
            self.assertEqual(loads["d"][0], loads["p"][0] - 7)

    def test_pair_is_served_whole_or_not_at_all(self):
        stops = [r.Stop("p", 2, is_pickup=True), r.Stop("d", 4, demand=50, pickup_id="p")]
        solution = r.solve(problem(stops, [r.Vehicle("a", 0, 0, capacity=10)]))
        self.assertEqual(solution.routes, [])
        self.assertEqual(
            {u.stop_id: u.reason for u in solution.unserved}, {"d": r.REASON_CAPACITY, "p": r.REASON_CAPACITY}
        )
        # a pickup whose delivery cannot be reached is left out with its pair
        stops = [r.Stop("p", 1, is_pickup=True), r.Stop("d", 2, demand=1, pickup_id="p", window_end=60)]
        solution = r.solve(problem(stops))
        self.assertEqual(
            {u.stop_id: u.reason for u in solution.unserved}, {"d": r.REASON_WINDOW, "p": r.REASON_PAIR}
        )

    def test_open_route(self):
        stops = [r.Stop(1, 1), r.Stop(2, 2)]
        for _engine, solution in for_engines(lambda e: problem(stops, [r.Vehicle("van", 0, None)], engine=e)):
            self.assertEqual(sequences(solution)["van"], [1, 2])
            self.assertEqual(solution.distance, 20 * 1000)

    def test_warm_start_and_auto_engine(self):
        stops = [r.Stop(i, i) for i in range(1, 5)]
        plain = r.solve(problem(stops, engine="auto"))
        self.assertEqual(plain.engine, "pyvrp")
        warm = r.solve(problem(stops, engine="auto", initial_routes={"van": [1, 3, 2, 4]}))
        self.assertEqual(warm.engine, "ortools")
        self.assertEqual(warm.distance, 68283)

    def test_deterministic_for_a_seed(self):
        points = [(math.cos(k) * k, math.sin(k) * k) for k in range(1, 30)]
        pts = [(0, 0), *points]
        matrix = [[round(math.dist(a, b) * 60) for b in pts] for a in pts]
        for engine in ("ortools", "pyvrp"):

            def run(engine=engine):
                return r.solve(
                    r.Problem(
                        durations=matrix,
                        distances=matrix,
                        vehicles=[r.Vehicle(k, 0, 0, capacity=10) for k in range(4)],
                        stops=[r.Stop(i, i, demand=1) for i in range(1, len(pts))],
                        time_limit=30,
                        iteration_limit=300,
                        seed=7,
                        engine=engine,
                    )
                )

            self.assertEqual(sequences(run()), sequences(run()), engine)

    def test_malformed_input(self):
        with self.assertRaisesRegex(r.RoutingError, "square"):
            r.solve(r.Problem(durations=[[0, 1]], distances=[[0, 1]], vehicles=[], stops=[]))
        with self.assertRaisesRegex(r.RoutingError, "not in the matrix"):
            r.solve(problem([r.Stop(1, 99)]))
        with self.assertRaisesRegex(r.RoutingError, "unique"):
            r.solve(problem([r.Stop(1, 1), r.Stop(1, 2)]))

    def test_allowed_vehicles_and_best_insertion(self):
        vans = [r.Vehicle("east", 2, 2), r.Vehicle("north", 4, 4), r.Vehicle("far", 5, 5)]
        stops = [r.Stop(1, 1, vehicle_ids=("north", "far")), r.Stop(3, 3)]
        for engine, solution in for_engines(lambda e: problem(stops, vans, engine=e)):
            self.assertIn(1, sequences(solution)["north"], engine)
        # insertion into an existing sequence keeps it and finds the cheapest place
        van = r.Vehicle("van", 0, 0)
        p = problem([r.Stop(1, 1), r.Stop(2, 2), r.Stop(4, 4)])
        position, route = r.best_insertion(p, van, [2, 4], 1)
        self.assertEqual(position, 0)
        self.assertEqual([v.stop_id for v in route.visits], [1, 2, 4])
        # a stop that would make a later one late is not inserted there
        p = problem([r.Stop(1, 1), r.Stop(2, 2, window_end=20 * 60), r.Stop(4, 4)])
        position, route = r.best_insertion(p, van, [2], 4)
        self.assertEqual(position, 1)
        self.assertIsNone(r.best_insertion(p, r.Vehicle("van", 0, 0, shift_end=30 * 60), [2], 4))

    def test_max_stops(self):
        vans = [r.Vehicle("a", 0, 0, max_stops=2), r.Vehicle("b", 0, 0, max_stops=2)]
        stops = [r.Stop(i, i) for i in range(1, 5)]
        for engine, solution in for_engines(lambda e: problem(stops, vans, engine=e)):
            self.assertEqual(sorted(len(seq) for seq in sequences(solution).values()), [2, 2], engine)

    # ------------------------------------------------------------------ costs and penalties

    def test_costs_never_make_dropping_cheaper(self):
        """Vehicles with costs per hour and per km serve the same stops as vehicles without:
        leaving a stop out always costs more than serving it, even a long way off."""
        stops = [r.Stop(i, i, window_start=0, window_end=4 * 3600) for i in range(1, 6)]

        def vans(time_cost, distance_cost):
            return [
                r.Vehicle(k, 0, 0, shift_end=6 * 3600, time_cost=time_cost, distance_cost=distance_cost)
                for k in ("a", "b")
            ]

        plain = r.solve(problem(stops, vans(1, 0), engine="ortools"))
        # 25 per hour and 0.5 per km, in the units lastmile.driver gives the engine
        costly = r.solve(problem(stops, vans(25_000, 1_800), engine="ortools"))
        self.assertFalse(plain.unserved)
        self.assertEqual(len(costly.unserved), len(plain.unserved))
        self.assertEqual(sum(len(route.visits) for route in costly.routes), 5)
        # a very dear vehicle still goes to the far stop (42 min away) rather than drop it
        dear = [r.Vehicle("dear", 0, 0, time_cost=10**6, distance_cost=10**5)]
        for engine in ("ortools", "pyvrp"):
            solution = r.solve(problem([r.Stop(5, 5)], dear, engine=engine))
            self.assertEqual(sequences(solution), {"dear": [5]}, engine)

    def test_costs_choose_the_cheaper_vehicle(self):
        """With costs, the plan goes to the cheaper van; without, to either."""
        vans = [r.Vehicle("dear", 0, 0, time_cost=60_000), r.Vehicle("cheap", 0, 0, time_cost=20_000)]
        solution = r.solve(problem([r.Stop(1, 1), r.Stop(3, 3)], vans, engine="ortools"))
        self.assertEqual(list(sequences(solution)), ["cheap"])

    # ------------------------------------------------------------------ started vans

    def test_late_started_van_keeps_its_loaded_stops(self):
        """A van on the road at 10:00 with three stops on board, running late: they are all
        served by it, late, with the lateness on the visits, past the end of the shift; a new
        stop that would make them later goes to the other van."""
        now = 10 * 3600
        van = r.Vehicle("van", start=2, end=0, shift_start=now, shift_end=now + 15 * 60, fixed_start=True)
        spare = r.Vehicle("spare", start=0, end=0, shift_start=now, shift_end=now + 4 * 3600)
        loaded = [
            r.Stop(k, k, window_start=0, window_end=now, vehicle_id="van", required=True, demand=40)
            for k in (1, 3, 4)
        ]
        new = r.Stop("new", 5, window_start=now, window_end=now + 3 * 3600)
        # more on board than the van's capacity (the dispatcher changed a weight): still served
        solution = r.solve(problem([*loaded, new], [dataclasses.replace(van, capacity=100), spare]))
        self.assertFalse(solution.error)
        plan = sequences(solution)
        self.assertEqual(sorted(plan["van"]), [1, 3, 4])
        self.assertEqual(plan["spare"], ["new"])
        self.assertFalse(solution.unserved)
        late = {visit.stop_id: visit.late for _vehicle, visit in solution.late_visits}
        self.assertEqual(sorted(late), [1, 3, 4], "every loaded stop is reported late")
        self.assertTrue(all(minutes > 0 for minutes in late.values()))
        self.assertGreater(solution.routes[0].end_time, van.shift_end, "the van finishes past its shift")
        self.assertFalse(solution.feasible)

    def test_on_board_stops_are_never_set_aside(self):
        """Even a stop no vehicle could reach in its window stays on its van when it is on board."""
        van = r.Vehicle("van", 0, 0, shift_start=3600, shift_end=7200, fixed_start=True)
        stop = r.Stop(1, 5, window_end=60, vehicle_id="van", required=True)
        solution = r.solve(problem([stop], [van]))
        self.assertEqual(sequences(solution), {"van": [1]})
        with self.assertRaisesRegex(r.RoutingError, "pinned to one of the vehicles"):
            r.solve(problem([r.Stop(1, 1, required=True)]))

    # ------------------------------------------------------------------ failures and checks

    def test_failed_solve_returns_an_error_not_dropped_stops(self):
        """The search finds no plan: the solution says so and lists no routes and no unserved
        stops, so the caller keeps its previous plan."""
        van = r.Vehicle("van", 0, 0, fixed_start=True, locked=(1,))
        stops = [r.Stop(1, 1), r.Stop(2, 2, vehicle_id="van", required=True), r.Stop(3, 3)]
        with patch.object(r._OrToolsModel, "_search", return_value=None):
            failed = r._OrToolsModel(problem(stops, [van])).solve()
        self.assertIn("no plan keeps every rule", failed.error_text)
        with patch.object(r, "_solve_ortools", return_value=failed):
            solution = r.solve(problem(stops, [van], engine="ortools"))
        self.assertEqual(solution.error, failed.error)
        self.assertEqual((solution.routes, solution.unserved), ([], []))
        self.assertFalse(solution.feasible)

    def test_search_runs_in_a_child_process(self):
        """OR-Tools holds Python's lock for its whole search: it runs in a child process, which
        gives the same plan, and whose failure says what happened."""
        stops = [r.Stop(i, i) for i in range(1, 5)]
        in_process = r._OrToolsModel(problem(stops)).solve()
        child = r._solve_ortools(problem(stops))
        self.assertEqual(sequences(child), sequences(in_process))
        self.assertEqual(child.distance, 68283)
        with patch.object(r, "__file__", "/nonexistent/routing.py"):
            broken = r._solve_ortools(problem(stops))
        self.assertIn("the OR-Tools search stopped with an error", broken.error_text)
        self.assertIn("No such file or directory", broken.error_text)
        # the current directory is not on the child's import path (a stray pickle.py there is not run)
        with tempfile.TemporaryDirectory() as folder:
            (pathlib.Path(folder) / "pickle.py").write_text("raise SystemExit('shadowed')\n")
            with (
                patch.object(os, "getcwd", return_value=folder),
                patch.object(sys, "path", [folder, *sys.path]),
            ):
                self.assertEqual(sequences(r._solve_ortools(problem(stops))), sequences(in_process))

    def test_stops_on_board_count_past_the_maximum(self):
        """Three stops on board a van allowed two: they are on the van, so they are served (and
        nothing more is added); the rest of the fleet is planned as usual."""
        van = r.Vehicle("van", 0, 0, max_stops=2, fixed_start=True)
        spare = r.Vehicle("spare", 0, 0)
        stops = [r.Stop(k, k, vehicle_id="van", required=True) for k in (1, 2, 3)] + [r.Stop(4, 4)]
        solution = r.solve(problem(stops, [van, spare]))
        self.assertFalse(solution.error)
        self.assertEqual(sorted(sequences(solution)["van"]), [1, 2, 3])
        self.assertEqual(sequences(solution)["spare"], [4])

    def test_a_stop_the_search_left_out_is_put_back_where_it_fits(self):
        """A search stopped early dropped stop 3 although the van has room: the plan gets it at
        its cheapest place. A stop that fits nowhere stays out, with its reason."""
        vans = [r.Vehicle("van", 0, 0, shift_end=3 * 3600)]
        stops = [r.Stop(1, 1), r.Stop(3, 3), r.Stop(5, 5, window_end=10 * 60)]

        def early_stop(sub):
            return r.Solution(engine="ortools", routes=[r.schedule(sub, vans[0], [1])])

        with patch.object(r, "_solve_ortools", early_stop):
            solution = r.solve(problem(stops, vans, engine="ortools"))
        self.assertFalse(solution.error)
        self.assertEqual(sorted(sequences(solution)["van"]), [1, 3])
        self.assertEqual([(u.stop_id, u.reason) for u in solution.unserved], [(5, r.REASON_WINDOW)])

    def test_a_plan_breaking_a_rule_is_refused(self):
        """What a backend returns goes through the check: a plan that breaks a rule comes back
        as an error (here a backend that forgets the capacity)."""
        vans = [r.Vehicle("a", 0, 0, capacity=10)]
        stops = [r.Stop(1, 1, demand=6), r.Stop(2, 2, demand=6)]
        p = problem(stops, vans, engine="ortools")

        def careless(sub):
            return r.Solution(engine="ortools", routes=[r.schedule(sub, vans[0], [1, 2])])

        with patch.object(r, "_solve_ortools", careless), self.assertLogs(r._logger, "WARNING") as logs:
            solution = r.solve(p)
        self.assertIn("the OR-Tools plan breaks 1 rule(s)", solution.error_text)
        self.assertIn("carries 12, more than its capacity 10", logs.output[0], "which rule: in the log")
        self.assertEqual(solution.routes, [])

    def test_check_covers_every_rule(self):
        vans = [
            r.Vehicle("a", 0, 0, capacity=10, shift_end=1800, max_stops=2),
            r.Vehicle("b", 0, 0, locked=(4,), fixed_start=True),
        ]
        stops = [
            r.Stop(1, 1, demand=6, window_end=5 * 60),
            r.Stop(2, 2, demand=6, vehicle_ids=("b",)),
            r.Stop(3, 3),
            r.Stop(4, 4),
            r.Stop(5, 5, vehicle_id="b", required=True),
        ]
        p = problem(stops, vans)
        good = r.Solution(
            routes=[r.schedule(p, vans[1], [4, 5, 2], 0)],
            unserved=[r.Unserved(1, r.REASON_WINDOW, ""), r.Unserved(3, r.REASON_DROPPED, "")],
        )
        self.assertEqual(r.check(p, good), [])
        bad = r.Solution(
            routes=[r.schedule(p, vans[0], [1, 2, 3, 3]), r.schedule(p, vans[1], [5], 0)],
            unserved=[r.Unserved(4, r.REASON_DROPPED, ""), r.Unserved(4, r.REASON_DROPPED, "")],
        )
        errors = "\n".join(r.check(p, bad))
        for expected in (
            "stop 3 is visited 2 times",  # duplicate
            "stop 4 is reported unserved 2 times",
            "stop 4 is on board or under way but left out",
            "vehicle a serves 4 stops, at most 2",  # maximum stops
            "vehicle a may not serve stop 2",  # allowed vehicles
            "vehicle a serves stop 1 at 600, after its window",  # hard window
            "vehicle a carries 12, more than its capacity 10",  # capacity
            "after its shift ends",  # shift
            "vehicle b: its stops under way [4] do not start its route",  # locked prefix
        ):
            self.assertIn(expected, errors)
        missing = r.Solution(routes=[r.schedule(p, vans[1], [4, 5], 0)])
        self.assertIn("stop 2 is neither served nor reported unserved", "\n".join(r.check(p, missing)))

    def test_pyvrp_refuses_what_it_cannot_express(self):
        for kw in ({"soft_late_penalty": 5}, {"initial_routes": {"van": [1]}}):
            with self.assertRaisesRegex(r.RoutingError, "PyVRP cannot express"):
                r.solve(problem([r.Stop(1, 1)], engine="pyvrp", **kw))
        # a stop on board that can only be late
        van = r.Vehicle("van", 0, 0, shift_start=3600, fixed_start=True)
        with self.assertRaisesRegex(r.RoutingError, "only be late"):
            r.solve(
                problem([r.Stop(1, 5, window_end=60, vehicle_id="van", required=True)], [van], engine="pyvrp")
            )
        # more routing profiles than the memory budget allows: 4 pairs of 6 x 6 matrices of 8
        # bytes, four times over (the model's, PyVRP's copies), are one byte too many
        vans = [r.Vehicle(k, 0, 0) for k in range(3)]
        pinned = [r.Stop(k + 1, k + 1, vehicle_id=k) for k in range(3)]
        with patch.object(r, "PYVRP_MATRIX_BUDGET", 4 * 2 * 6 * 6 * 8 * r.PYVRP_MATRIX_FACTOR - 1):
            with self.assertRaisesRegex(r.RoutingError, "4 routing profiles of 6 places"):
                r.solve(problem(pinned, vans, engine="pyvrp"))
            self.assertEqual(r.solve(problem(pinned, vans, engine="auto")).engine, "ortools")


def brute_force(p):
    """The least cost (see routing's objective) of a plan serving every stop, by trying every
    assignment and every order, locked stops first: small problems only."""
    ids = [s.id for s in p.stops]
    best = None
    for assignment in itertools.product(range(len(p.vehicles)), repeat=len(ids)):
        options = []
        for k, vehicle in enumerate(p.vehicles):
            mine = [sid for sid, a in zip(ids, assignment, strict=True) if a == k]
            if not set(vehicle.locked) <= set(mine):
                break
            free = [sid for sid in mine if sid not in vehicle.locked]
            options.append([[*vehicle.locked, *order] for order in itertools.permutations(free)])
        else:
            for sequences_ in itertools.product(*options):
                plan = r.Solution(
                    routes=[
                        r.schedule(p, vehicle, seq, vehicle.shift_start if vehicle.on_the_road else None)
                        for vehicle, seq in zip(p.vehicles, sequences_, strict=True)
                        if seq
                    ]
                )
                if not r.check(p, plan) and not plan.late_visits:
                    value = r.cost(p, plan)
                    best = value if best is None else min(best, value)
    return best


@tagged("-at_install", "post_install")
class TestProductionConstraints(BaseCase):
    """What real shops' plans have: skills and "only" rules, pins, drivers on the road,
    preferences, weight and volume, breaks. Both backends reach the optimum found by trying
    every plan, on small cases."""

    def assert_optimal(self, build, engines=("ortools", "pyvrp")):
        optimum = brute_force(build("auto"))
        self.assertIsNotNone(optimum)
        for engine in engines:
            p = build(engine)
            solution = r.solve(p)
            self.assertFalse(solution.error, engine)
            self.assertFalse(solution.unserved, engine)
            self.assertEqual(r.cost(p, solution), optimum, engine)
        return optimum

    def test_allowed_and_pinned_vehicles_reach_the_optimum(self):
        vans = [r.Vehicle("a", 0, 0), r.Vehicle("b", 0, 0), r.Vehicle("east", 2, 2)]
        stops = [
            r.Stop(1, 1, vehicle_ids=("b", "east")),  # a skill only b and east have
            r.Stop(2, 2),
            r.Stop(3, 3, vehicle_id="a"),  # pinned
            r.Stop(4, 4),
            r.Stop(5, 5, vehicle_ids=("a", "b")),
        ]
        self.assert_optimal(lambda e: problem(stops, vans, engine=e, time_limit=1))

    def test_driver_on_the_road_reaches_the_optimum(self):
        """A driver at stop 1's place at 10:00, stop 2 under way, a stop on board: the rest of
        the day is planned from there, as well by both backends."""
        _now, vans, stops = road_day()
        self.assertEqual(r.solve(problem(stops, vans, engine="auto")).engine, "pyvrp")
        self.assert_optimal(lambda e: problem(stops, vans, engine=e, time_limit=1))

    def test_preferences_are_soft_costs(self):
        """Stop 1 prefers van b, which starts at the far corner: at a small cost of preference
        van a serves it; at a cost above b's detour, b does."""
        vans = [r.Vehicle("a", 0, 0), r.Vehicle("b", 5, 5)]
        stops = [r.Stop(1, 1, preferred_vehicle_ids=("b",)), r.Stop(2, 2)]
        for preference, owner in ((60, "a"), (10_000, "b")):
            for engine in ("ortools", "pyvrp"):
                solution = r.solve(problem(stops, vans, engine=engine, preference_cost=preference))
                self.assertIn(1, sequences(solution)[owner], (engine, preference))
            self.assert_optimal(lambda e, c=preference: problem(stops, vans, engine=e, preference_cost=c))

    def test_one_objective_in_both_backends(self):
        """Working time is the objective, waiting included, travel counted once: a stop that
        opens late is better served by the van that would otherwise wait."""
        vans = [r.Vehicle("a", 0, 0), r.Vehicle("b", 0, 0)]
        stops = [
            r.Stop(1, 1),
            r.Stop(2, 2, window_start=3600, window_end=4000),
            r.Stop(3, 3),
            r.Stop(4, 4, window_start=0, window_end=1500),
        ]
        self.assert_optimal(lambda e: problem(stops, vans, engine=e, time_limit=1))
        costly = [dataclasses.replace(v, time_cost=3, distance_cost=2) for v in vans]
        self.assert_optimal(lambda e: problem(stops, costly, engine=e, time_limit=1))

    def test_weight_and_volume(self):
        """Vans carry 100 kg and 2 crates: four light crates need two vans; a heavy parcel
        goes to the truck; one too big for anyone is set aside with the dimension."""
        vans = [
            r.Vehicle("a", 0, 0, capacity=(100, 2)),
            r.Vehicle("b", 0, 0, capacity=(100, 2)),
            r.Vehicle("truck", 0, 0, capacity=(1000, 0)),  # volume unlimited
        ]
        stops = [r.Stop(k, k, demand=(10, 1)) for k in (1, 2, 3, 4)] + [
            r.Stop("heavy", 5, demand=(500, 1)),
            r.Stop("huge", 5, demand=(2000, 1)),
        ]
        for engine, solution in for_engines(lambda e: problem(stops, vans, engine=e)):
            plan = sequences(solution)
            self.assertIn("heavy", plan["truck"], engine)
            for van in ("a", "b"):
                self.assertLessEqual(len(plan.get(van, [])), 2, engine)
            self.assertEqual([(u.stop_id, u.dimension) for u in solution.unserved], [("huge", 0)])
            self.assertIn("above every vehicle's capacity (1000) in dimension 1", solution.unserved[0].text)
            for route in solution.routes:
                self.assertEqual(route.visits[-1].load, (0, 0))
        # each vehicle lacks room in another dimension: no single one is named
        mixed = [r.Vehicle("van", 0, 0, capacity=(100, 2)), r.Vehicle("truck", 0, 0, capacity=(1000, 1))]
        (left,) = r.solve(problem([r.Stop(1, 1, demand=(300, 2))], mixed)).unserved
        self.assertEqual((left.reason, left.dimension), (r.REASON_CAPACITY, None))
        self.assertIn("no vehicle has room for its load (300, 2) in every dimension", left.text)
        overloaded = r.Solution(routes=[r.schedule(problem(stops, vans), vans[0], [1, 2, 3])])
        errors = "\n".join(r.check(problem(stops, vans), overloaded))
        self.assertIn("vehicle a carries 3, more than its capacity 2 in dimension 2", errors)
        with self.assertRaisesRegex(r.RoutingError, "cannot be negative"):
            r.solve(problem([r.Stop(1, 1, demand=(1, -1))], vans))

    def test_fixed_break(self):
        """Lunch from 00:30 to 01:00: stop 2 must be served by 00:25, so the driver leaves before
        lunch and stops for it on the way back (the drive resumes after it); a stop that opens at
        00:40 waits for the end of the break; without windows, the driver leaves after lunch."""
        lunch = r.Break(earliest=1800, latest=1800, duration=1800)
        van = r.Vehicle("van", 0, 0, breaks=[lunch])
        stops = [r.Stop(1, 1), r.Stop(2, 2, window_end=1500)]
        p = problem(stops, [van])
        route = r.schedule(p, van, [1, 2])
        self.assertEqual([(b.start, b.end) for b in route.breaks], [(1800, 3600)])
        self.assertEqual(route.end_time, 40 * 60 + 30 * 60, "40 min of driving and the break")
        for engine, solution in for_engines(lambda e: problem(stops, [van], engine=e)):
            self.assertEqual(solution.duration, 70 * 60, engine)
        after_lunch = r.schedule(problem([r.Stop(1, 1), r.Stop(3, 3)], [van]), van, [1, 3])
        self.assertEqual((after_lunch.start_time, after_lunch.breaks), (3600, []))
        late_opening = [r.Stop(1, 1), r.Stop(3, 3, window_start=40 * 60, window_end=90 * 60)]
        for engine, solution in for_engines(lambda e: problem(late_opening, [van], engine=e)):
            visit = {v.stop_id: v for v in solution.routes[0].visits}[3]
            self.assertGreaterEqual(visit.start, 3600, engine)
            self.assertFalse(solution.late_visits, engine)
        # a plan without the break is refused
        no_break = dataclasses.replace(route, breaks=[])
        self.assertIn("without its break 1", "\n".join(r.check(p, r.Solution(routes=[no_break]))))

    def test_flexible_break(self):
        """30 min somewhere between 00:20 and 01:00: taken while waiting for stop 2, which opens
        at 01:00, so it costs nothing; a driver back before 01:00 takes it after the day."""
        rest = r.Break(earliest=1200, latest=3600, duration=1800)
        van = r.Vehicle("van", 0, 0, breaks=[rest])
        stops = [r.Stop(1, 1, window_end=900), r.Stop(2, 2, window_start=3600, window_end=7200)]
        plain = r.solve(problem(stops, [dataclasses.replace(van, breaks=[])], engine="ortools"))
        for engine, solution in for_engines(lambda e: problem(stops, [van], engine=e)):
            self.assertEqual(solution.duration, plain.duration, engine)
            self.assertEqual(len(solution.routes[0].breaks), 1, engine)
            self.assertFalse(r.check(problem(stops, [van]), solution))
        short = r.solve(problem([r.Stop(1, 1)], [van]))
        self.assertEqual(short.routes[0].breaks, [], "back at 00:20: the break is after the day")
        # PyVRP plans without the breaks: a plan the break makes too long for the shift loses the
        # stops that no longer fit, not the break (40 min of driving and 30 of break: 55 min)
        tight = r.Vehicle("van", 0, 0, shift_end=55 * 60, breaks=[r.Break(600, 900, 1800)])
        solution = r.solve(problem([r.Stop(1, 1), r.Stop(2, 2)], [tight], engine="pyvrp"))
        self.assertFalse(solution.error)
        self.assertEqual(sequences(solution), {"van": [1]})

    def test_breaks_of_a_late_shift_and_breaks_one_in_another(self):
        """A driver starting at 12:00 with a break between 11:30 and 14:00 has not had it
        before work: it is in the route. A break that makes the day longer can make another one
        due: both are taken."""
        rest = r.Break(11 * 3600 + 1800, 13 * 3600 + 1800, 1800)
        late_shift = r.Vehicle("van", 0, 0, shift_start=12 * 3600, breaks=[rest])
        stops = [r.Stop(1, 1, window_end=12 * 3600 + 900), r.Stop(5, 5, window_start=15 * 3600)]
        route = r.schedule(problem(stops, [late_shift]), late_shift, [1, 5])
        self.assertEqual(len(route.breaks), 1)
        solution = r.solve(problem(stops, [late_shift]))
        self.assertFalse(solution.error)
        self.assertEqual(len(solution.routes[0].breaks), 1)
        nested = r.Vehicle("van", 0, 0, breaks=[r.Break(0, 4000, 600), r.Break(3600, 3600, 600)])
        # back at 01:05 without breaks: only the fixed one is due, and it makes the other due too
        early = [r.Stop(4, 4, window_end=1300, service=1500)]
        for engine, solution in for_engines(lambda e: problem(early, [nested], engine=e)):
            self.assertFalse(solution.error, engine)
            self.assertEqual(len(solution.routes[0].breaks), 2, engine)

    def test_pyvrp_plans_around_the_lunch_every_driver_takes(self):
        """PyVRP cannot take breaks: the shop's lunch hour, the same for every driver, is taken
        out of its clock, so that its routes keep their windows once the lunch is back."""
        lunch = r.Break(1800, 1800, 1800)
        vans = [r.Vehicle(k, 0, 0, breaks=[lunch]) for k in "ab"]
        model = r._PyvrpModel(problem([r.Stop(1, 1)], vans))
        self.assertEqual([model._squeeze(t) for t in (1000, 2500, 4000)], [1000, 1800, 2200])
        mixed = [vans[0], r.Vehicle("c", 0, 0, breaks=[r.Break(600, 600, 600)])]
        self.assertEqual(r._PyvrpModel(problem([r.Stop(1, 1)], mixed))._squeeze(4000), 4000)
        # stop 5 cannot be reached by 01:06 once lunch is taken on the way: PyVRP sees it
        stops = [r.Stop(1, 1, window_end=900), r.Stop(5, 5, window_end=4000)]
        release = r._release_late

        def nothing_late(sub, plan):
            before = len(plan.unserved)
            release(sub, plan)
            self.assertEqual(len(plan.unserved), before, "the plan keeps its windows with the lunch")

        with patch.object(r, "_release_late", nothing_late):
            solution = r.solve(problem(stops, vans[:1], engine="pyvrp"))
        self.assertEqual([u.stop_id for u in solution.unserved], [5])

    def test_pyvrp_tries_to_serve_one_more_stop(self):
        """When not every stop fits, PyVRP's plan is given a few short searches, each with one
        more stop required, nearest first: stop 2 fits beside stop 1, stop 5 cannot be reached
        in its window; the time of the attempts not made goes back to the search."""
        stops = [r.Stop(1, 1), r.Stop(2, 2), r.Stop(5, 5, window_end=900)]
        model = r._PyvrpModel(problem(stops, time_limit=1, iteration_limit=100))
        durations, distances, types = pyvrp_inputs(model)
        data = model._data(False, durations, distances, types)
        only_stop_1 = model.pyvrp.Solution(data, [[0]])  # clients by their index
        self.assertEqual(model._served(only_stop_1), {1})
        plan, unused = model._serve_more(only_stop_1, durations, distances, types, 1.0)
        self.assertEqual(model._served(plan), {1, 2})
        self.assertTrue(plan.is_feasible())
        self.assertAlmostEqual(unused, 1.0 - 2 * model.ONE_MORE_MIN, msg="two attempts: stop 2, then 5")
        plan, unused = model._serve_more(plan, durations, distances, types, model.ONE_MORE_MIN / 2)
        self.assertEqual((model._served(plan), unused), ({1, 2}, model.ONE_MORE_MIN / 2), "no time for one")

    def test_pyvrp_counts_what_the_vans_can_hold(self):
        """Two vans with room for 10 and 6 (volume) and stops of 1 to 6: at most 5 stops fit
        (1+2+3+4+5 = 15 of 16), so PyVRP does not try to serve every stop; the smaller a stop,
        the larger its prize. The weight dimension has room for all and counts for nothing;
        without a van's maximum of stops, stops are no load dimension of their own."""
        vans = [r.Vehicle("a", 0, 0, capacity=(100, 10)), r.Vehicle("b", 0, 0, capacity=(100, 6))]
        stops = [r.Stop(k, 1 + k % 5, demand=(1, k)) for k in range(1, 7)]
        model = r._PyvrpModel(problem(stops, vans))
        durations, distances, types = pyvrp_inputs(model)
        self.assertEqual(model._data(False, durations, distances, types).num_load_dimensions, 2)
        bound, bonus = model._capacity_bound(types)
        self.assertEqual(bound, 5)
        self.assertEqual(bonus[6], 0, "the bulkiest stop: no bonus")
        self.assertEqual(bonus[1], round(model.problem.penalty_unit * model.BULK_BONUS))
        self.assertEqual(sorted(bonus, key=bonus.get, reverse=True), [1, 2, 3, 4, 5, 6])
        biased = model._data(False, durations, distances, types, bonus=bonus)
        prizes = [c.prize for c in biased.clients()]
        self.assertEqual(prizes[0] - prizes[5], bonus[1])
        # a plan made with the bonus is priced again at equal prizes before it is shortened
        plain = model._data(False, durations, distances, types)
        only_stop_1 = model.pyvrp.Solution(biased, [[0]])
        self.assertEqual(only_stop_1.uncollected_prizes(), sum(prizes[1:]))
        again = model._plan_on(plain, only_stop_1)
        self.assertEqual(again.uncollected_prizes(), 5 * r.drop_penalty(model.problem, stops[0]))
        self.assertEqual(model._served(again), {1})
        # room for every stop on every dimension: no bound, no bonus
        roomy = [dataclasses.replace(v, capacity=(100, 30)) for v in vans]
        model = r._PyvrpModel(problem(stops, roomy))
        self.assertEqual(model._capacity_bound(pyvrp_inputs(model)[2]), (6, {}))
        # a van with a maximum of stops: they are a dimension, and it bounds what is served
        limited = [dataclasses.replace(roomy[0], max_stops=2), dataclasses.replace(roomy[1], max_stops=1)]
        model = r._PyvrpModel(problem(stops, limited))
        durations, distances, types = pyvrp_inputs(model)
        self.assertEqual(model._data(False, durations, distances, types).num_load_dimensions, 3)
        self.assertEqual(model._capacity_bound(types), (3, {}), "all stops alike on that dimension")

    def test_pyvrp_serves_the_most_stops_the_vans_hold(self):
        """The van holds 10: the big stop next door (6) with one small one serves 2 stops; the
        three small ones further out (4+3+3) serve 3, the most. The search does not spend time
        requiring every stop, and ends its first phase once 3 stops are served."""
        van = r.Vehicle("van", 0, 0, capacity=(0, 10), time_cost=0, distance_cost=1)
        stops = [
            r.Stop(1, 1, demand=(0, 6)),
            r.Stop(2, 4, demand=(0, 4)),
            r.Stop(3, 4, demand=(0, 3)),
            r.Stop(4, 5, demand=(0, 3)),
        ]
        runs = []
        run = r._PyvrpModel._run

        def spy(model, data, seconds, initial=None, enough=None):
            best, used = run(model, data, seconds, initial, enough)
            runs.append((all(c.required for c in data.clients()), seconds, enough, used))
            return best, used

        with (
            patch.object(r, "_in_child", r._search),
            patch.object(r, "_pyvrp_strategies", return_value=(r.COUNT_FIRST,)),
            patch.object(r._PyvrpModel, "_run", spy),
        ):
            solution = r.solve(problem(stops, [van], engine="pyvrp", time_limit=1, iteration_limit=400))
        self.assertEqual(sorted(sequences(solution)["van"]), [2, 3, 4])
        self.assertEqual([u.stop_id for u in solution.unserved], [1])
        self.assertFalse(runs[0][0], "no search with every stop required: they cannot all fit")
        self.assertEqual(runs[0][2], 3, "the first phase ends once the vans are full")
        self.assertLess(runs[0][3], runs[0][1], "and gives its time back")
        self.assertAlmostEqual(sum(seconds for _req, seconds, _enough, _used in runs[1:]), 1 - runs[0][3])

    def test_pyvrp_distance_first_search(self):
        """The distance-first search prices each optional stop above a detour to it (urgent
        ones above that again), far below a drop penalty; it then serves one more stop at a
        time and shortens the plan at the drop penalties: the same 3 stops as above, the
        shortest way, the same each time."""
        van = r.Vehicle("van", 0, 0, capacity=(0, 10), time_cost=0, distance_cost=1)
        stops = [
            r.Stop(1, 1, demand=(0, 6)),
            r.Stop(2, 4, demand=(0, 4)),
            r.Stop(3, 4, demand=(0, 3)),
            r.Stop(4, 5, demand=(0, 3), priority=1),
        ]
        p = problem(stops, [van], time_limit=1, iteration_limit=400)
        longest = int(np.asarray(p.distances).max())
        self.assertEqual(p.detour_unit, 1 + 4 * longest)
        self.assertLess(p.detour_unit, p.penalty_unit)
        per_km = dataclasses.replace(p, vehicles=[dataclasses.replace(van, distance_cost=3600)])
        self.assertEqual(per_km.detour_unit, per_km.penalty_unit, "never above a drop penalty")
        model = r._PyvrpModel(p)
        durations, distances, types = pyvrp_inputs(model)
        prizes = [c.prize for c in model._data(False, durations, distances, types, detour=True).clients()]
        self.assertEqual(prizes, [p.detour_unit, p.detour_unit, p.detour_unit, 2 * p.detour_unit])
        plans = [sequences(r._PyvrpModel(p).solve(r.DISTANCE_FIRST)) for _run in range(2)]
        self.assertEqual(plans[0], plans[1])
        self.assertEqual(sorted(plans[0]["van"]), [2, 3, 4], "three stops rather than the bulky one")
        best = r.solve(dataclasses.replace(p, stops=stops[1:], engine="ortools"))
        solution = r._PyvrpModel(p).solve(r.DISTANCE_FIRST)
        self.assertEqual(solution.distance, best.distance)

    def test_pyvrp_runs_both_searches_side_by_side(self):
        """With two cores and memory for two, both PyVRP searches run, each in its child, for
        half the time and iterations; the cheaper plan wins, the one serving more stops first,
        the count-first search's on a tie or when the other fails. Two searches with the next
        seeds then continue it in the other half, side by side too; the cheapest of the three
        plans wins, the one they continued on a tie. One core, or matrices above half the
        budget: only the count-first search, with all the time."""
        stops = [r.Stop(1, 1), r.Stop(2, 2), r.Stop(3, 3)]
        p = problem(stops, engine="pyvrp", time_limit=10)
        van = p.vehicles[0]
        short = r.Solution(routes=[r.schedule(p, van, [1, 2])], engine="pyvrp")
        more = r.Solution(routes=[r.schedule(p, van, [1, 2, 3])], engine="pyvrp")  # 52.4 km
        longer = r.Solution(routes=[r.schedule(p, van, [2, 1, 3])], engine="pyvrp")  # 54.1 km
        failed = r.Solution(engine="pyvrp", error="no plan")
        self.assertLess(r.cost(p, more), r.cost(p, short), "a stop left out costs its penalty")
        self.assertLess(r.cost(p, more), r.cost(p, longer))
        asked = []

        def children(plans, continued=(failed, failed)):
            together = threading.Barrier(2, timeout=10)  # two searches run at once, each round

            def child(problem_, backend, strategy, plan=None):
                asked.append((strategy, problem_.seed, problem_.time_limit, problem_.iteration_limit, plan))
                together.wait()
                return continued[problem_.seed - p.seed - 1] if strategy == r.CONTINUE else plans[strategy]

            return patch.object(r, "_in_child", child)

        def rounds(winner):
            plan = [(route.vehicle_id, [v.stop_id for v in route.visits]) for route in winner.routes]
            return [
                (r.CONTINUE, p.seed + 1, 5, 100, plan),
                (r.CONTINUE, p.seed + 2, 5, 100, plan),
                (r.COUNT_FIRST, p.seed, 5, 100, None),
                (r.DISTANCE_FIRST, p.seed, 5, 100, None),
            ]

        both = (r.COUNT_FIRST, r.DISTANCE_FIRST)
        equal = dataclasses.replace(more, routes=list(more.routes))
        cases = [
            ({r.COUNT_FIRST: short, r.DISTANCE_FIRST: more}, (failed, failed), more, more),
            ({r.COUNT_FIRST: longer, r.DISTANCE_FIRST: more}, (failed, failed), more, more),
            ({r.COUNT_FIRST: more, r.DISTANCE_FIRST: longer}, (failed, failed), more, more),
            ({r.COUNT_FIRST: more, r.DISTANCE_FIRST: equal}, (failed, failed), more, more),
            ({r.COUNT_FIRST: longer, r.DISTANCE_FIRST: failed}, (failed, failed), longer, longer),
            # the continuing searches: a shorter plan wins, a plan as good does not
            ({r.COUNT_FIRST: longer, r.DISTANCE_FIRST: short}, (short, more), longer, more),
            ({r.COUNT_FIRST: more, r.DISTANCE_FIRST: longer}, (equal, longer), more, more),
        ]
        with patch.object(r, "_pyvrp_strategies", return_value=both):
            for plans, continued, continuing, expected in cases:
                asked.clear()
                failures = sum(1 for solution in continued if solution.error)
                with children(plans, continued):
                    if failures:  # the plan found first stands, and the log says why
                        with self.assertLogs(r._logger, "WARNING") as logs:
                            self.assertIs(r._solve_pyvrp(p), expected)
                        self.assertEqual(len(logs.records), failures)
                    else:
                        with self.assertNoLogs(r._logger, "WARNING"):
                            self.assertIs(r._solve_pyvrp(p), expected)
                self.assertEqual(sorted(asked), rounds(continuing))
            # with an iteration limit, the continuing searches keep their share however long
            # the first ones took, so that the plan stays the same
            asked.clear()
            clock = itertools.chain([0.0, 9.0], itertools.repeat(9.0))
            with (
                children({r.COUNT_FIRST: more, r.DISTANCE_FIRST: short}),
                patch.object(r.time, "perf_counter", side_effect=clock),
                self.assertLogs(r._logger, "WARNING"),
            ):
                self.assertIs(r._solve_pyvrp(p), more)
            self.assertEqual(sorted(asked), rounds(more))
            asked.clear()
            with children({r.COUNT_FIRST: failed, r.DISTANCE_FIRST: failed}):
                self.assertIs(r._solve_pyvrp(p), failed)
            self.assertEqual(len(asked), 2, "nothing to continue")
            # without an iteration limit, the continuing searches get the time left after the
            # first ones (their child processes take time to start), at least half their share
            timed = dataclasses.replace(p, iteration_limit=None)
            for first_took, expected in ((5.4, 4.6), (9.0, 2.5)):
                asked.clear()
                clock = itertools.chain([0.0, first_took], itertools.repeat(first_took))
                with (
                    children({r.COUNT_FIRST: more, r.DISTANCE_FIRST: short}),
                    patch.object(r.time, "perf_counter", side_effect=clock),
                ):
                    self.assertIs(r._solve_pyvrp(timed), more)
                limits = sorted((strategy, limit) for strategy, _seed, limit, _iterations, _plan in asked)
                self.assertEqual([strategy for strategy, _limit in limits], [r.CONTINUE, r.CONTINUE, *both])
                self.assertAlmostEqual(limits[0][1], expected)
                self.assertEqual([limit for _strategy, limit in limits[2:]], [5, 5])
            # under 4 s: both searches side by side all the time, no continuing
            asked.clear()
            with children({r.COUNT_FIRST: longer, r.DISTANCE_FIRST: more}):
                self.assertIs(r._solve_pyvrp(dataclasses.replace(p, time_limit=3.9)), more)
            self.assertEqual(
                sorted(asked),
                [(r.COUNT_FIRST, p.seed, 3.9, 200, None), (r.DISTANCE_FIRST, p.seed, 3.9, 200, None)],
            )
            asked.clear()
            with (
                children({r.COUNT_FIRST: longer, r.DISTANCE_FIRST: more}),
                self.assertLogs(r._logger, "WARNING"),
            ):
                self.assertIs(r._solve_pyvrp(dataclasses.replace(p, time_limit=4)), more)
            self.assertEqual(len(asked), 4, "4 s: the plan is continued")
        with (
            patch.object(r, "_cpu_cores", return_value=2),
            patch.object(r, "_child_python", return_value=sys.executable),
        ):
            self.assertEqual(r._pyvrp_strategies(p), both)
            with patch.object(r, "PYVRP_MATRIX_BUDGET", 2 * r._pyvrp_bytes(p) - 1):
                self.assertEqual(r._pyvrp_strategies(p), (r.COUNT_FIRST,))
            with patch.object(r, "_child_python", return_value=""):
                self.assertEqual(r._pyvrp_strategies(p), (r.COUNT_FIRST,))
        with patch.object(r, "_cpu_cores", return_value=1):
            self.assertEqual(r._pyvrp_strategies(p), (r.COUNT_FIRST,))
            asked.clear()
            with patch.object(r, "_in_child", lambda *args: asked.append(args) or short):
                self.assertIs(r._solve_pyvrp(p), short)
            self.assertEqual(asked, [(p, "pyvrp", r.COUNT_FIRST)], "the problem with all its time")

    def test_cpu_cores_follow_a_containers_quota(self):
        """A container given 1.5 CPUs on a 4-core machine has one whole core for the searches:
        PyVRP's two searches side by side would each get three quarters of one."""

        def cores(cgroup_line, files):
            with tempfile.TemporaryDirectory() as root:
                for path, text in files.items():
                    os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
                    pathlib.Path(root, path).write_text(text)
                pathlib.Path(root, "self").write_text(cgroup_line + "\n")
                with patch.object(os, "sched_getaffinity", return_value={0, 1, 2, 3}):
                    return r._cpu_cores(os.path.join(root, "self"), root)

        # cgroup v2: the process's own group, or a group above it, whichever allows less
        self.assertEqual(cores("0::/lxc/app", {"lxc/app/cpu.max": "150000 100000\n"}), 1)
        self.assertEqual(
            cores("0::/lxc/app", {"lxc/app/cpu.max": "max 100000\n", "lxc/cpu.max": "300000 100000\n"}), 3
        )
        self.assertEqual(cores("0::/lxc/app", {"cpu.max": "800000 100000\n"}), 4, "more quota than cores")
        self.assertEqual(cores("0::/", {"cpu.max": "20000 100000\n"}), 1, "at least one core")
        self.assertEqual(cores("0::/", {"cpu.max": "max 100000\n"}), 4)
        # cgroup v1, the cpu controller mounted with cpuacct; -1: no quota
        v1 = "4:cpu,cpuacct:/docker/abc"
        quota = {"cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"}
        self.assertEqual(cores(v1, {**quota, "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "200000\n"}), 2)
        self.assertEqual(cores(v1, {**quota, "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "-1\n"}), 4)
        # nothing to read, or nonsense: the affinity alone
        self.assertEqual(cores("0::/lxc/app", {}), 4)
        self.assertEqual(cores("0::/", {"cpu.max": "lots\n"}), 4)
        self.assertEqual(cores("0::/system.slice/café.service", {"cpu.max": "100000 100000\n"}), 4)
        with patch.object(os, "sched_getaffinity", return_value={0, 1}):
            self.assertEqual(r._cpu_cores("/nonexistent/cgroup", "/nonexistent"), 2)

    def test_pyvrp_continues_a_plan(self):
        """The search that continues a plan starts from it, with every optional stop worth a
        detour: the locked stop of a driver on the road stays first, and a poor plan becomes
        the best one. A pickup-and-delivery pair is continued as PyVRP's shipment."""
        now, vans, stops = road_day()
        p = problem(stops, vans, engine="pyvrp", time_limit=1)
        poor = [("road", [2, 5, 4]), ("depot", [3, 6])]
        start = r.Solution(
            routes=[r.schedule(p, vans[0], poor[0][1], now), r.schedule(p, vans[1], poor[1][1])]
        )
        self.assertEqual(r.check(p, start), [])
        optimum = brute_force(dataclasses.replace(p, engine="auto"))
        self.assertGreater(r.cost(p, start), optimum)

        def plan_from(model, plan):
            durations, distances, profile_of = model._profiles()
            types, groups = model._vehicle_types(profile_of)
            return model._plan_from(
                model._data(False, durations, distances, types, detour=True), plan, groups
            )

        model = r._PyvrpModel(p)
        self.assertEqual(model._served(plan_from(model, poor)), {3, 4, 5, 6}, "the locked stop left out")
        self.assertEqual(len(plan_from(model, [("road", [2]), ("depot", [3])]).routes()), 1)
        with self.assertRaises(KeyError):
            plan_from(model, [("depot", ["elsewhere"])])
        data, run = r._PyvrpModel._data, r._PyvrpModel._run
        asked, started = [], []

        def spy(model, required_all, *args, **kwargs):
            asked.append((required_all, kwargs.get("detour")))
            return data(model, required_all, *args, **kwargs)

        def run_spy(model, data_, seconds, initial=None, enough=None):
            groups = model._vehicle_types(model._profiles()[2])[1]
            started.append((initial.is_feasible(), sequences(model._read(initial, groups)), seconds))
            return run(model, data_, seconds, initial, enough)

        with patch.object(r._PyvrpModel, "_data", spy), patch.object(r._PyvrpModel, "_run", run_spy):
            found = r._PyvrpModel(p).solve(r.CONTINUE, poor)
            self.assertEqual(
                started, [(True, dict(poor), 1)], "the search starts from the plan, all its time"
            )
            self.assertEqual(r.cost(p, found), optimum)
            self.assertEqual(sequences(found)["road"][0], 2)
            # a plan that leaves stop 5 out: stops are optional, each worth a detour
            found = r._PyvrpModel(p).solve(r.CONTINUE, [("road", [2, 4]), ("depot", [3, 6])])
            self.assertEqual(r.cost(p, found), optimum)
        self.assertEqual(asked, [(True, False), (False, True)], "every stop required when all are served")
        pair = [r.Stop("p", 2, is_pickup=True), r.Stop("d", 4, demand=1, pickup_id="p"), r.Stop("x", 1)]
        p = problem(pair, [r.Vehicle("a", 0, 0, capacity=1), r.Vehicle("b", 0, 0, capacity=1)], time_limit=1)
        model = r._PyvrpModel(p)
        plan = [("a", ["x"]), ("b", ["p", "d"])]
        kinds = [[a.type for a in route.schedule()] for route in plan_from(model, plan).routes()]
        kind = model.pyvrp.ActivityType
        self.assertEqual([k[1:-1] for k in kinds], [[kind.CLIENT], [kind.PICKUP, kind.DELIVERY]])
        found = [seq for seq in sequences(r._PyvrpModel(p).solve(r.CONTINUE, plan)).values() if "p" in seq]
        self.assertLess(found[0].index("p"), found[0].index("d"))

    def test_check_of_breaks(self):
        lunch = r.Break(1800, 1800, 1800)
        van = r.Vehicle("van", 0, 0, breaks=[lunch, r.Break(3600, 3600, 600)])
        p = problem([r.Stop(1, 1), r.Stop(2, 2, window_end=1500)], [van])
        route = r.schedule(p, van, [1, 2])
        self.assertEqual(r.check(p, r.Solution(routes=[route])), [])

        def errors(breaks):
            return "\n".join(r.check(p, r.Solution(routes=[dataclasses.replace(route, breaks=breaks)])))

        self.assertIn(
            "takes a break at place 7 of a route of 2 stops",
            errors([dataclasses.replace(b, position=7) for b in route.breaks]),
        )
        at_once = [
            dataclasses.replace(b, start=1800, end=1800 + van.breaks[b.index].duration) for b in route.breaks
        ]
        self.assertIn("outside its window or at work", errors(at_once))

    def test_pairs_with_a_maximum_of_stops_go_to_ortools(self):
        stops = [r.Stop("p", 2, is_pickup=True), r.Stop("d", 4, demand=1, pickup_id="p")]
        vans = [r.Vehicle("a", 0, 0, max_stops=1), r.Vehicle("b", 0, 0, max_stops=2)]
        with self.assertRaisesRegex(r.RoutingError, "pairs with a maximum of stops"):
            r.solve(problem(stops, vans, engine="pyvrp"))
        solution = r.solve(problem(stops, vans))
        self.assertEqual(solution.engine, "ortools")
        self.assertEqual(sequences(solution), {"b": ["p", "d"]})

    def test_deterministic_with_restrictions(self):
        pts = [(0, 0), *[(math.cos(k) * k, math.sin(k) * k) for k in range(1, 30)]]
        matrix = np.asarray([[round(math.dist(a, b) * 60) for b in pts] for a in pts])
        vans = [r.Vehicle(k, 0, 0, capacity=(10, 4), breaks=[r.Break(600, 1800, 300)]) for k in range(4)]
        stops = [
            r.Stop(
                i,
                i,
                demand=(1, 1),
                vehicle_ids=(0, 1) if i % 3 == 0 else None,
                preferred_vehicle_ids=(2,) if i % 4 == 0 else None,
            )
            for i in range(1, len(pts))
        ]
        for engine in ("ortools", "pyvrp"):
            runs = [
                sequences(
                    r.solve(
                        r.Problem(
                            durations=matrix,
                            distances=matrix,
                            vehicles=vans,
                            stops=stops,
                            preference_cost=120,
                            time_limit=30,
                            iteration_limit=300,
                            seed=7,
                            engine=engine,
                        )
                    )
                )
                for _run in range(2)
            ]
            self.assertEqual(runs[0], runs[1], engine)


@tagged("-at_install", "post_install")
class TestMergeStops(BaseCase):
    def test_orders_to_one_door_become_one_visit(self):
        stops = [
            r.Stop(id=3, location=1, demand=5, window_start=0, window_end=100, service=60),
            r.Stop(id=1, location=1, demand=7, window_start=50, window_end=200, service=120),
            r.Stop(id=2, location=1, demand=1, window_start=300, window_end=400, service=60),
        ]
        (visit, ids), (late_visit, late_ids) = r.merge_stops(stops)
        self.assertEqual(ids, [3, 1])
        self.assertEqual(
            (visit.id, visit.demand, visit.window_start, visit.window_end, visit.service),
            (3, 12, 50, 100, 120),
        )
        self.assertEqual((late_visit.id, late_ids), (2, [2]), "windows that do not overlap are two visits")

    def test_only_stops_with_the_same_place_and_rules_merge(self):
        with self.assertRaises(r.RoutingError):
            r.merge_stops([r.Stop(id=1, location=1), r.Stop(id=2, location=1, vehicle_id="a")])
