"""The geocoding adapter, with the HTTP layer of geopy mocked."""

from unittest.mock import patch

from geopy.adapters import RequestsAdapter
from geopy.exc import GeocoderServiceError, GeocoderTimedOut, GeocoderUnavailable

from odoo.tests import BaseCase, tagged

from ..services import geocoding

NOMINATIM_ANSWER = [
    {"lat": "50.8467", "lon": "4.3525", "display_name": "Grand-Place, Bruxelles, Belgique"},
]


@tagged("-at_install", "post_install")
class TestGeocodingService(BaseCase):
    def setUp(self):
        super().setUp()
        geocoding.CACHE.clear()
        self.config = geocoding.GeocoderConfig(
            nominatim_url="https://nominatim.example.org", user_agent="test", timeout=2, min_delay=0
        )

    def test_nominatim_success_and_cache(self):
        with patch.object(RequestsAdapter, "get_json", return_value=NOMINATIM_ANSWER) as get_json:
            geocoder = geocoding.Geocoder(self.config)
            result = geocoder.geocode("Grand-Place 1, 1000 Bruxelles", country_code="BE")
            again = geocoder.geocode("grand-place 1,  1000 Bruxelles", country_code="be")
        self.assertEqual((result.latitude, result.longitude), (50.8467, 4.3525))
        self.assertEqual(again, result)
        self.assertEqual(get_json.call_count, 1, "the second, equivalent query is served from the cache")
        url = get_json.call_args.args[0]
        self.assertTrue(url.startswith("https://nominatim.example.org/search?"), url)
        self.assertIn("countrycodes=be", url)
        self.assertEqual(get_json.call_args.kwargs["timeout"], 2)

    def test_not_found_is_none(self):
        with patch.object(RequestsAdapter, "get_json", return_value=[]):
            self.assertIsNone(geocoding.Geocoder(self.config).geocode("Nowhere street 99"))

    def test_service_errors_are_explained(self):
        geocoder = geocoding.Geocoder(self.config)
        with (
            patch.object(RequestsAdapter, "get_json", side_effect=GeocoderTimedOut("slow")),
            self.assertRaisesRegex(geocoding.GeocodingError, "did not answer within 2 s"),
        ):
            geocoder.geocode("Rue Neuve 1, Bruxelles")
        with (
            patch.object(RequestsAdapter, "get_json", side_effect=GeocoderServiceError("HTTP 503")),
            self.assertRaisesRegex(geocoding.GeocodingError, "unavailable: HTTP 503"),
        ):
            geocoder.geocode("Rue Neuve 2, Bruxelles")
        unreachable = GeocoderUnavailable(
            "HTTPSConnectionPool(host='nominatim.example.org', port=443): Max retries exceeded "
            "(Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f0>'))"
        )
        with (
            patch.object(RequestsAdapter, "get_json", side_effect=unreachable),
            self.assertRaises(geocoding.GeocodingError) as caught,
        ):
            geocoder.geocode("Rue Neuve 3, Bruxelles")
        self.assertEqual(
            str(caught.exception),
            "The geocoding service could not be reached; the address is located again later.",
        )

    def test_bad_configuration(self):
        with self.assertRaisesRegex(geocoding.GeocodingError, "not an http"):
            geocoding.Geocoder(geocoding.GeocoderConfig(nominatim_url="nominatim"))
        with self.assertRaisesRegex(geocoding.GeocodingError, "API key"):
            geocoding.Geocoder(geocoding.GeocoderConfig(provider="google"))

    def test_rate_limit_spaces_requests(self):
        limiter = geocoding._RateLimiter()
        now = [100.0]
        slept = []

        def sleep(seconds):
            slept.append(seconds)
            now[0] += seconds

        limiter.wait("svc", 1.0, sleep=sleep, clock=lambda: now[0])
        now[0] += 0.25
        limiter.wait("svc", 1.0, sleep=sleep, clock=lambda: now[0])
        self.assertEqual(slept, [0.75])

    def test_format_query(self):
        self.assertEqual(
            geocoding.format_query("Rue Neuve 1", "", "1000", "Bruxelles", "", "Belgium"),
            "Rue Neuve 1, 1000 Bruxelles, Belgium",
        )
