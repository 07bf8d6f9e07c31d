from odoo import api, fields, models

from ..services.geo import has_coordinates
from ..services.geocoding import DEFAULT_NOMINATIM_URL, Geocoder, GeocoderConfig, format_query


class ResPartner(models.Model):
    _inherit = "res.partner"

    lastmile_window_from = fields.Float(
        string="Preferred Delivery From", help="The customer's preferred delivery hours (e.g. 18:00–20:00)."
    )
    lastmile_window_to = fields.Float(string="Preferred Delivery Until")
    lastmile_instructions = fields.Text(
        string="Delivery Instructions", help="Shown to the driver, e.g. “ring twice, 3rd floor, no lift”."
    )

    @api.model
    def _lastmile_geocoder(self):
        params = self.env["ir.config_parameter"].sudo()
        base_url = params.get_param("web.base.url") or ""
        timeout = int(params.get_param("lastmile.geocoder_timeout") or 5)
        config = GeocoderConfig(
            provider=params.get_param("lastmile.geocoder") or "nominatim",
            nominatim_url=params.get_param("lastmile.nominatim_url") or DEFAULT_NOMINATIM_URL,
            user_agent=params.get_param("lastmile.nominatim_user_agent")
            or f"odoo-lastmile-delivery ({base_url})",
            google_api_key=params.get_param("lastmile.google_api_key") or "",
            timeout=min(max(timeout, 1), 15),  # a short wait: the service is remote
        )
        return Geocoder(config)

    def _lastmile_point(self):
        """[latitude, longitude] of this address, or None when it has no coordinates."""
        self.ensure_one()
        if has_coordinates(self.partner_latitude, self.partner_longitude):
            return [self.partner_latitude, self.partner_longitude]
        return None

    def _lastmile_geocode_query(self, geocoder=None):
        """Ask the geocoder where this address is, without writing anything: the answer
        (``GeocodeResult``), or None when the service does not know the address.

        Raises ``GeocodingError`` when the service fails (callers decide what to do).
        """
        self.ensure_one()
        geocoder = geocoder or self._lastmile_geocoder()
        query = format_query(
            self.street or "",
            self.street2 or "",
            self.zip or "",
            self.city or "",
            self.state_id.name or "",
            self.country_id.name or "",
        )
        return geocoder.geocode(query, country_code=self.country_id.code or "")

    def _lastmile_store_location(self, result):
        self.sudo().write(
            {
                "partner_latitude": result.latitude,
                "partner_longitude": result.longitude,
                "date_localization": fields.Date.context_today(self),
            }
        )
