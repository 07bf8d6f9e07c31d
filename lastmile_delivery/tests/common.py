from odoo.tests import new_test_user
from odoo.tests.common import TransactionCase


class LastmileCase(TransactionCase):
    """Fixtures shared by the tests of the suite: a user per group and a driver."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.calendar = cls.env["resource.calendar"].create(
            {"name": "Driver shifts", "company_id": cls.company.id}
        )
        cls.manager_user = new_test_user(
            cls.env, "lm_manager", groups="lastmile_delivery.group_lastmile_manager"
        )
        cls.dispatcher_user = new_test_user(
            cls.env, "lm_dispatcher", groups="lastmile_delivery.group_lastmile_dispatcher"
        )
        cls.driver_user = new_test_user(
            cls.env, "lm_driver", groups="lastmile_delivery.group_lastmile_driver"
        )
        cls.other_driver_user = new_test_user(
            cls.env, "lm_driver2", groups="lastmile_delivery.group_lastmile_driver"
        )
        cls.driver = cls._create_driver("Ana", cls.driver_user)
        cls.other_driver = cls._create_driver("Bruno", cls.other_driver_user)

    @classmethod
    def _create_driver(cls, name, user=None, **values):
        return cls.env["lastmile.driver"].create(
            {
                "name": name,
                "user_id": user and user.id,
                "resource_calendar_id": cls.calendar.id,
                "capacity_weight": 500.0,
                **values,
            }
        )
