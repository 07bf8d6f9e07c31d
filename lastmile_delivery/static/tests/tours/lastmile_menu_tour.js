import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("lastmile_open_menu", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the Last Mile app",
            trigger: '.o_app[data-menu-xmlid="lastmile_delivery.menu_root"]',
            run: "click",
        },
        {
            content: "The app opens on the drivers",
            trigger: '.o_breadcrumb:contains("Drivers")',
        },
        {
            content: "The driver of the test is listed",
            trigger: '.o_data_row:contains("Tour Driver")',
        },
    ],
});
