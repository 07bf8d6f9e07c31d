from datetime import datetime

from freezegun import freeze_time

from odoo.addons.lastmile_delivery_pod.tests.common import PodCase

ONE_HUNDREDTH_DEGREE_KM = 1.111951  # 0.01° of latitude, on the sphere of radius 6371.0088 km


def utc(day, hour, minute=0):
    """18, 19 or 20 November 2026 at hour:minute UTC (Brussels is UTC+1 then)."""
    return datetime(2026, 11, day, hour, minute)


class ReportCase(PodCase):
    """Two days of two drivers in a shop in Brussels, run through the drivers' actions, whose
    measures the tests work out by hand (times in UTC; Brussels is one hour ahead).

    All orders are confirmed on Wednesday 18 at 06:00.

    - Ana, Wednesday 18 (route R1, started 08:00):
      T1 window 08:00–09:00, arrived 08:36 (ETA 08:30), delivered 08:40: on time, rated 5;
      T3 window 10:00–11:00, arrived 09:45 (ETA 09:40), delivered 09:50: 10 min early;
      T2 window 09:00–10:00, arrived 10:15 (ETA 09:45), delivered 10:20: 20 min late, rated 2;
      T4 window 11:00–12:00, arrived 11:05 (ETA 11:00), failed 11:10 “Nobody at home”: its second
      attempt T4b comes on Thursday at the same hours.
      Phone fixes on the way, 0.01° of latitude apart, and one 500 m imprecise fix far away.
    - Ana, Thursday 19 (R2, started 10:30): T4b arrived 11:25 (ETA 11:20), delivered 11:30.
    - Bruno, Wednesday 18 (R3, started 13:00): T6 window 13:00–14:00, no ETA, delivered 13:30,
      rated 4.
    - Bruno, Thursday 19, night shift (R4, started 22:00, 23:00 in Brussels):
      T5 window 22:30–23:30 (23:30–00:30 in Brussels, across midnight: its day is Thursday, the
      day it starts), arrived 23:05 (ETA 23:00), delivered 23:10 (00:10 on Friday in Brussels);
      T7 window 23:30–00:30 (00:30–01:30 on Friday 20 in Brussels: its day is Friday, though it
      is Thursday in UTC), arrived 23:40 (ETA 23:45), delivered 23:50.
    All the routes' plans keep 3 km and 10 min for the way back from their last stop.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Europe/Brussels"
        cls.reason = cls.env.ref("lastmile_delivery_pod.failure_reason_not_home")
        with freeze_time(utc(18, 6)):
            cls.t1, cls.t2, cls.t3, cls.t4, cls.t6, cls.t5, cls.t7 = (
                cls._order_task(utc(18, 8)),
                cls._order_task(utc(18, 9)),
                cls._order_task(utc(18, 10)),
                cls._order_task(utc(18, 11)),
                cls._order_task(utc(18, 13)),
                cls._order_task(utc(19, 22, 30)),
                cls._order_task(utc(19, 23, 30)),
            )
        ana, bruno = cls.driver, cls.other_driver
        cls.r1 = cls._route(
            ana,
            "2026-11-18",
            [
                (cls.t1, utc(18, 8, 30)),
                (cls.t3, utc(18, 9, 40)),
                (cls.t2, utc(18, 9, 45)),
                (cls.t4, utc(18, 11)),
            ],
        )
        cls.r1.sudo().write(
            {
                "planned_distance_km": 30,
                "planned_duration_min": 120,
                "baseline_distance_km": 40,
                "baseline_duration_min": 150,
            }
        )
        cls.r3 = cls._route(bruno, "2026-11-18", [(cls.t6, False)])
        cls._start(cls.r1, utc(18, 8))
        cls._fix(cls.r1, utc(18, 8, 10), 50.80)
        cls._stop(cls.t1, utc(18, 8, 36), utc(18, 8, 40), 50.81)
        cls._stop(cls.t3, utc(18, 9, 45), utc(18, 9, 50), 50.82)
        cls._stop(cls.t2, utc(18, 10, 15), utc(18, 10, 20), 50.83)
        cls._fix(cls.r1, utc(18, 10, 50), 51.50, accuracy=500)
        cls._stop(cls.t4, utc(18, 11, 5), utc(18, 11, 10), 50.84, failed=True)
        cls._start(cls.r3, utc(18, 13))
        cls._stop(cls.t6, utc(18, 13, 30), utc(18, 13, 30), 50.85)

        cls.t4b = cls.t4.next_attempt_ids
        cls.r2 = cls._route(ana, "2026-11-19", [(cls.t4b, utc(19, 11, 20))])
        cls.r2.sudo().write(
            {
                "planned_distance_km": 10,
                "planned_duration_min": 60,
                "baseline_distance_km": 9,
                "baseline_duration_min": 50,
                "baseline_late_count": 1,
            }
        )
        cls.r4 = cls._route(bruno, "2026-11-19", [(cls.t5, utc(19, 23)), (cls.t7, utc(19, 23, 45))])
        for route in cls.r3 | cls.r4:
            route.sudo().write(
                {
                    "planned_distance_km": 5,
                    "planned_duration_min": 30,
                    "baseline_distance_km": 5,
                    "baseline_duration_min": 30,
                }
            )
        (cls.r1 | cls.r2 | cls.r3 | cls.r4).sudo().write({"planned_return_km": 3, "planned_return_min": 10})
        cls._start(cls.r2, utc(19, 10, 30))
        cls._stop(cls.t4b, utc(19, 11, 25), utc(19, 11, 30), 50.86)
        cls._start(cls.r4, utc(19, 22))
        cls._stop(cls.t5, utc(19, 23, 5), utc(19, 23, 10), 50.87)
        cls._stop(cls.t7, utc(19, 23, 40), utc(19, 23, 50), 50.88)
        # the customers rate from their tracking page
        for task, stars in ((cls.t1, 5), (cls.t2, 2), (cls.t6, 4)):
            task.sudo()._lastmile_portal_rate(stars, "")

    @classmethod
    def _order_task(cls, start):
        order = cls._create_order(cls, partner=cls.customer, commitment_date=start)
        return order.lastmile_task_ids

    @classmethod
    def _route(cls, driver, day, stops):
        """The plan, by hand: the stops of ``driver`` in this order with their ETAs."""
        route = cls.env["lastmile.route"].create(
            {"driver_id": driver.id, "date": day, "company_id": cls.company.id}
        )
        for sequence, (task, eta) in enumerate(stops, 1):
            task.write({"driver_id": driver.id})
            task.sudo().write({"route_id": route.id, "sequence": sequence, "eta": eta})
        route.sudo().state = "planned"
        return route

    @classmethod
    def _start(cls, route, moment):
        with freeze_time(moment):
            route.with_user(route.driver_id.user_id).action_start_route()

    @classmethod
    def _fix(cls, route, moment, latitude, accuracy=10.0):
        with freeze_time(moment):
            route.with_user(route.driver_id.user_id).action_post_position(
                {"latitude": latitude, "longitude": 4.35, "accuracy": accuracy}
            )

    @classmethod
    def _stop(cls, task, arrived, closed, latitude, failed=False):
        driver = task.driver_id.user_id
        with freeze_time(arrived):
            task.with_user(driver).action_arrive()
        with freeze_time(closed):
            values = {"captured_at": closed.isoformat() + "Z", "latitude": latitude, "longitude": 4.35}
            if failed:
                values.update(failure_reason_id=cls.reason.id)
            task.with_user(driver).action_submit_proof(
                cls.proof(cls, "failed" if failed else "delivered", **values)
            )

    def measures(self, model, aggregates, domain=(), groupby=(), user=None):
        """{group key: {aggregate: value}} of ``model`` as ``user`` (the dispatcher) reads it."""
        Report = self.env[model].with_user(user or self.dispatcher_user)
        rows = Report._read_group(list(domain), list(groupby), aggregates)
        width = len(groupby)
        return {tuple(row[:width]): dict(zip(aggregates, row[width:], strict=True)) for row in rows}
