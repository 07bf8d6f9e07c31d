from random import randint

from odoo import fields, models


class LastmileDriverTag(models.Model):
    """Skills and zones of drivers (Refrigerated, Heavy loads, North…), used by dispatch rules."""

    _name = "lastmile.driver.tag"
    _description = "Driver Tag"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    color = fields.Integer(default=lambda self: randint(1, 11))
    active = fields.Boolean(default=True)

    _name_uniq = models.Constraint("UNIQUE(name)", "A driver tag with this name already exists.")
