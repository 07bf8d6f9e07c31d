"""Travel time and distance matrices between points, behind one interface.

* :class:`StraightLineMatrix`: vectorised haversine (numpy) times a road factor, divided by an
  average speed. 500 x 500 points take milliseconds.
* :class:`OsrmMatrix`: the ``/table`` service of an OSRM server (road network); any failure
  (timeout, HTTP error, garbage) raises :class:`MatrixError`, and :func:`travel_matrix` then
  falls back to the straight line and says so.

Results are integers: seconds and meters. A small cache keeps the matrices of recent plans.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import requests

from odoo.tools.lru import LRU

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
    name = "osrm"

    def __init__(self, url: str, timeout: float = 10.0, profile: str = "driving", session=None):
        if not url or not url.startswith(("http://", "https://")):
            raise MatrixError(f"The OSRM URL {url!r} is not an http(s) URL.")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.profile = profile
        self.session = session or requests

    def compute(self, points: Sequence[tuple[float, float]]) -> Matrix:
        coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        url = f"{self.url}/table/v1/{self.profile}/{coordinates}"
        try:
            response = self.session.get(
                url, params={"annotations": "duration,distance"}, timeout=self.timeout
            )
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
            durations = np.asarray(data["durations"], dtype=float)
            distances = np.asarray(data["distances"], dtype=float)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise MatrixError("OSRM answered something that is not a travel table.") from None
        n = len(points)
        if durations.shape != (n, n) or distances.shape != (n, n):
            raise MatrixError("OSRM answered a table of the wrong size.")
        if np.isnan(durations).any() or np.isnan(distances).any():
            raise MatrixError("OSRM could not route between some of the points.")
        return Matrix(
            durations=np.rint(durations).astype(np.int64),
            distances=np.rint(distances).astype(np.int64),
            provider=self.name,
        )


CACHE = LRU(8)  # the matrices of the last plans
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
    key = (
        *provider_key,
        getattr(provider, "road_factor", 0),
        getattr(provider, "speed_kmh", 0),
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
