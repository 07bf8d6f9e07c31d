"""Fixtures for the repo-level tests.

pytest-odoo loads the registry of the test database once per session; these tests get an
environment on a cursor that is rolled back afterwards, so they leave the database unchanged.
"""

import pytest

import odoo
from odoo.modules.registry import Registry
from odoo.tests.common import get_db_name


@pytest.fixture
def env():
    registry = Registry(get_db_name())
    cr = registry.cursor()
    try:
        yield odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    finally:
        cr.rollback()
        cr.close()
