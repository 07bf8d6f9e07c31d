import logging
from datetime import timedelta

from odoo import api, fields, models

from ..tools import notification_action

_logger = logging.getLogger(__name__)


class LastmileRoutePlanning(models.Model):
    """A planning run asked by a dispatcher, done in the background when it takes long.

    Runs are idempotent (planning a day again gives a fresh plan of that day) and resumable: a
    run left 'running' by a stopped worker is taken again by the next scheduled action.
    """

    _name = "lastmile.route.planning"
    _description = "Route Planning Run"
    _order = "id desc"
    _check_company_auto = True

    date = fields.Date(required=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    user_id = fields.Many2one("res.users", required=True, default=lambda self: self.env.user)
    state = fields.Selection(
        [("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        default="queued",
        required=True,
    )
    time_limit = fields.Integer()
    started = fields.Datetime(readonly=True)
    finished = fields.Datetime(readonly=True)
    summary = fields.Text(readonly=True)

    @api.model
    def action_plan(self, date=None):
        """Plan the day now when it is quick, else in the background; either way the dispatcher
        gets a notification with the result."""
        self.env["lastmile.route"]._check_dispatcher()
        day = fields.Date.to_date(date) if date else fields.Date.context_today(self)
        time_limit = self.env.company.lastmile_plan_time_limit or 10
        if time_limit <= 3:
            return self.env["lastmile.route"]._notify_summary([self.env["lastmile.route"].plan_routes(day)])
        self.create({"date": day, "time_limit": time_limit})
        self.env.ref("lastmile_delivery.ir_cron_lastmile_plan")._trigger()
        return notification_action(
            self.env._(
                "Planning the routes of %(day)s in the background (about %(seconds)s s). You will be "
                "notified when they are ready.",
                day=day,
                seconds=time_limit,
            ),
            "info",
        )

    @api.model
    def _cron_run(self, limit=5):
        stale = fields.Datetime.now() - timedelta(minutes=15)
        runs = self.search(
            ["|", ("state", "=", "queued"), "&", ("state", "=", "running"), ("started", "<", stale)],
            order="id",
            limit=limit,
        )
        for run in runs:
            run._run()

    def _run(self):
        self.ensure_one()
        self.write({"state": "running", "started": fields.Datetime.now()})
        self.env.cr.commit()
        Route = self.env["lastmile.route"].with_user(self.user_id).with_company(self.company_id)
        try:
            summary = Route.plan_routes(self.date, time_limit=self.time_limit)
            notification = Route._notify_summary([summary])["params"]
            self.write(
                {
                    "state": "failed" if summary.get("error") else "done",
                    "finished": fields.Datetime.now(),
                    "summary": notification["message"],
                }
            )
        except Exception as error:  # noqa: BLE001 - any failure must end the run and be reported
            self.env.cr.rollback()
            _logger.exception("Route planning of %s failed", self.date)
            notification = {"message": str(error), "type": "danger"}
            self.write({"state": "failed", "finished": fields.Datetime.now(), "summary": str(error)})
        self.user_id._bus_send(
            "simple_notification",
            {
                "title": self.env._("Routes of %(day)s", day=self.date),
                "message": notification["message"],
                "type": notification["type"],
                "sticky": True,
            },
        )
        self.env.cr.commit()
