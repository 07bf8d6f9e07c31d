import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import format_date

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
    kind = fields.Selection(
        [("plan", "Plan the Day"), ("optimize", "Optimize Routes")], default="plan", required=True
    )
    route_ids = fields.Many2many(
        "lastmile.route",
        string="Routes to Optimize",
        check_company=True,
        help="The routes an optimization re-sequences (planning the day leaves it empty).",
    )
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
        Route = self.env["lastmile.route"]
        Route._check_dispatcher()
        day = fields.Date.to_date(date) if date else fields.Date.context_today(self)
        return self._plan_now_or_queue(
            lambda: [Route.plan_routes(day)],
            [{"date": day}],
            lambda seconds: self.env._(
                "Planning the routes of %(day)s in the background (about %(seconds)s s). You will be "
                "notified when they are ready.",
                day=format_date(self.env, day),
                seconds=seconds,
            ),
        )

    @api.model
    def _optimize_routes(self, routes):
        """Re-sequence ``routes`` now when it is quick, else in the background, as
        :meth:`action_plan`."""
        routes._check_dispatcher()
        routes.check_access("write")  # again when the run starts, as the same user
        if not routes:
            return routes._notify_summary([])
        return self._plan_now_or_queue(
            routes._optimize,
            [
                {
                    "date": min(company_routes.mapped("date")),
                    "kind": "optimize",
                    "company_id": company.id,
                    "route_ids": [fields.Command.set(company_routes.ids)],
                }
                for company, company_routes in routes.grouped("company_id").items()
            ],
            lambda seconds: self.env._(
                "Optimizing %(count)s route(s) in the background (about %(seconds)s s). You will be "
                "notified when they are ready.",
                count=len(routes),
                seconds=seconds,
            ),
            # each route is searched for a second at least
            seconds=len(routes),
        )

    @api.model
    def _plan_now_or_queue(self, plan_now, runs, message, seconds=0):
        """With a search time of 3 s or less (the company's, or ``seconds`` when longer),
        ``plan_now()`` (summaries) and its notification; else the ``runs`` (values) queued for
        the scheduled action and ``message(seconds)``."""
        time_limit = self.env.company.lastmile_plan_time_limit or 10
        waiting = max(time_limit, seconds)
        if waiting <= 3:
            return self.env["lastmile.route"]._notify_summary(plan_now())
        # runs are made by these actions only (dispatchers read them), as the dispatcher
        self.sudo().create([{**values, "user_id": self.env.uid, "time_limit": time_limit} for values in runs])
        self.env.ref("lastmile_delivery.ir_cron_lastmile_plan")._trigger()
        return notification_action(message(waiting), "info")

    @api.model
    def _cron_run(self, limit=5):
        stale = fields.Datetime.now() - timedelta(minutes=15)
        runs = self.search(
            ["|", ("state", "=", "queued"), "&", ("state", "=", "running"), ("started", "<", stale)],
            order="id",
            limit=limit,
        )
        for run in runs:  # in the language of the dispatcher who asked (a cron has none)
            run.with_context(lang=run.user_id.lang or run.env.lang)._run()

    def _run(self, attempts=3):
        """Plan the day, then tell the dispatcher. A delivery moved along while the plan was
        searched (a driver on their way, a card dragged) makes the plan stale: it is planned
        again on fresh data, a few times at most."""
        self.ensure_one()
        self.write({"state": "running", "started": fields.Datetime.now()})
        self.env.cr.commit()
        Route = self.env["lastmile.route"].with_user(self.user_id).with_company(self.company_id)
        day = format_date(self.env, self.date)
        for _attempt in range(attempts):
            try:
                if self.kind == "optimize":
                    # routes emptied (and removed) by a plan made meanwhile: nothing to optimize
                    routes = Route.browse(self.route_ids.ids)
                    summaries = routes._optimize(self.time_limit) if routes else []
                else:
                    summaries = [Route.plan_routes(self.date, time_limit=self.time_limit)]
                self.env.flush_all()  # a conflict with a concurrent change shows here
                notification = Route._notify_summary(summaries)["params"]
                state = "failed" if any(s.get("error") for s in summaries) else "done"
                break
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                self.env.cr.rollback()
                _logger.info("Route planning of %s met a concurrent change: planned again", self.date)
                notification = {
                    "message": self.env._(
                        "The deliveries of %(day)s kept changing while they were planned (drivers and "
                        "dispatchers at work): plan again in a moment.",
                        day=day,
                    ),
                    "type": "warning",
                }
                state = "failed"
            except Exception as error:  # noqa: BLE001 - any failure must end the run and be reported
                self.env.cr.rollback()
                _logger.exception("Route planning of %s failed", self.date)
                notification, state = {"message": str(error), "type": "danger"}, "failed"
                break
        self.write({"state": state, "finished": fields.Datetime.now(), "summary": notification["message"]})
        self.user_id._bus_send(
            "simple_notification",
            {
                "title": self.env._("Routes of %(day)s", day=day),
                "message": notification["message"],
                "type": notification["type"],
                "sticky": True,
            },
        )
        self.env.cr.commit()
