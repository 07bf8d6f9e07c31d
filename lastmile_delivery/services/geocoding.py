"""Address → coordinates through geopy, with a timeout, a rate limit and an in-process cache.

Providers: Nominatim (OpenStreetMap; URL and user-agent configurable, 1 request per second by
its usage policy) and Google (API key). Every failure of the service is raised as
:class:`GeocodingError` with a message a shop manager can act on; an address the service does
not know returns ``None``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from geopy import exc as geopy_exc
from geopy.geocoders import GoogleV3, Nominatim

from odoo.tools.lru import LRU

_logger = logging.getLogger(__name__)

PROVIDERS = ("nominatim", "google")
DEFAULT_NOMINATIM_URL = "https://nominatim.openstreetmap.org"


class GeocodingError(Exception):
    """The geocoding service could not answer (down, timeout, refused credentials, quota)."""


@dataclass(frozen=True)
class GeocodeResult:
    latitude: float
    longitude: float
    label: str


@dataclass(frozen=True)
class GeocoderConfig:
    provider: str = "nominatim"
    nominatim_url: str = DEFAULT_NOMINATIM_URL
    user_agent: str = "odoo-lastmile-delivery"
    google_api_key: str = ""
    timeout: float = 5.0
    min_delay: float = 1.0  # seconds between two requests to the service


class _RateLimiter:
    """At most one request per ``min_delay`` seconds per service, across threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last = {}

    def wait(self, key: str, min_delay: float, sleep=time.sleep, clock=time.monotonic) -> None:
        with self._lock:
            delay = self._last.get(key, float("-inf")) + min_delay - clock()
            if delay > 0:
                sleep(delay)
            self._last[key] = clock()


_RATE_LIMITER = _RateLimiter()


# answers (including "not found") shared by the worker's threads
CACHE = LRU(2048)
_MISSING = object()


def format_query(street="", street2="", zip_code="", city="", state="", country="") -> str:
    """One-line address in the order geocoders understand best."""
    parts = [street, street2, " ".join(p for p in (zip_code, city) if p), state, country]
    return ", ".join(p.strip() for p in parts if p and p.strip())


class Geocoder:
    def __init__(self, config: GeocoderConfig):
        if config.provider not in PROVIDERS:
            raise GeocodingError(f"Unknown geocoding provider {config.provider!r}.")
        self.config = config
        if config.provider == "google":
            if not config.google_api_key:
                raise GeocodingError("The Google geocoder needs an API key (Settings → Last Mile).")
            self._service = GoogleV3(api_key=config.google_api_key, timeout=config.timeout)
        else:
            url = urlparse(config.nominatim_url or DEFAULT_NOMINATIM_URL)
            if url.scheme not in ("http", "https") or not url.netloc:
                raise GeocodingError(f"The Nominatim URL {config.nominatim_url!r} is not an http(s) URL.")
            domain = url.netloc + url.path.rstrip("/")
            self._service = Nominatim(
                domain=domain, scheme=url.scheme, user_agent=config.user_agent, timeout=config.timeout
            )

    @property
    def _key(self) -> str:
        url = self.config.nominatim_url if self.config.provider == "nominatim" else ""
        return f"{self.config.provider}:{url}"

    def geocode(self, query: str, country_code: str = "") -> GeocodeResult | None:
        """Coordinates of ``query``, None when the service knows no such address."""
        query = " ".join(query.split())
        if not query:
            return None
        cache_key = (self._key, query.lower(), country_code.lower())
        cached = CACHE.get(cache_key, _MISSING)
        if cached is not _MISSING:
            return cached
        _RATE_LIMITER.wait(self._key, self.config.min_delay if self.config.provider == "nominatim" else 0.0)
        kwargs = {"exactly_one": True}
        if country_code:
            kwargs["country_codes" if self.config.provider == "nominatim" else "region"] = (
                country_code.lower()
            )
        try:
            location = self._service.geocode(query, **kwargs)
        except geopy_exc.GeocoderTimedOut:
            raise GeocodingError(
                f"The geocoding service did not answer within {self.config.timeout:g} s."
            ) from None
        except geopy_exc.GeocoderAuthenticationFailure as error:
            raise GeocodingError(f"The geocoding service refused the credentials: {error}") from None
        except geopy_exc.GeocoderQuotaExceeded:
            raise GeocodingError("The geocoding service quota is exhausted; try again later.") from None
        except (geopy_exc.GeocoderUnavailable, OSError) as error:
            # connection details (URLs, sockets) are for the log, not for the person reading it
            _logger.info("Geocoding %r with %s failed: %r", query, self._key, error)
            raise GeocodingError(
                "The geocoding service could not be reached; the address is located again later."
            ) from None
        except (geopy_exc.GeopyError, ValueError) as error:
            detail = (str(error).splitlines() or [""])[0][:120]
            raise GeocodingError(f"The geocoding service is unavailable: {detail}") from None
        result = (
            GeocodeResult(float(location.latitude), float(location.longitude), location.address or "")
            if location
            else None
        )
        CACHE[cache_key] = result
        return result
