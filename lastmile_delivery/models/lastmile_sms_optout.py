from odoo import api, fields, models


class LastmileSmsOptout(models.Model):
    """A phone number that answered STOP to the delivery SMS: it gets no more of them (emails
    still go). START (or UNSTOP) from the same number lifts it; a dispatcher can too."""

    _name = "lastmile.sms.optout"
    _description = "Delivery SMS Opt-out"
    _order = "create_date desc, id desc"
    _rec_name = "number"

    number = fields.Char(required=True, readonly=True, help="In international format (E.164).")
    partner_id = fields.Many2one("res.partner", string="Contact", readonly=True, index="btree_not_null")
    message = fields.Char(string="Their Message", readonly=True)

    _number_uniq = models.Constraint("UNIQUE(number)", "This number is already opted out.")

    @api.model
    def _lastmile_is_opted_out(self, number):
        return bool(number) and bool(self.sudo().search_count([("number", "=", number)], limit=1))

    @api.model
    def _lastmile_opt_out(self, number, partner=None, message=None):
        if not self._lastmile_is_opted_out(number):
            self.sudo().create({"number": number, "partner_id": partner and partner.id, "message": message})

    @api.model
    def _lastmile_opt_in(self, number):
        self.sudo().search([("number", "=", number)]).unlink()
