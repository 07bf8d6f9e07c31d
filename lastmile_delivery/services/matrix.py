"""Travel time and distance matrices between points, behind one interface.

* :class:`StraightLineMatrix`: vectorised haversine (numpy) times a road factor, divided by an
  average speed. 500 x 500 points take milliseconds.
* :class:`OsrmMatrix`: the ``/table`` service of an OSRM server (road network); any failure
  (timeout, HTTP error, garbage) raises :class:`MatrixError`, and :func:`travel_matrix` then
  falls back to the straight line and says so.

Results are integers (seconds and meters) in numpy arrays, never Python lists. A cache keeps
the matrices of recent plans within a byte budget.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import requests

from .geo import EARTH_RADIUS_KM


class MatrixError(Exception):
    """The matrix provider failed; the message says why, for a dispatcher."""


@dataclass(frozen=True)
class Matrix:
    durations: np.ndarray  # seconds, int64
    distances: np.ndarray  # meters, int64
    provider: str
    warning: str = ""


def haversine_matrix_km(points: Sequence[tuple[float, float]]) -> np.ndarray:
    coords = np.radians(np.asarray(points, dtype=float).reshape(-1, 2))
    lat, lon = coords[:, 0:1], coords[:, 1:2]
    dlat = lat.T - lat
    dlon = lon.T - lon
    a = np.sin(dlat / 2) ** 2 + np.cos(lat) * np.cos(lat.T) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class StraightLineMatrix:
    name = "straight_line"

    def __init__(self, road_factor: float = 1.3, speed_kmh: float = 25.0):
        if road_factor < 1 or speed_kmh <= 0:
            raise MatrixError("The road factor must be at least 1 and the speed above 0 km/h.")
        self.road_factor = road_factor
        self.speed_kmh = speed_kmh

    def compute(self, points: Sequence[tuple[float, float]]) -> Matrix:
        road_km = haversine_matrix_km(points) * self.road_factor
        distances = np.rint(road_km * 1000).astype(np.int64)
        durations = np.rint(road_km / self.speed_kmh * 3600).astype(np.int64)
        return Matrix(durations=durations, distances=distances, provider=self.name)


class OsrmMatrix:
    """OSRM's ``/table`` service. A table larger than the server's limit (``--max-table-size``,
    100 places by default) is asked in blocks of at most ``table_limit`` sources by as many
    destinations, a few at a time; a pair OSRM cannot route (no road between them in its map)
    gets the straight-line estimate, and the matrix says how many did."""

    name = "osrm"

    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        profile: str = "driving",
        session=None,
        table_limit: int = 100,
        fallback: StraightLineMatrix | None = None,
        workers: int = 4,
    ):
        if not url or not url.startswith(("http://", "https://")):
            raise MatrixError(f"The OSRM URL {url!r} is not an http(s) URL.")
        if table_limit < 2:
            raise MatrixError("The OSRM table limit must be at least 2 places.")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.profile = profile
        self.session = session or requests
        self.table_limit = int(table_limit)
        self.fallback = fallback or StraightLineMatrix()
        self.workers = max(int(workers), 1)

    def compute(self, points: Sequence[tuple[float, float]]) -> Matrix:
        n = len(points)
        durations = np.full((n, n), np.nan)
        distances = np.full((n, n), np.nan)
        blocks = [np.arange(i, min(i + self.table_limit, n)) for i in range(0, n, self.table_limit)]
        jobs = [(sources, targets) for sources in blocks for targets in blocks]
        if len(jobs) == 1:
            self._fill(points, *jobs[0], durations, distances)
        else:
            failed = threading.Event()  # the first failure stops the table: no more blocks asked

            def fill(job):
                if failed.is_set():
                    return
                try:
                    self._fill(points, *job, durations, distances)
                except Exception:
                    failed.set()
                    raise

            with ThreadPoolExecutor(max_workers=min(self.workers, len(jobs))) as pool:
                for future in [pool.submit(fill, job) for job in jobs]:
                    future.result()
        np.fill_diagonal(durations, 0)
        np.fill_diagonal(distances, 0)
        missing = np.isnan(durations) | np.isnan(distances)
        warning = ""
        if missing.any():
            straight = self.fallback.compute(points)
            durations[missing] = straight.durations[missing]
            distances[missing] = straight.distances[missing]
            pairs = int(missing.sum())
            warning = (
                f"OSRM found no road for {pairs} of the {n * (n - 1)} trips between the places: "
                "straight-line estimates used for them."
            )
        return Matrix(
            durations=np.rint(durations).astype(np.int64),
            distances=np.rint(distances).astype(np.int64),
            provider=self.name,
            warning=warning,
        )

    def _fill(self, points, sources, targets, durations, distances):
        """Ask the table of ``sources`` × ``targets`` (indexes of ``points``) and write it in
        the matrices; a pair without a road stays NaN."""
        same = len(sources) == len(targets) and bool((sources == targets).all())
        places = sources if same else np.concatenate([sources, targets])
        coordinates = ";".join(f"{points[i][1]:.6f},{points[i][0]:.6f}" for i in places)
        params = {"annotations": "duration,distance"}
        if not same:
            params["sources"] = ";".join(str(k) for k in range(len(sources)))
            params["destinations"] = ";".join(str(len(sources) + k) for k in range(len(targets)))
        url = f"{self.url}/table/v1/{self.profile}/{coordinates}"
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise MatrixError(f"OSRM did not answer within {self.timeout:g} s.") from None
        except requests.RequestException as error:
            raise MatrixError(f"OSRM could not be reached: {error}") from None
        if response.status_code != 200:
            raise MatrixError(f"OSRM answered HTTP {response.status_code}.")
        try:
            data = response.json()
            if data.get("code") != "Ok":
                raise MatrixError(f"OSRM refused the request: {data.get('message') or data.get('code')}")
            # None (JSON null) is a pair without a road: NaN
            block_durations = np.asarray(data["durations"], dtype=float)
            block_distances = np.asarray(data["distances"], dtype=float)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise MatrixError("OSRM answered something that is not a travel table.") from None
        shape = (len(sources), len(targets))
        if block_durations.shape != shape or block_distances.shape != shape:
            raise MatrixError("OSRM answered a table of the wrong size.")
        durations[np.ix_(sources, targets)] = block_durations
        distances[np.ix_(sources, targets)] = block_distances


class MatrixCache:
    """The matrices of recent plans, the least recently used dropped first, within a budget of
    bytes (a 5,000-place matrix pair takes 400 MB; one above the budget is not kept)."""

    def __init__(self, budget: int):
        self.budget = budget
        self._items = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _size(matrix: Matrix) -> int:
        return matrix.durations.nbytes + matrix.distances.nbytes

    @property
    def size(self) -> int:
        return sum(self._size(m) for m in self._items.values())

    def get(self, key):
        with self._lock:
            matrix = self._items.get(key)
            if matrix is not None:
                self._items.move_to_end(key)
            return matrix

    def __setitem__(self, key, matrix: Matrix):
        with self._lock:
            self._items.pop(key, None)
            if self._size(matrix) > self.budget:
                return
            self._items[key] = matrix
            while self.size > self.budget:
                self._items.popitem(last=False)

    def __len__(self):
        return len(self._items)

    def clear(self):
        with self._lock:
            self._items.clear()


CACHE = MatrixCache(256 * 1024 * 1024)  # the matrices of the last plans
# provider key -> (time.monotonic() of its last failure, message): a provider that failed is
# not asked again for RETRY_AFTER seconds, so one request never waits for a down server twice
FAILURES = {}
RETRY_AFTER = 60.0


def travel_matrix(
    points, provider, fallback: StraightLineMatrix | None = None, clock=time.monotonic
) -> Matrix:
    """The matrix of ``points`` from ``provider``; if it fails (or failed less than a minute
    ago) and a fallback is given, the straight-line matrix with a warning."""
    provider_key = (provider.name, getattr(provider, "url", ""))
    # the straight line's parameters: the provider's, or its fallback's for pairs without a road
    straight = getattr(provider, "fallback", provider)
    key = (
        *provider_key,
        getattr(straight, "road_factor", 0),
        getattr(straight, "speed_kmh", 0),
        tuple(points),
    )
    cached = CACHE.get(key)
    if cached is not None:
        return cached
    failed_at, message = FAILURES.get(provider_key, (None, ""))
    try:
        if fallback is not None and failed_at is not None and clock() - failed_at < RETRY_AFTER:
            raise MatrixError(f"{message} (not asked again for a minute)")
        matrix = provider.compute(points)
    except MatrixError as error:
        if failed_at is None or clock() - failed_at >= RETRY_AFTER:
            FAILURES[provider_key] = (clock(), str(error))
        if fallback is None:
            raise
        matrix = fallback.compute(points)
        matrix = Matrix(
            matrix.durations, matrix.distances, matrix.provider, f"{error} Straight-line estimates used."
        )
        return matrix  # a fallback is not cached: the provider may be back for the next plan
    FAILURES.pop(provider_key, None)
    CACHE[key] = matrix
    return matrix
