from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestUi(HttpCase):
    def test_dispatcher_opens_last_mile_app(self):
        """A dispatcher logs in and opens the Last Mile app from the apps menu."""
        new_test_user(self.env, "tour_dispatcher", groups="lastmile_delivery.group_lastmile_dispatcher")
        calendar = self.env["resource.calendar"].create({"name": "Tour shifts"})
        self.env["lastmile.driver"].create({"name": "Tour Driver", "resource_calendar_id": calendar.id})
        self.start_tour("/odoo", "lastmile_open_menu", login="tour_dispatcher")
