from odoo import api, models


class ChooseDeliveryCarrier(models.TransientModel):
    _inherit = "choose.delivery.carrier"

    @api.onchange("carrier_id", "total_weight")
    def _onchange_carrier_id(self):
        """Odoo prices its local methods (fixed, rules) as soon as one is chosen and leaves the
        others to “Get rate”. The own fleet is local too, unless it prices per km (the address
        may need the geocoder): then “Get rate” asks."""
        result = super()._onchange_carrier_id()
        if self.delivery_type == "lastmile" and self.carrier_id.lastmile_pricing != "distance":
            values = self._get_delivery_rate()
            if values.get("error_message"):
                return {"error": values["error_message"]}
        return result
