from odoo import fields, models
from odoo.exceptions import UserError


class LastmileDailyReportWizard(models.TransientModel):
    """Print the daily operations report of one day."""

    _name = "lastmile.daily.report.wizard"
    _description = "Daily Operations Report"

    date = fields.Date(
        string="Day",
        required=True,
        default=lambda self: self.env.company._lastmile_date_of(fields.Datetime.now()),
    )

    def action_print(self):
        self.ensure_one()
        routes = self.env["lastmile.route.report"].search([("date", "=", self.date)], order="driver_id")
        if not routes:
            raise UserError(
                self.env._("No route was planned on %(day)s.", day=fields.Date.to_string(self.date))
            )
        return self.env.ref("lastmile_delivery_reports.action_report_daily_operations").report_action(routes)
