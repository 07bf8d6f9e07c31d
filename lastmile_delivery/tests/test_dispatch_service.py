"""The dispatch engine, without a database."""

from datetime import datetime, timedelta

from odoo.tests import BaseCase, tagged

from ..services import dispatch as engine
from ..services.geo import haversine_km

DAY = datetime(2026, 11, 20)
SHIFT = [(DAY.replace(hour=8), DAY.replace(hour=17))]
# Points in Brussels: Grand-Place, Gare du Midi, Atomium
GRAND_PLACE = (50.8467, 4.3525)
MIDI = (50.8357, 4.3365)
ATOMIUM = (50.8949, 4.3415)


def task(id_, point=GRAND_PLACE, start=9, end=12, **kw):
    return engine.TaskInput(
        id=id_,
        latitude=point[0],
        longitude=point[1],
        window_start=DAY.replace(hour=start),
        window_end=DAY.replace(hour=end),
        **kw,
    )


def driver(id_, point=MIDI, shifts=SHIFT, **kw):
    return engine.DriverInput(
        id=id_, name=f"D{id_}", latitude=point[0], longitude=point[1], shifts=shifts, **kw
    )


@tagged("-at_install", "post_install")
class TestDispatchEngine(BaseCase):
    def test_haversine(self):
        self.assertAlmostEqual(haversine_km(*GRAND_PLACE, *ATOMIUM), 5.43, delta=0.05)
        self.assertEqual(haversine_km(*MIDI, *MIDI), 0.0)

    def test_nearest_driver_wins(self):
        near, far = driver(1, GRAND_PLACE), driver(2, ATOMIUM)
        result = engine.dispatch([task(10)], [far, near])
        self.assertEqual([a.driver_id for a in result.assignments], [1])
        self.assertFalse(result.unassigned)
        self.assertLess(result.assignments[0].distance_km, 0.01)

    def test_workload_is_balanced(self):
        """Two drivers at the same place: four tasks split two and two."""
        drivers = [driver(1), driver(2)]
        result = engine.dispatch(
            [task(i) for i in range(4)], drivers, engine.Weights(distance=0, stops=1, hours=0)
        )
        per_driver = [a.driver_id for a in result.assignments]
        self.assertEqual(sorted(per_driver.count(d) for d in (1, 2)), [2, 2])

    def test_workload_counts_already_planned_stops(self):
        busy = driver(1, GRAND_PLACE, planned_stops=8, planned_minutes=240)
        idle = driver(2, MIDI)
        result = engine.dispatch([task(1)], [busy, idle])
        self.assertEqual(result.assignments[0].driver_id, 2)
        self.assertEqual(result.assignments[0].stops_before, 0)

    def test_capacity_limits(self):
        small = driver(1, GRAND_PLACE, capacity_weight=10)
        big = driver(2, ATOMIUM, capacity_weight=100)
        result = engine.dispatch([task(1, weight=50)], [small, big])
        self.assertEqual(result.assignments[0].driver_id, 2)
        # the big van fills up: the next heavy task has no room anywhere
        result = engine.dispatch([task(2, weight=60)], [small, big])
        self.assertEqual(result.unassigned[0].reason, engine.REASON_CAPACITY)
        self.assertIn("most room left: 50.0 kg", result.unassigned[0].text)

    def test_load_above_every_vehicle(self):
        result = engine.dispatch(
            [task(1, weight=500)], [driver(1, capacity_weight=100), driver(2, capacity_weight=200)]
        )
        self.assertEqual(result.unassigned[0].reason, engine.REASON_CAPACITY)
        self.assertIn("more than the largest vehicle carries (200.0 kg)", result.unassigned[0].text)

    def test_volume_and_stop_limits(self):
        result = engine.dispatch([task(1, volume=2)], [driver(1, capacity_volume=1)])
        self.assertEqual(result.unassigned[0].reason, engine.REASON_CAPACITY)
        result = engine.dispatch([task(1), task(2)], [driver(1, max_stops=1)])
        self.assertEqual(len(result.assignments), 1)
        self.assertEqual(result.unassigned[0].reason, engine.REASON_STOPS)

    def test_shift_must_cover_window(self):
        morning = driver(1, GRAND_PLACE, shifts=[(DAY.replace(hour=6), DAY.replace(hour=10))])
        evening = driver(2, ATOMIUM, shifts=[(DAY.replace(hour=16), DAY.replace(hour=22))])
        result = engine.dispatch([task(1, start=18, end=20)], [morning, evening])
        self.assertEqual(result.assignments[0].driver_id, 2)
        self.assertEqual(result.assignments[0].eta, DAY.replace(hour=18))
        result = engine.dispatch([task(2, start=12, end=14)], [morning, evening])
        self.assertEqual(result.unassigned[0].reason, engine.REASON_SHIFT)

    def test_service_time_must_fit_in_overlap(self):
        """A shift ending 3 minutes into the window cannot take a 5-minute stop."""
        late = driver(1, shifts=[(DAY.replace(hour=6), DAY.replace(hour=9, minute=3))])
        result = engine.dispatch([task(1, start=9, end=12, service_minutes=5)], [late])
        self.assertEqual(result.unassigned[0].reason, engine.REASON_SHIFT)

    def test_only_rule(self):
        fridge = driver(1, ATOMIUM)
        near = driver(2, GRAND_PLACE)
        cold = task(1, allowed_driver_ids=frozenset({1}), only_rules=("Refrigerated",))
        result = engine.dispatch([cold], [fridge, near])
        self.assertEqual(result.assignments[0].driver_id, 1)
        self.assertEqual(result.assignments[0].rules, ("Refrigerated",))
        nobody = task(2, allowed_driver_ids=frozenset(), only_rules=("Refrigerated",))
        result = engine.dispatch([nobody], [near])
        self.assertEqual(result.unassigned[0].reason, engine.REASON_RULE)
        self.assertIn("Refrigerated", result.unassigned[0].text)

    def test_prefer_rule_outweighs_small_detour(self):
        preferred = driver(1, MIDI)  # ~1.7 km from the Grand-Place
        near = driver(2, GRAND_PLACE)
        result = engine.dispatch(
            [task(1, preferred={1: ("VIP",)})], [preferred, near], engine.Weights(preference=5)
        )
        self.assertEqual(result.assignments[0].driver_id, 1)
        self.assertEqual(result.assignments[0].rules, ("VIP",))
        # a preference never beats a much shorter trip when its bonus is small
        result = engine.dispatch(
            [task(2, preferred={1: ("VIP",)})], [preferred, near], engine.Weights(preference=0.5)
        )
        self.assertEqual(result.assignments[0].driver_id, 2)

    def test_address_and_no_driver(self):
        result = engine.dispatch([task(1, point=(0.0, 0.0))], [driver(1)])
        self.assertEqual(result.unassigned[0].reason, engine.REASON_ADDRESS)
        result = engine.dispatch([task(2, address_issue="street not found")], [driver(1)])
        self.assertEqual(result.unassigned[0].text, "street not found")
        result = engine.dispatch([task(3)], [])
        self.assertEqual(result.unassigned[0].reason, engine.REASON_NO_DRIVER)

    def test_priority_and_window_order(self):
        """The urgent task chooses first and gets the only slot."""
        normal, urgent = task(1, end=10), task(2, end=12, priority=1)
        result = engine.dispatch([normal, urgent], [driver(1, max_stops=1)])
        self.assertEqual(result.assignments[0].task_id, 2)
        self.assertEqual(result.unassigned[0].task_id, 1)

    def test_position_and_eta_follow_the_route(self):
        """After a stop the driver is there: the next stop is measured from it, ETAs grow."""
        d = driver(1, MIDI)
        travel = engine.TravelModel(road_factor=1.0, speed_kmh=60)
        result = engine.dispatch(
            [task(1, GRAND_PLACE, start=9, end=9), task(2, ATOMIUM, start=9, end=11)], [d], travel=travel
        )
        first, second = result.assignments
        self.assertEqual((first.sequence, second.sequence), (1, 2))
        self.assertAlmostEqual(second.distance_km, haversine_km(*GRAND_PLACE, *ATOMIUM), places=6)
        expected = DAY.replace(hour=9) + timedelta(minutes=5 + second.distance_km)
        self.assertAlmostEqual((second.eta - expected).total_seconds(), 0, delta=1)
        self.assertEqual(d.planned_stops, 2)

    def test_deterministic(self):
        drivers = lambda: [driver(i, MIDI) for i in range(5)]  # noqa: E731
        tasks = lambda: [task(i, GRAND_PLACE) for i in range(20)]  # noqa: E731
        first = [(a.task_id, a.driver_id) for a in engine.dispatch(tasks(), drivers()).assignments]
        second = [(a.task_id, a.driver_id) for a in engine.dispatch(tasks(), drivers()).assignments]
        self.assertEqual(first, second)

    # ------------------------------------------------------------------ the real ETA

    def test_first_stop_counts_the_trip_from_the_start(self):
        """A driver starting at 8:00 at the Atomium reaches the Grand-Place after the drive."""
        travel = engine.TravelModel(road_factor=1.0, speed_kmh=60)
        result = engine.dispatch(
            [task(1, GRAND_PLACE, start=8, end=9)], [driver(1, ATOMIUM)], travel=travel, now=DAY
        )
        drive = haversine_km(*ATOMIUM, *GRAND_PLACE)  # minutes at 60 km/h
        expected = DAY.replace(hour=8) + timedelta(minutes=drive)
        self.assertAlmostEqual((result.assignments[0].eta - expected).total_seconds(), 0, delta=1)
        self.assertEqual(result.assignments[0].late_minutes, 0)

    def test_late_eta_is_told_not_clamped(self):
        """Busy until 11:30, the only driver reaches a 9:00-11:00 delivery at 11:30 and some:
        the ETA says so, and so does the lateness."""
        busy = driver(1, GRAND_PLACE, available_from=DAY.replace(hour=11, minute=30), planned_stops=6)
        result = engine.dispatch([task(1, GRAND_PLACE, start=9, end=11)], [busy])
        assignment = result.assignments[0]
        self.assertEqual(assignment.eta, DAY.replace(hour=11, minute=30))
        self.assertAlmostEqual(assignment.late_minutes, 30)

    def test_on_time_driver_beats_a_nearer_late_one(self):
        near_but_busy = driver(1, GRAND_PLACE, available_from=DAY.replace(hour=11, minute=30))
        far_but_free = driver(2, ATOMIUM)
        result = engine.dispatch([task(1, GRAND_PLACE, start=9, end=11)], [near_but_busy, far_but_free])
        self.assertEqual(result.assignments[0].driver_id, 2)
        self.assertEqual(result.assignments[0].late_minutes, 0)

    def test_shift_fit_uses_the_time_already_planned(self):
        """Booked until 16:58 on a shift ending at 17:00, the driver has no room for a 5-minute
        stop: it stays unassigned, and says why."""
        booked = driver(1, GRAND_PLACE, available_from=DAY.replace(hour=16, minute=58))
        result = engine.dispatch([task(1, GRAND_PLACE, start=9, end=17)], [booked])
        self.assertEqual(result.unassigned[0].reason, engine.REASON_SHIFT)
        self.assertIn("no time left", result.unassigned[0].text)

    def test_nobody_is_free_before_now(self):
        """At 10:00, a driver idle since 8:00 starts from now: the ETA is not in the past."""
        now = DAY.replace(hour=10)
        result = engine.dispatch([task(1, GRAND_PLACE, start=9, end=12)], [driver(1, GRAND_PLACE)], now=now)
        self.assertEqual(result.assignments[0].eta, now)
        late = engine.dispatch([task(2, GRAND_PLACE, start=8, end=9)], [driver(1, GRAND_PLACE)], now=now)
        self.assertEqual(late.assignments[0].eta, now)
        self.assertAlmostEqual(late.assignments[0].late_minutes, 60)

    def test_unknown_position_counts_no_trip_and_comes_last(self):
        nowhere = driver(1, (0.0, 0.0))
        result = engine.dispatch([task(1, GRAND_PLACE, start=8, end=9)], [nowhere], now=DAY)
        assignment = result.assignments[0]
        self.assertEqual(assignment.eta, DAY.replace(hour=8), "no 5,700 km trip from (0, 0)")
        self.assertFalse(assignment.located)
        result = engine.dispatch([task(2, GRAND_PLACE)], [driver(1, (0.0, 0.0)), driver(2, ATOMIUM)])
        self.assertEqual(result.assignments[0].driver_id, 2)
