"""Distances on the Earth's surface."""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def has_coordinates(lat: float | None, lon: float | None) -> bool:
    """Odoo stores "no coordinates" as 0.0/0.0 (base_geolocalize); that point is in the ocean."""
    return bool(lat or lon) and -90 <= (lat or 0) <= 90 and -180 <= (lon or 0) <= 180


def point(lat: float | None, lon: float | None) -> list[float] | None:
    """[lat, lon] when the coordinates are set (see :func:`has_coordinates`), else None."""
    return [lat, lon] if has_coordinates(lat, lon) else None
