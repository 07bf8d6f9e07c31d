import logging

from odoo import api, fields, models

from ..services.geo import point
from ..services.geocoding import DEFAULT_NOMINATIM_URL, Geocoder, GeocoderConfig, GeocodingError, format_query

_logger = logging.getLogger(__name__)


class ResPartner(models.Model):
    _inherit = "res.partner"

    lastmile_window_from = fields.Float(
        string="Preferred Delivery From", help="The customer's preferred delivery hours (e.g. 18:00–20:00)."
    )
    lastmile_window_to = fields.Float(string="Preferred Delivery Until")
    lastmile_geocode_state = fields.Selection(
        [("pending", "Being located"), ("not_found", "Not found")],
        copy=False,
        groups="base.group_user",
        help="The geocoder's work on this address, when a price per km needed it.",
    )
    # what a driver may read of the address book (see res_partner_rule_lastmile_driver)
    lastmile_task_ids = fields.One2many(
        "lastmile.delivery.task", "partner_shipping_id", string="Deliveries Here", groups="base.group_user"
    )
    lastmile_customer_task_ids = fields.One2many(
        "lastmile.delivery.task", "partner_id", string="Deliveries Ordered", groups="base.group_user"
    )
    lastmile_start_driver_ids = fields.One2many(
        "lastmile.driver", "start_partner_id", string="Drivers Starting Here", groups="base.group_user"
    )
    lastmile_end_driver_ids = fields.One2many(
        "lastmile.driver", "end_partner_id", string="Drivers Ending Here", groups="base.group_user"
    )
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

    def _lastmile_geocode_batch(self, geocoder):
        """({partner: GeocodeResult or None}, failure): every address asked, none written; the
        first failure of the service (or anything unexpected) stops the batch."""
        answers = {}
        for partner in self:
            try:
                answers[partner] = partner._lastmile_geocode_query(geocoder)
            except GeocodingError as error:
                return answers, error
            except Exception as error:  # noqa: BLE001 - one odd address must not stop the queue
                _logger.exception("Geocoding %s failed", partner.display_name)
                return answers, GeocodingError(self.env._("The address could not be located (%s).", error))
        return answers, None

    def _lastmile_locate_pending(self):
        """Locate these addresses, waiting for it (a price per km asked them). Returns True when
        the geocoding service failed."""
        if not self:
            return False
        try:
            answers, failure = self._lastmile_geocode_batch(self._lastmile_geocoder())
        except GeocodingError:
            return True
        for partner, answer in answers.items():
            if answer:
                partner._lastmile_store_location(answer.latitude, answer.longitude)
            partner.sudo().lastmile_geocode_state = False if answer else "not_found"
        # deliveries whose price per km waited for these addresses
        Task = self.env["lastmile.delivery.task"].sudo()
        Task.search([("price_pending", "=", True)]).filtered(lambda t: t.address_state == "ok")._on_located()
        return failure is not None

    def write(self, vals):
        if {"street", "street2", "zip", "city", "state_id", "country_id"} & vals.keys():
            vals = {**vals, "lastmile_geocode_state": False}  # a new address: the geocoder may know it
        return super().write(vals)

    def _lastmile_point(self):
        """[latitude, longitude] of this address, or None when it has no coordinates."""
        self.ensure_one()
        return point(self.partner_latitude, self.partner_longitude)

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

    def _lastmile_store_location(self, latitude, longitude):
        """Write where these addresses are (callers check who may)."""
        self.sudo().write(
            {
                "partner_latitude": latitude,
                "partner_longitude": longitude,
                "date_localization": fields.Date.context_today(self),
            }
        )
