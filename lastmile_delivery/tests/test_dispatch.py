from datetime import datetime
from unittest.mock import patch

import requests
from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from ..services import matrix as matrix_service
from .common import ATOMIUM, MIDI, NEAR, NOW, WAREHOUSE, LastmileCase


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestDispatch(LastmileCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fridge_tag = cls.env["lastmile.driver.tag"].create({"name": "Refrigerated"})
        cls.cold_tag = cls.env["product.tag"].create({"name": "Cold"})
        cls.cold_product = cls.env["product.product"].create(
            {
                "name": "Ice cream",
                "type": "consu",
                "weight": 1.0,
                "product_tag_ids": [(6, 0, cls.cold_tag.ids)],
            }
        )
        cls.far = cls._create_customer("Hugo", ATOMIUM)
        cls.midi = cls._create_customer("Ines", MIDI)

    def _place_driver(self, driver, point):
        driver.start_partner_id = self._create_customer(f"Depot of {driver.name}", point)

    def test_nearest_driver_and_reason_in_chatter(self):
        self._place_driver(self.driver, WAREHOUSE)  # 0.4 km from the customer
        self._place_driver(self.other_driver, ATOMIUM)
        task = self._create_task()
        task.action_dispatch()
        self.assertEqual(task.driver_id, self.driver)
        self.assertEqual(task.state, "assigned")
        self.assertEqual((task.sequence, task.eta), (1, datetime(2026, 11, 18, 9, 0)))
        self.assertEqual(task.dispatch_reason, "Assigned to Ana: 0.4 km away, first stop of the day")
        self.assertIn("Assigned to Ana: 0.4 km away, first stop of the day", task.message_ids[0].body)
        self.assertEqual(task.message_ids[0].author_id, self.env.user.partner_id)

    def test_dispatch_after_order_confirmation(self):
        """A salesperson confirms; the delivery is dispatched by the job queued after the
        commit, when the shop dispatches on confirmation."""
        self.company.lastmile_auto_dispatch = True
        task = self._create_order(user=self.salesperson).sudo().lastmile_task_ids
        self.assertEqual(task.state, "new", "no dispatch inside the salesperson's transaction")
        self.assertTrue(task.dispatch_pending)
        self.run_queue()
        self.assertEqual(task.state, "assigned")
        self.assertFalse(task.dispatch_pending)
        self.company.lastmile_auto_dispatch = False
        task = self._create_order(user=self.salesperson).sudo().lastmile_task_ids
        self.run_queue()
        self.assertEqual(task.state, "new")
        self.assertFalse(task.dispatch_pending)

    def test_only_rule_by_tag(self):
        self._place_driver(self.driver, WAREHOUSE)
        self._place_driver(self.other_driver, ATOMIUM)
        self.other_driver.tag_ids = self.fridge_tag
        rule = self.env["lastmile.dispatch.rule"].create(
            {
                "name": "Cold goods",
                "domain": f"[('product_ids.product_tag_ids', 'in', [{self.cold_tag.id}])]",
                "mode": "only",
                "tag_ids": [(6, 0, self.fridge_tag.ids)],
            }
        )
        self.assertEqual(rule.task_count, 0)
        cold = self._create_order(product=self.cold_product).lastmile_task_ids
        plain = self._create_order().lastmile_task_ids
        (cold | plain).action_dispatch()
        self.assertEqual(cold.driver_id, self.other_driver, "the far but refrigerated van")
        self.assertIn("rule Cold goods", cold.dispatch_reason)
        self.assertEqual(plain.driver_id, self.driver)
        # without a refrigerated driver on duty, cold goods wait, with the reason
        self.other_driver.on_duty = False
        late_cold = self._create_order(product=self.cold_product).lastmile_task_ids
        late_cold.action_dispatch()
        self.assertEqual(late_cold.state, "new")
        self.assertEqual(late_cold.dispatch_issue, "No rule match: no driver on duty matches “Cold goods”")
        # the engine's texts are English templates that the models translate: a French
        # dispatcher reads the reason in French, with the rule's name in place
        french = {
            "No rule match": "Aucune règle ne correspond",
            "no driver on duty matches %(rules)s": "aucun chauffeur en service ne répond à %(rules)s",
        }
        french_cold = self._create_order(product=self.cold_product).lastmile_task_ids
        with self.in_french(french):
            french_cold.with_user(self.dispatcher_user).with_context(lang="fr_FR").action_dispatch()
        self.assertEqual(
            french_cold.dispatch_issue,
            "Aucune règle ne correspond: aucun chauffeur en service ne répond à “Cold goods”",
        )

    def test_prefer_rule_by_driver(self):
        self._place_driver(self.driver, WAREHOUSE)
        self._place_driver(self.other_driver, MIDI)
        self.env["lastmile.dispatch.rule"].create(
            {
                "name": "Carla's regular",
                "domain": f"[('partner_id', '=', {self.customer.id})]",
                "mode": "prefer",
                "driver_ids": [(6, 0, self.other_driver.ids)],
            }
        )
        task = self._create_task()
        task.action_dispatch()
        self.assertEqual(task.driver_id, self.other_driver)
        self.assertIn("rule Carla's regular", task.dispatch_reason)
        self.company.lastmile_weight_preference = 0.1
        task2 = self._create_task()
        task2.action_dispatch()
        self.assertEqual(task2.driver_id, self.driver)

    def test_only_rule_by_driver_and_rule_priority(self):
        self._place_driver(self.driver, WAREHOUSE)
        self._place_driver(self.other_driver, ATOMIUM)
        Rule = self.env["lastmile.dispatch.rule"]
        Rule.create(
            {
                "name": "Bruno's district",
                "sequence": 1,
                "domain": f"[('partner_id', '=', {self.customer.id})]",
                "driver_ids": [(6, 0, self.other_driver.ids)],
            }
        )
        Rule.create(
            {
                "name": "Ana's customers",
                "sequence": 2,
                "domain": f"[('partner_id', '=', {self.customer.id})]",
                "driver_ids": [(6, 0, self.driver.ids)],
            }
        )
        task = self._create_task()
        task.action_dispatch()
        # the two "only" rules have no driver in common: the first one (by priority) wins
        self.assertEqual(task.driver_id, self.other_driver)
        self.assertIn("rule Bruno's district", task.dispatch_reason)
        self.assertNotIn("Ana's customers", task.dispatch_reason)

    def test_prefer_rule_by_tag(self):
        self._place_driver(self.driver, WAREHOUSE)
        self._place_driver(self.other_driver, MIDI)
        self.other_driver.tag_ids = self.fridge_tag
        self.env["lastmile.dispatch.rule"].create(
            {
                "name": "Prefer fridges",
                "domain": "[]",
                "mode": "prefer",
                "tag_ids": [(6, 0, self.fridge_tag.ids)],
            }
        )
        task = self._create_task()
        task.action_dispatch()
        self.assertEqual(task.driver_id, self.other_driver)

    def test_rule_bad_input(self):
        Rule = self.env["lastmile.dispatch.rule"]
        with self.assertRaisesRegex(ValidationError, "choose driver tags or drivers"):
            Rule.create({"name": "Empty", "domain": "[]"})
        with self.assertRaisesRegex(ValidationError, "condition is not valid"):
            Rule.create(
                {"name": "Broken", "domain": "[('no_such_field', '=', 1)]", "tag_ids": self.fridge_tag.ids}
            )
        with self.assertRaisesRegex(ValidationError, "condition is not valid"):
            Rule.create({"name": "Garbage", "domain": "[(", "tag_ids": self.fridge_tag.ids})

    def test_capacity_limit(self):
        self.driver.capacity_weight = 10
        self.other_driver.capacity_weight = 10
        tasks = self._create_task(weight=8) | self._create_task(weight=8) | self._create_task(weight=8)
        tasks.action_dispatch()
        self.assertEqual(len(tasks.filtered("driver_id")), 2)
        self.assertEqual(len(tasks.driver_id), 2)
        stuck = tasks.filtered(lambda t: not t.driver_id)
        self.assertEqual(
            stuck.dispatch_issue,
            "No capacity: no vehicle has capacity left for 8.0 kg (most room left: 2.0 kg)",
        )
        heavy = self._create_task(weight=50)
        heavy.action_dispatch()
        self.assertIn("more than the largest vehicle carries (10.0 kg)", heavy.dispatch_issue)

    def test_shift_and_time_off(self):
        # the calendar works 8-12 and 13-17: an evening window finds nobody
        evening = self._create_task(start=datetime(2026, 11, 18, 18, 0), end=datetime(2026, 11, 18, 20, 0))
        evening.action_dispatch()
        self.assertEqual(
            evening.dispatch_issue, "No driver on shift: no driver on duty works during the delivery window"
        )
        # Ana is off this morning: the morning task goes to Bruno even if Ana is nearer
        self._place_driver(self.driver, WAREHOUSE)
        self._place_driver(self.other_driver, ATOMIUM)
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Dentist",
                "resource_id": self.driver.resource_id.id,
                "calendar_id": self.calendar.id,
                "date_from": datetime(2026, 11, 18, 7, 0),
                "date_to": datetime(2026, 11, 18, 12, 0),
            }
        )
        morning = self._create_task(start=datetime(2026, 11, 18, 9, 0), end=datetime(2026, 11, 18, 11, 0))
        morning.action_dispatch()
        self.assertEqual(morning.driver_id, self.other_driver)

    def test_workload_is_balanced(self):
        self._place_driver(self.driver, WAREHOUSE)
        self._place_driver(self.other_driver, WAREHOUSE)
        tasks = self.env["lastmile.delivery.task"]
        for _i in range(6):
            tasks |= self._create_task()
        tasks.action_dispatch()
        self.assertEqual(
            sorted(len(tasks.filtered(lambda t, d=d: t.driver_id == d)) for d in tasks.driver_id), [3, 3]
        )
        # stops already planned count: a new task goes to the driver with fewer stops
        self.other_driver.task_ids[:1].action_unassign()
        extra = self._create_task()
        extra.action_dispatch()
        self.assertEqual(extra.driver_id, self.other_driver)
        self.assertIn("2 stops that day", extra.dispatch_reason)

    def test_no_driver_on_duty(self):
        (self.driver | self.other_driver).on_duty = False
        task = self._create_task()
        task.action_dispatch()
        self.assertEqual(task.dispatch_issue, "No driver on duty: no driver is on duty")

    def test_dispatch_closed_tasks_is_refused(self):
        delivered = self._create_task(driver_id=self.driver.id)
        delivered.action_deliver()
        cancelled = self._create_task()
        cancelled.action_cancel()
        fresh = self._create_task()
        with self.assertRaisesRegex(UserError, "already on the way, delivered or cancelled"):
            (fresh | delivered | cancelled).action_dispatch()
        self.assertEqual(fresh.state, "new", "nothing was dispatched")

    def test_already_assigned_tasks_are_kept(self):
        task = self._create_task(driver_id=self.other_driver.id)
        task.action_dispatch()
        self.assertEqual(task.driver_id, self.other_driver)

    def test_query_count_does_not_grow_per_task(self):
        """Dispatching 30 tasks costs the same queries as dispatching 10."""

        def run(count):
            tasks = self.env["lastmile.delivery.task"]
            for i in range(count):
                tasks |= self._create_task(
                    partner=(self.customer, self.far, self.midi)[i % 3],
                    weight=1,
                    end=datetime(2026, 11, 18, 17, 0),  # room enough for every task in the day
                )
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            tasks.action_dispatch()
            self.env.flush_all()
            self.assertEqual(len(tasks.filtered("driver_id")), count)
            return self.env.cr.sql_log_count - before

        small = run(10)
        large = run(30)
        self.assertLessEqual(large, small + 4, f"{small} queries for 10 tasks, {large} for 30")

    def test_dispatch_as_dispatcher_over_rpc_method(self):
        task = self._create_task(partner=self._create_customer("Jo", NEAR))
        result = task.with_user(self.dispatcher_user).action_dispatch()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(task.state, "assigned")

    def test_late_delivery_shows_its_real_eta(self):
        """At 11:30, a 9:00-11:00 delivery can only be late: it is assigned with its real ETA,
        flagged late by so many minutes, never an ETA squeezed into the window."""
        self._place_driver(self.driver, WAREHOUSE)
        self.other_driver.on_duty = False
        with freeze_time("2026-11-18 11:30:00"):
            task = self._create_task(start=datetime(2026, 11, 18, 9), end=datetime(2026, 11, 18, 11))
            task.with_user(self.dispatcher_user).action_dispatch()
            self.assertEqual(task.driver_id, self.driver)
            self.assertGreater(task.eta, datetime(2026, 11, 18, 11, 30))
            self.assertGreaterEqual(task.late_minutes, 31)
            self.assertTrue(task.is_late)
            self.assertIn(f"late by {task.late_minutes} min", task.dispatch_reason)

    def test_dispatch_counts_the_time_already_planned(self):
        """Ana's morning is full until 11:55, at the Gare du Midi: an 8:00-12:00 delivery goes to
        Bruno, who is free, although Ana starts nearer."""
        self._place_driver(self.driver, WAREHOUSE)
        self._place_driver(self.other_driver, ATOMIUM)
        busy = self._create_task(
            partner=self.midi,
            driver_id=self.driver.id,
            start=datetime(2026, 11, 18, 11, 50),
            end=datetime(2026, 11, 18, 11, 55),
        )
        busy.eta = datetime(2026, 11, 18, 11, 50)
        task = self._create_task(start=datetime(2026, 11, 18, 8), end=datetime(2026, 11, 18, 12))
        task.with_user(self.dispatcher_user).action_dispatch()
        self.assertEqual(task.driver_id, self.other_driver)
        self.assertFalse(task.late_minutes)
        # the first stop of the day counts the drive from the start: Bruno at the Atomium, 8:00
        self.assertGreater(task.eta, datetime(2026, 11, 18, 8, 10))

    def test_a_dispatchers_choice_is_not_undone_by_the_queue(self):
        """Confirmed while the shop dispatches automatically, then assigned by hand and unassigned
        on purpose: the queued dispatch leaves it alone."""
        self.company.lastmile_auto_dispatch = True
        task = self._create_order(user=self.salesperson).sudo().lastmile_task_ids
        task.with_user(self.dispatcher_user).write({"driver_id": self.other_driver.id})
        task.with_user(self.dispatcher_user).action_unassign()
        self.assertFalse(task.dispatch_pending)
        self.run_queue()
        self.assertEqual((task.state, task.driver_id.id), ("new", False))

    def test_a_failed_delivery_is_dispatched_again(self):
        task = self._create_task(driver_id=self.driver.id)
        task.with_user(self.driver_user).action_fail()
        result = task.with_user(self.dispatcher_user).action_dispatch()
        self.assertEqual(task.state, "assigned")
        self.assertIn("1 delivery(ies) assigned", result["params"]["message"])

    def test_reassigning_by_hand_leaves_the_old_round(self):
        tasks = self._create_task() | self._create_task()
        self.env["lastmile.route"].plan_routes("2026-11-18", time_limit=1)
        task = tasks.filtered(lambda t: t.driver_id == tasks[0].driver_id)[:1]
        other = (self.driver | self.other_driver) - task.driver_id
        task.with_user(self.dispatcher_user).write({"driver_id": other.id})
        self.assertEqual((task.route_id.id, task.sequence, task.eta), (False, 0, False))

    def test_dispatching_several_days_asks_routing_servers_before_writing(self):
        """A dispatch over two days inserts into two planned routes, each with a matrix from
        OSRM: both are asked before the first row is written."""
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("lastmile.matrix_provider", "osrm")
        params.set_param("lastmile.osrm_url", "http://osrm.example:5000")
        self.other_driver.on_duty = False
        days = [datetime(2026, 11, 18), datetime(2026, 11, 19)]
        for day in days:
            self._create_task(driver_id=self.driver.id, start=day.replace(hour=9), end=day.replace(hour=12))
        fallback_answer = requests.Timeout()
        with patch.object(requests, "get", side_effect=fallback_answer):
            for day in days:
                self.env["lastmile.route"].plan_routes(day.date(), time_limit=1)
        matrix_service.FAILURES.clear()
        matrix_service.CACHE.clear()
        new = self._create_task(
            start=days[0].replace(hour=9), end=days[0].replace(hour=12)
        ) | self._create_task(start=days[1].replace(hour=9), end=days[1].replace(hour=12))
        self.env.flush_all()
        writes_at_request = []
        with self.watch_statements() as watch:

            def osrm(url, **kwargs):
                writes_at_request.append(watch.writes())
                raise requests.ConnectionError("down")

            with patch.object(requests, "get", side_effect=osrm):
                new.with_user(self.dispatcher_user).action_dispatch()
        self.assertEqual(len(writes_at_request), 1, "a server that failed is not asked again at once")
        self.assertEqual(writes_at_request, [0])
        self.assertEqual(new.route_id.mapped("date"), [d.date() for d in days])

    def test_a_failed_delivery_given_to_another_driver_leaves_the_old_round(self):
        tasks = self._create_task(driver_id=self.driver.id) | self._create_task(driver_id=self.driver.id)
        self.env["lastmile.route"].plan_routes("2026-11-18", time_limit=1)
        failed = tasks[0]
        old_route = failed.route_id
        self.assertTrue(old_route)
        failed.with_user(self.driver_user).action_fail()
        self.driver.on_duty = False
        failed.with_user(self.dispatcher_user).action_dispatch()
        self.assertEqual(failed.driver_id, self.other_driver)
        self.assertNotEqual(failed.route_id, old_route)
        self.assertNotIn(failed, old_route.task_ids)

    def test_on_the_way_can_be_taken_back(self):
        task = self._create_order().lastmile_task_ids
        task.driver_id = self.driver
        task.with_user(self.driver_user).action_start()
        task.with_user(self.driver_user).action_undo_start()
        self.assertEqual(task.state, "assigned")
        task.with_user(self.dispatcher_user).write({"driver_id": self.other_driver.id})
        self.assertEqual(task.driver_id, self.other_driver)

    def test_on_the_way_needs_the_goods(self):
        boxes = self.env["product.product"].create(
            {"name": "Counted box", "is_storable": True, "type": "consu"}
        )
        task = self._create_order(product=boxes).lastmile_task_ids
        task.driver_id = self.driver
        with self.assertRaisesRegex(UserError, "not fully reserved"):
            task.with_user(self.driver_user).action_start()
        self.assertEqual(task.state, "assigned")
