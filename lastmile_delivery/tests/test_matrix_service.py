"""Travel matrices without a database; OSRM mocked at the HTTP boundary."""

from unittest.mock import MagicMock

import requests

from odoo.tests import BaseCase, tagged

from ..services import matrix as m
from .common import osrm_table

POINTS = [(50.8466, 4.3528), (50.8949, 4.3415), (50.8357, 4.3365)]


def response(status=200, payload=None, error=None):
    session = MagicMock()
    if error:
        session.get.side_effect = error
    else:
        session.get.return_value.status_code = status
        session.get.return_value.json.return_value = payload
    return session


@tagged("-at_install", "post_install")
class TestMatrix(BaseCase):
    def setUp(self):
        super().setUp()
        m.CACHE.clear()
        m.FAILURES.clear()

    def test_straight_line(self):
        matrix = m.StraightLineMatrix(road_factor=1.0, speed_kmh=60).compute(POINTS)
        self.assertEqual(matrix.distances.shape, (3, 3))
        self.assertAlmostEqual(matrix.distances[0, 1], 5430, delta=30)
        self.assertAlmostEqual(matrix.durations[0, 1], 5430 * 60 / 1000, delta=3)  # 60 km/h: 1 s per 16.7 m
        self.assertEqual(matrix.distances[1, 1], 0)
        doubled = m.StraightLineMatrix(road_factor=2.0, speed_kmh=60).compute(POINTS)
        self.assertAlmostEqual(doubled.distances[0, 1], 2 * matrix.distances[0, 1], delta=2)
        with self.assertRaises(m.MatrixError):
            m.StraightLineMatrix(road_factor=0.5)

    def test_osrm_table(self):
        payload = {"code": "Ok", "durations": [[0, 600, 300]] * 3, "distances": [[0, 7000, 2500]] * 3}
        session = response(payload=payload)
        matrix = m.OsrmMatrix("http://osrm.example:5000/", timeout=3, session=session).compute(POINTS)
        self.assertEqual(matrix.durations[0, 1], 600)
        self.assertEqual(matrix.provider, "osrm")
        url = session.get.call_args.args[0]
        self.assertEqual(
            url,
            "http://osrm.example:5000/table/v1/driving/4.352800,50.846600;4.341500,50.894900;4.336500,50.835700",
        )
        self.assertEqual(session.get.call_args.kwargs["timeout"], 3)

    def test_osrm_failures_fall_back_to_straight_line(self):
        fallback = m.StraightLineMatrix()
        cases = [
            (response(error=requests.Timeout()), "did not answer within 3 s"),
            (response(error=requests.ConnectionError("refused")), "could not be reached"),
            (response(status=502), "HTTP 502"),
            (response(payload={"code": "InvalidQuery", "message": "bad coords"}), "bad coords"),
            (response(payload={"code": "Ok", "durations": "garbage"}), "not a travel table"),
            (response(payload={"code": "Ok", "durations": [[0]], "distances": [[0]]}), "wrong size"),
        ]
        for session, message in cases:
            m.FAILURES.clear()
            provider = m.OsrmMatrix("http://osrm.example", timeout=3, session=session)
            with self.assertRaisesRegex(m.MatrixError, message):
                provider.compute(POINTS)
            matrix = m.travel_matrix(POINTS, provider, fallback=fallback)
            self.assertEqual(matrix.provider, "straight_line")
            self.assertIn("Straight-line estimates used", matrix.warning)

    def test_cache(self):
        session = response(payload={"code": "Ok", "durations": [[0, 1, 1]] * 3, "distances": [[0, 1, 1]] * 3})
        provider = m.OsrmMatrix("http://osrm.example", session=session)
        m.travel_matrix(POINTS, provider)
        m.travel_matrix(POINTS, provider)
        self.assertEqual(session.get.call_count, 1)
        with self.assertRaises(m.MatrixError):
            m.OsrmMatrix("osrm.example")

    def test_a_failed_server_is_not_asked_again_for_a_minute(self):
        """A plan that needs several matrices (a dispatch into several routes) waits for a down
        OSRM server once, not once per matrix."""
        fallback, now = m.StraightLineMatrix(), [1000.0]
        session = response(error=requests.Timeout())
        provider = m.OsrmMatrix("http://osrm.example", timeout=3, session=session)
        for points in (POINTS, POINTS[:2], POINTS[1:]):
            matrix = m.travel_matrix(points, provider, fallback=fallback, clock=lambda: now[0])
            self.assertEqual(matrix.provider, "straight_line")
        self.assertEqual(session.get.call_count, 1)
        self.assertIn("not asked again for a minute", matrix.warning)
        now[0] += 61  # a minute later it is asked again, and answers
        session.get.side_effect = None
        session.get.return_value.status_code = 200
        session.get.return_value.json.return_value = {
            "code": "Ok",
            "durations": [[0, 1, 1]] * 3,
            "distances": [[0, 1, 1]] * 3,
        }
        self.assertEqual(
            m.travel_matrix(POINTS, provider, fallback=fallback, clock=lambda: now[0]).provider, "osrm"
        )
        self.assertEqual(session.get.call_count, 2)

    def test_osrm_blocks_within_the_table_limit_and_unroutable_pairs(self):
        """A server answering at most 2 × 2 places (its table limit) is asked in blocks that
        fill the whole table; a pair it cannot route gets the straight-line estimate, only that
        pair, and the matrix says so."""
        points = [*POINTS, (50.8200, 4.4000), (50.8700, 4.3000)]
        road = {(i, j): 100 * i + j for i in range(5) for j in range(5)}
        asked = []

        def trip(a, b):
            i, j = points.index(a), points.index(b)
            return None if (i, j) == (3, 4) else (road[i, j], road[i, j])

        table = osrm_table(trip, 2, asked)
        session = MagicMock()
        session.get.side_effect = table
        fallback = m.StraightLineMatrix()
        matrix = m.OsrmMatrix(
            "http://osrm.example", session=session, table_limit=2, fallback=fallback
        ).compute(points)
        self.assertEqual(len(asked), 9, "3 blocks of sources × 3 of destinations")
        straight = fallback.compute(points)
        for i in range(5):
            for j in range(5):
                if i == j:
                    self.assertEqual(matrix.durations[i, j], 0)
                elif (i, j) == (3, 4):
                    self.assertEqual(matrix.durations[i, j], straight.durations[i, j])
                    self.assertEqual(matrix.distances[i, j], straight.distances[i, j])
                else:
                    self.assertEqual(matrix.durations[i, j], road[i, j], (i, j))
        self.assertEqual(matrix.provider, "osrm")
        self.assertIn("no road for 1 of the 20 trips", matrix.warning)
        self.assertEqual(matrix.durations.dtype, "int64")
        # a block that fails makes the whole table fail (and the plan fall back with a warning)
        session.get.side_effect = [table(*a.args, **a.kwargs) for a in session.get.call_args_list[:3]] + [
            requests.Timeout()
        ] * 6
        with self.assertRaisesRegex(m.MatrixError, "did not answer"):
            m.OsrmMatrix("http://osrm.example", session=session, table_limit=2, workers=1).compute(points)
        self.assertEqual(session.get.call_count, 9 + 4, "the blocks after the failure are not asked")

    def test_cache_keeps_a_byte_budget(self):
        cache = m.MatrixCache(budget=3 * 2 * 16 * 8)  # three pairs of 4 × 4 matrices
        small = m.StraightLineMatrix().compute(POINTS + [(50.0, 4.0)])
        for key in range(5):
            cache[key] = small
        self.assertEqual(len(cache), 3, "the oldest are dropped")
        self.assertIsNone(cache.get(0))
        self.assertIsNotNone(cache.get(4))
        self.assertLessEqual(cache.size, cache.budget)
        big = m.StraightLineMatrix().compute([(50.0 + k / 100, 4.0) for k in range(10)])
        cache["big"] = big
        self.assertIsNone(cache.get("big"), "a matrix above the budget is not kept")
        self.assertEqual(len(cache), 3)
