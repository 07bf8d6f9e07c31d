import ast

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain


class LastmileDispatchRule(models.Model):
    """A shop's business rule for dispatch: tasks matching a domain go only to (or preferably
    to) drivers with some tags, or to named drivers."""

    _name = "lastmile.dispatch.rule"
    _description = "Dispatch Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(
        default=10, help="Priority: when two “only” rules leave no driver in common, the first one wins."
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    domain = fields.Char(
        string="Applies To", default="[]", required=True, help="Deliveries this rule applies to."
    )
    mode = fields.Selection(
        [("only", "Only these drivers"), ("prefer", "Prefer these drivers")],
        default="only",
        required=True,
        help="Only: other drivers never get these deliveries. Prefer: these drivers get a bonus in "
        "the score (Settings → Last Mile → preference weight).",
    )
    tag_ids = fields.Many2many("lastmile.driver.tag", string="Driver Tags")
    driver_ids = fields.Many2many("lastmile.driver", string="Drivers", check_company=True)
    task_count = fields.Integer(compute="_compute_task_count", string="Open deliveries matching")

    @api.constrains("domain", "tag_ids", "driver_ids")
    def _check_rule(self):
        for rule in self:
            if not rule.tag_ids and not rule.driver_ids:
                raise ValidationError(
                    self.env._("Rule %(rule)s: choose driver tags or drivers.", rule=rule.name)
                )
            try:
                self.env["lastmile.delivery.task"].search_count(rule._get_domain(), limit=1)
            except (ValueError, SyntaxError, TypeError, KeyError) as error:
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s: the condition is not valid (%(error)s).", rule=rule.name, error=error
                    )
                ) from None

    def _get_domain(self):
        self.ensure_one()
        domain = ast.literal_eval(self.domain or "[]")
        if not isinstance(domain, list):
            raise ValueError(self.env._("the condition must be a list"))
        return Domain(domain)

    @api.depends("domain")
    def _compute_task_count(self):
        Task = self.env["lastmile.delivery.task"]
        for rule in self:
            try:
                rule.task_count = Task.search_count(
                    rule._get_domain() & Domain("state", "in", ["new", "assigned"])
                )
            except (ValueError, SyntaxError, TypeError, KeyError):
                rule.task_count = 0

    def _allowed_drivers(self, drivers):
        self.ensure_one()
        return drivers.filtered(lambda d: d in self.driver_ids or d.tag_ids & self.tag_ids)

    @api.model
    def _match(self, tasks, drivers):
        """For each task: (allowed driver ids or None, "only" rule names) and preferred drivers.

        One search per active rule, whatever the number of tasks.
        """
        rules = self.search([("company_id", "in", tasks.company_id.ids)])
        only, prefer = {}, {}
        for rule in rules:
            matching = tasks.search(rule._get_domain() & Domain("id", "in", tasks.ids)) if tasks else tasks
            if not matching:
                continue
            allowed = frozenset(rule._allowed_drivers(drivers).ids)
            for task in matching:
                if rule.mode == "only":
                    current, names = only.get(task.id, (None, ()))
                    if current is None:
                        only[task.id] = (allowed, (rule.name,))
                    elif current & allowed:
                        only[task.id] = (current & allowed, names + (rule.name,))
                else:
                    preferred = prefer.setdefault(task.id, {})
                    for driver_id in allowed:
                        preferred[driver_id] = preferred.get(driver_id, ()) + (rule.name,)
        return only, prefer
