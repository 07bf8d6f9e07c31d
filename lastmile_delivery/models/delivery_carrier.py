from odoo import fields, models
from odoo.exceptions import UserError

from ..services.geo import haversine_km


class DeliveryCarrier(models.Model):
    """The shop's own fleet as a delivery method, following the provider pattern of
    ``stock_delivery`` (``<type>_rate_shipment``, ``_send_shipping``, ``_get_tracking_link``,
    ``_cancel_shipment``)."""

    _inherit = "delivery.carrier"

    delivery_type = fields.Selection(
        selection_add=[("lastmile", "Own Fleet (Last Mile)")],
        ondelete={"lastmile": lambda carriers: carriers.write({"delivery_type": "fixed", "fixed_price": 0})},
    )
    lastmile_pricing = fields.Selection(
        [("fixed", "Fixed Price"), ("rules", "Based on Rules"), ("distance", "Per km from the Warehouse")],
        string="Pricing",
        default="fixed",
    )
    lastmile_base_price = fields.Float(string="Base Price", help="Added to the price per km.")
    lastmile_price_per_km = fields.Float(string="Price per km")

    def lastmile_rate_shipment(self, order):
        self.ensure_one()
        if not self._match_address(order.partner_shipping_id):
            return self._lastmile_rate_error(self.env._("This delivery method does not serve this address."))
        try:
            price = self._lastmile_price(order)
        except UserError as error:
            return self._lastmile_rate_error(error.args[0])
        return {"success": True, "price": price, "error_message": False, "warning_message": False}

    def _lastmile_rate_error(self, message):
        return {"success": False, "price": 0.0, "error_message": message, "warning_message": False}

    def _lastmile_price(self, order):
        """Price of delivering ``order``, in the order's currency (the pricelist's), before the
        carrier's margins. Pricing per km needs both addresses located: one that is not yet
        is queued for the geocoder, and the price asked again a moment later."""
        if self.lastmile_pricing == "rules":
            return self._compute_currency(order, self._get_price_available(order), "company_to_pricelist")
        if self.lastmile_pricing == "distance":
            price = self.lastmile_base_price + self.lastmile_price_per_km * self._lastmile_distance_km(order)
            return self._compute_currency(order, price, "company_to_pricelist")
        return order.pricelist_id._get_product_price(self.product_id, 1.0, currency=order.currency_id)

    def _lastmile_distance_km(self, order):
        """Road km from the order's warehouse to the delivery address (straight line × road
        factor). No geocoder is asked here (this runs in the salesperson's request)."""
        origin = order.warehouse_id.partner_id or order.company_id.partner_id
        address = order.partner_shipping_id
        missing = origin.browse([p.id for p in (origin, address) if not p._lastmile_point()]).sudo()
        unknown = missing.filtered(lambda p: p.lastmile_geocode_state == "not_found")
        if unknown:
            raise UserError(
                self.env._(
                    "The price per km needs the address of %(partners)s located, and the geocoder does not "
                    "know it: check its street and city.",
                    partners=", ".join(unknown.mapped("display_name")),
                )
            )
        if missing:
            missing.lastmile_geocode_state = "pending"
            self.env["lastmile.delivery.task"]._trigger_queue()
            raise UserError(
                self.env._(
                    "The price per km needs the address of %(partners)s located: it is being located, "
                    "ask for the price again in a minute.",
                    partners=", ".join(missing.mapped("display_name")),
                )
            )
        return (
            haversine_km(*origin._lastmile_point(), *address._lastmile_point())
            * order.company_id.lastmile_road_factor
        )

    def lastmile_send_shipping(self, pickings):
        """Hand the pickings to the fleet: the price of each, in its order's currency as
        ``stock.picking.send_to_shipper`` expects (no remote call: an address not located yet is
        priced once it is), and its delivery task's reference as the tracking number. The rest
        of an order sent as a backorder costs nothing more; a shipment cancelled before and
        sent again reopens its delivery; a transfer done without the fleet gets no tracking."""
        results = []
        for picking in pickings:
            task = picking.sudo().lastmile_task_ids.sorted("id", reverse=True)[:1]  # the latest attempt
            if not task and picking._lastmile_is_eligible():
                task = picking._lastmile_create_tasks(send=False)
            if task.state == "cancelled" and picking.state not in ("done", "cancel"):
                task._set_state("new", check=False, driver_id=False, **task._prepare_unplanned_values())
                task._queue_processing(dispatch=task.company_id.lastmile_auto_dispatch)
            if not task or task.state == "cancelled":
                results.append({"exact_price": 0.0, "tracking_number": False})
                continue
            results.append(
                {"exact_price": self._lastmile_shipping_price(picking, task), "tracking_number": task.name}
            )
        return results

    def _lastmile_shipping_price(self, picking, task):
        """The order's price, charged once: a backorder or another delivery of the same order
        already sent to the fleet costs nothing more."""
        order = picking.sale_id
        sent = order.picking_ids.filtered(
            lambda p: p != picking and p.carrier_id == picking.carrier_id and p.carrier_tracking_ref
        )
        if not order or picking.backorder_id or sent:
            return 0.0
        try:
            price = self._lastmile_price(order)
        except UserError as error:
            task.price_pending = True
            picking.message_post(
                body=self.env._(
                    "The delivery price is computed once the address is located: %(error)s", error=error
                )
            )
            return 0.0
        task.price_pending = False
        return price

    def _apply_margins(self, price, order=False):
        """A delivery the fleet does not charge (the rest of an order, a price still to come)
        stays free: no margin on nothing."""
        if self.delivery_type == "lastmile" and not price:
            return 0.0
        return super()._apply_margins(price, order)

    def lastmile_get_tracking_link(self, picking):
        """No public tracking page yet: Odoo shows the tracking reference alone."""
        return False

    def lastmile_cancel_shipment(self, pickings):
        """Cancelling the shipment cancels the delivery task: no driver goes. A delivery on its
        way or delivered cannot be called off this way."""
        pickings.check_access("write")
        tasks = pickings.sudo().lastmile_task_ids.filtered(
            lambda t: t.state in ("in_transit", "delivered") or t._lastmile_follows_picking()
        )
        started = tasks.filtered(lambda t: t.state in ("in_transit", "delivered"))
        if started:
            raise UserError(
                self.env._(
                    "%(tasks)s is already on its way or delivered: its shipment cannot be cancelled.",
                    tasks=", ".join(started.mapped("display_name")),
                )
            )
        tasks._set_state("cancelled")
        return True
