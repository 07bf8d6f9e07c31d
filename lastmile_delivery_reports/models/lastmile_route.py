import random
from datetime import timedelta

from odoo import api, fields, models

# moments of the customers' messages: switched off while the demo makes the past weeks
NOTIFY_FIELDS = (
    "lastmile_notify_dispatched",
    "lastmile_notify_nearby",
    "lastmile_notify_delivered",
    "lastmile_notify_failed",
    "lastmile_notify_rescheduled",
)
# failure reasons of the demo's past weeks, the most frequent first
DEMO_FAILURES = (
    "lastmile_delivery_pod.failure_reason_not_home",
    "lastmile_delivery_pod.failure_reason_not_home",
    "lastmile_delivery_pod.failure_reason_no_access",
    "lastmile_delivery_pod.failure_reason_refused",
)


class LastmileRoute(models.Model):
    _inherit = "lastmile.route"

    @api.model
    def _lastmile_demo_history(self, days=21, orders_per_day=24, seed=19):
        """Demo data: the ``days`` before today, made by the real flows at the time they
        happened: orders confirmed by the salesperson in the morning, the day planned by the
        dispatcher, each route started and driven from its driver's phone (positions, arrivals,
        proofs; some stops fail and come back the next day), the warehouse validating what was
        delivered and some customers rating. The time is moved with freezegun (the clock the
        flows read; for every thread of the process while it runs, so load demo data on a
        server nobody uses); the customers of those days are not sent messages again."""
        from freezegun import freeze_time  # noqa: PLC0415 - the demo's only, a requirement of Odoo

        rng = random.Random(seed)
        company = self.env.company
        ref = self.env.ref
        Data = self.env["ir.model.data"]
        customers = (
            self.env["res.partner"]
            .browse(
                Data.search(
                    [
                        ("module", "=", "lastmile_delivery"),
                        ("model", "=", "res.partner"),
                        ("name", "=like", "demo_customer_%"),
                    ]
                ).mapped("res_id")
            )
            .filtered(lambda p: p.partner_latitude or p.partner_longitude)  # one has an address to check
        )
        products = (
            ref("lastmile_delivery.demo_product_grocery_box")
            | ref("lastmile_delivery.demo_product_water_case")
            | ref("lastmile_delivery.demo_product_pizza")
            | ref("lastmile_delivery.demo_product_flowers")
        )
        notify = {name: company[name] for name in NOTIFY_FIELDS}
        company.write(dict.fromkeys(NOTIFY_FIELDS, "none"))
        try:
            self._lastmile_demo_days(freeze_time, rng, days, orders_per_day, customers, products)
        finally:
            company.write(notify)

    def _lastmile_demo_days(self, freeze_time, rng, days, orders_per_day, customers, products):
        company = self.env.company
        salesperson = self.env.ref("lastmile_delivery.demo_user_sam")
        dispatcher = self.env.ref("lastmile_delivery.demo_user_dispatcher")
        today = company._lastmile_date_of(fields.Datetime.now())
        # PyVRP stops on the wall clock: it keeps the real one
        with freeze_time(
            company._lastmile_localize(today - timedelta(days=days), 7.0), ignore=["pyvrp"]
        ) as clock:
            for back in range(days, 0, -1):
                day = today - timedelta(days=back)
                clock.move_to(company._lastmile_localize(day, 7.0))
                orders = (
                    self.env["sale.order"]
                    .with_user(salesperson)
                    .create(
                        [
                            self._prepare_demo_order(rng, day, customers, products)
                            for _index in range(orders_per_day)
                        ]
                    )
                )
                orders.action_confirm()
                clock.move_to(company._lastmile_localize(day, 7.5))
                self.with_user(dispatcher).plan_routes(fields.Date.to_string(day), 1)
                routes = self.search(
                    [("company_id", "=", company.id), ("date", "=", day), ("state", "=", "planned")]
                ).filtered(lambda r: r.driver_id.user_id)
                for route in routes.sorted("start_time"):
                    route._lastmile_demo_drive_past(rng, clock)

    def _prepare_demo_order(self, rng, day, customers, products):
        company = self.env.company
        values = {
            "partner_id": rng.choice(customers).id,
            "carrier_id": self.env.ref("lastmile_delivery.demo_carrier_own_fleet").id,
            "warehouse_id": self.env.ref("stock.warehouse0").id,
            "order_line": [
                fields.Command.create({"product_id": product.id, "product_uom_qty": rng.randint(1, 3)})
                for product in rng.sample(list(products), rng.randint(1, 2))
            ],
        }
        if rng.random() < 0.7:  # a promised hour; the others are delivered within the shop's hours
            hour = rng.choice([9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
            values["commitment_date"] = company._lastmile_localize(day, hour + rng.choice([0, 0.5]))
        return values

    def _lastmile_demo_drive_past(self, rng, clock):
        """Demo data: this planned route of a past day, driven: the driver leaves a few minutes
        after the plan says, drifts from the plan by traffic, posts positions on the way, taps
        Arrived and sends a proof at each stop; about one stop in twelve fails."""
        self.ensure_one()
        route = self.with_user(self.driver_id.user_id)
        start = (self.start_time or self.company_id._lastmile_localize(self.date, 8.0)) + timedelta(
            minutes=rng.randint(0, 12)
        )
        clock.move_to(start)
        route.action_start_route()
        drift = timedelta(minutes=rng.randint(-3, 6))
        here, moment = None, start
        for tasks in route._sheet_stop_groups():
            first = tasks[0]
            if first.state != "in_transit":
                continue
            drift += timedelta(minutes=rng.gauss(1.0, 4.0))
            planned = first.eta or moment + timedelta(minutes=12)
            arrival = max(planned + drift, moment + timedelta(minutes=2))
            if here:  # two fixes of the phone on the way
                for step in (1, 2):
                    fix = moment + (arrival - moment) * step / 3
                    clock.move_to(fix)
                    route.action_post_position(
                        {
                            "latitude": here[0]
                            + (first.latitude - here[0]) * step / 3
                            + rng.uniform(-1, 1) / 500,
                            "longitude": here[1]
                            + (first.longitude - here[1]) * step / 3
                            + rng.uniform(-1, 1) / 500,
                            "accuracy": rng.uniform(5, 25),
                            "timestamp": fix.isoformat() + "Z",
                        }
                    )
            clock.move_to(arrival)
            tasks.with_user(self.driver_id.user_id).action_arrive()
            moment = arrival + timedelta(minutes=rng.uniform(2, 6))
            clock.move_to(moment)
            failed = rng.random() < 1 / 12
            reason = self.env.ref(rng.choice(DEMO_FAILURES)) if failed else None
            values = self._prepare_demo_proof(tasks, moment, rng.uniform(4, 15), reason)
            tasks.with_user(self.driver_id.user_id).action_submit_proof(values)
            here = (first.latitude, first.longitude)
            # the warehouse's side, as its scheduled action does after the commit
            for task in tasks.sudo().filtered("stock_pending"):
                task._lastmile_apply_stock()
            if not failed and rng.random() < 0.3:
                clock.move_to(moment + timedelta(minutes=rng.randint(20, 120)))
                tasks[0].sudo()._lastmile_portal_rate(rng.choice([3, 4, 4, 5, 5, 5]), "")
                clock.move_to(moment)
