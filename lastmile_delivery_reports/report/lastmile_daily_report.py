from itertools import groupby

from odoo import api, models
from odoo.tools import format_date


class ReportLastmileDailyOperations(models.AbstractModel):
    """The daily operations report: per day and driver, the deliveries planned, delivered and
    failed, on time, the distance planned and driven, then the failed deliveries."""

    _name = "report.lastmile_delivery_reports.report_daily_operations"
    _description = "Daily Operations Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        routes = (
            self.env["lastmile.route.report"]
            .browse(docids)
            .sorted(lambda r: (r.company_id.id, r.date, r.driver_id.name or ""))
        )
        Delivery = self.env["lastmile.delivery.report"]
        days = []
        for (company, day), rows in groupby(routes, key=lambda r: (r.company_id, r.date)):
            rows = routes.browse(r.id for r in rows)
            failed = Delivery.search(
                [("route_id", "in", rows.route_id.ids), ("state", "=", "failed")], order="date_closed"
            )
            delivered = sum(rows.mapped("delivered_count"))
            next_steps = {row.id: self._next_step(row.task_id) for row in failed}
            days.append(
                {
                    "company": company,
                    "date": day,
                    "routes": rows,
                    "failed": failed,
                    "next_steps": next_steps,
                    "totals": {
                        "planned": sum(rows.mapped("planned_count")),
                        "delivered": delivered,
                        "failed": sum(rows.mapped("failed_count")),
                        "on_time": sum(rows.mapped("on_time_count")),
                        "on_time_rate": (
                            100.0 * sum(rows.mapped("on_time_count")) / delivered if delivered else None
                        ),
                        "planned_km": sum(rows.mapped("planned_distance_km")),
                        "planned_to_last_km": sum(rows.mapped("planned_to_last_km")),
                        "driven_km": sum(rows.mapped("driven_distance_km")),
                    },
                }
            )
        return {"doc_ids": docids, "doc_model": "lastmile.route.report", "docs": routes, "days": days}

    def _next_step(self, task):
        """What became of a failed delivery: its next attempt's day, or its goods back in stock."""
        attempt = task._lastmile_next_attempt()
        if attempt:
            return self.env._("New attempt on %(day)s", day=format_date(self.env, attempt.scheduled_date))
        if task.failure_reason_id.outcome == "return":
            return self.env._("Goods back to stock")
        return ""
