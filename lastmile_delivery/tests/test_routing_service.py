"""The routing engine, without a database: small instances whose optimum is known by hand."""

import math

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


def sequences(solution):
    return {route.vehicle_id: [visit.stop_id for visit in route.visits] for route in solution.routes}


@tagged("-at_install", "post_install")
class TestRoutingEngine(BaseCase):
    def for_engines(self, build, engines=("ortools", "pyvrp")):
        return [(engine, r.solve(build(engine))) for engine in engines]

    def test_known_optimum_single_vehicle(self):
        """East to the far stop, across the diagonal, north back home: 68.28 km (10+10+28.28+
        10+10), shorter than two out-and-back trips (80 km)."""
        stops = [r.Stop(i, i) for i in range(1, 5)]
        for engine, solution in self.for_engines(lambda e: problem(stops, engine=e)):
            self.assertEqual(solution.distance, 68283, engine)
            self.assertEqual(solution.duration, 600 + 600 + 1697 + 600 + 600, engine)
            self.assertIn(sequences(solution)["van"], ([1, 2, 4, 3], [3, 4, 2, 1]), engine)
            self.assertFalse(solution.unserved)

    def test_capacity_splits_routes(self):
        vans = [r.Vehicle("a", 0, 0, capacity=10), r.Vehicle("b", 0, 0, capacity=10)]
        stops = [r.Stop(i, i, demand=5) for i in range(1, 5)]
        for _engine, solution in self.for_engines(lambda e: problem(stops, vans, engine=e)):
            routes = sorted(sorted(seq) for seq in sequences(solution).values())
            self.assertEqual(routes, [[1, 2], [3, 4]])
            for route in solution.routes:
                self.assertEqual(route.visits[0].load, 5, "leaves with 10, 5 left after the first stop")
                self.assertEqual(route.visits[-1].load, 0)

    def test_time_windows_order_the_route(self):
        """Stop 2 closes at minute 20 and stop 1 opens at minute 30: the route serves 2 first."""
        stops = [
            r.Stop(1, 1, window_start=30 * 60, window_end=3600),
            r.Stop(2, 2, window_start=0, window_end=20 * 60),
        ]
        for engine, solution in self.for_engines(lambda e: problem(stops, engine=e)):
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
        self.assertIn("time window", late.unserved[0].detail)

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
        for _engine, solution in self.for_engines(lambda e: problem(stops, vans, engine=e)):
            served = [v.stop_id for v in solution.routes[0].visits]
            self.assertEqual(len(served), 2, "one arm of 40 min fits in 45 min, not two")
            self.assertEqual(len(solution.unserved), 2)
            self.assertTrue(all(u.reason == r.REASON_DROPPED for u in solution.unserved))

    def test_several_depots(self):
        vans = [r.Vehicle("east", 2, 2), r.Vehicle("north", 4, 4)]
        stops = [r.Stop(1, 1), r.Stop(3, 3)]
        for _engine, solution in self.for_engines(lambda e: problem(stops, vans, engine=e)):
            self.assertEqual(sequences(solution), {"east": [1], "north": [3]})

    def test_pinned_stop(self):
        vans = [r.Vehicle("east", 2, 2), r.Vehicle("north", 4, 4)]
        stops = [r.Stop(1, 1, vehicle_id="north"), r.Stop(3, 3)]
        solution = r.solve(problem(stops, vans, engine="auto"))
        self.assertEqual(solution.engine, "ortools")
        self.assertEqual(sorted(sequences(solution)["north"]), [1, 3])

    def test_locked_prefix_and_driver_on_the_road(self):
        """The driver is at stop 3's place at 10:00 with stop 4 under way: 4 stays first; the new
        stops 1 and 2 come after, from there."""
        now = 10 * 3600
        van = r.Vehicle("van", start=3, end=0, shift_start=now, shift_end=now + 4 * 3600, locked=[4])
        stops = [r.Stop(4, 4), r.Stop(1, 1), r.Stop(2, 2)]
        solution = r.solve(problem(stops, [van], engine="auto"))
        self.assertEqual(solution.engine, "ortools")
        route = solution.routes[0]
        self.assertEqual([v.stop_id for v in route.visits][0], 4)
        self.assertEqual(sorted(v.stop_id for v in route.visits), [1, 2, 4])
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
        for _engine, solution in self.for_engines(lambda e: problem(stops, vans, engine=e)):
            owner = [seq for seq in sequences(solution).values() if "p" in seq]
            self.assertEqual(len(owner), 1)
            self.assertIn("d", owner[0])
            self.assertLess(owner[0].index("p"), owner[0].index("d"))
            loads = {v.stop_id: v.load for route in solution.routes for v in route.visits}
            self.assertEqual(loads["d"], loads["p"] - 7)

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
        for _engine, solution in self.for_engines(
            lambda e: problem(stops, [r.Vehicle("van", 0, None)], engine=e)
        ):
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
        solution = r.solve(problem(stops, vans, engine="auto"))
        self.assertEqual(solution.engine, "ortools")
        self.assertIn(1, sequences(solution)["north"])
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
        for engine, solution in self.for_engines(lambda e: problem(stops, vans, engine=e)):
            self.assertEqual(sorted(len(seq) for seq in sequences(solution).values()), [2, 2], engine)
