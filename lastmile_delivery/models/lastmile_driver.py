from odoo import api, fields, models
from odoo.exceptions import ValidationError


class LastmileDriver(models.Model):
    """A person who delivers for the shop, with a login, a vehicle and working hours.

    Working hours and time off come from ``resource.mixin`` (a ``resource.resource`` per driver,
    as for employees), so shifts and leaves use Odoo's standard calendars.
    """

    _name = "lastmile.driver"
    _description = "Delivery Driver"
    _inherit = ["resource.mixin", "mail.thread"]
    _order = "name, id"

    name = fields.Char(related="resource_id.name", store=True, readonly=False, required=True, tracking=True)
    user_id = fields.Many2one(
        "res.users",
        string="User",
        related="resource_id.user_id",
        store=True,
        readonly=False,
        tracking=True,
        help="The login the driver uses on the phone. It must belong to the Driver group.",
    )
    company_id = fields.Many2one(required=True)
    active = fields.Boolean(default=True, tracking=True)
    phone = fields.Char()
    image_128 = fields.Image(max_width=128, max_height=128)
    color = fields.Integer()
    on_duty = fields.Boolean(
        default=False,
        tracking=True,
        help="Only drivers on duty receive new deliveries.",
    )
    vehicle_name = fields.Char(string="Vehicle", help="Model and plate, as the dispatcher calls it.")
    capacity_weight = fields.Float(
        string="Capacity (kg)",
        digits="Stock Weight",
        tracking=True,
        help="Heaviest total load the vehicle carries on one trip.",
    )

    _user_uniq = models.Constraint(
        "UNIQUE(user_id)",
        "This user is already linked to another driver.",
    )

    @api.constrains("user_id")
    def _check_user_id(self):
        driver_group = self.env.ref("lastmile_delivery.group_lastmile_driver")
        for driver in self.filtered("user_id"):
            if driver_group not in driver.user_id.sudo().all_group_ids:
                raise ValidationError(
                    self.env._(
                        "%(user)s cannot be linked to driver %(driver)s: give the user the "
                        "Last Mile / Driver access first.",
                        user=driver.user_id.name,
                        driver=driver.name,
                    )
                )

    @api.constrains("capacity_weight")
    def _check_capacity_weight(self):
        for driver in self:
            if driver.capacity_weight < 0:
                raise ValidationError(
                    self.env._(
                        "The vehicle capacity of %(driver)s cannot be negative (%(capacity)s kg).",
                        driver=driver.name,
                        capacity=driver.capacity_weight,
                    )
                )

    def action_toggle_on_duty(self):
        for driver in self:
            driver.on_duty = not driver.on_duty
