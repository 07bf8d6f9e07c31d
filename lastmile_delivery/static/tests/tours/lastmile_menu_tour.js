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
            content: "A dispatcher lands on the dispatch board",
            trigger: '.o_breadcrumb:contains("Dispatch Board")',
        },
        {
            content: "Open the drivers",
            trigger: '.o_main_navbar a[data-menu-xmlid="lastmile_delivery.menu_drivers"]',
            run: "click",
        },
        {
            content: "The driver of the test is listed",
            trigger: '.o_data_row:contains("Tour Driver")',
        },
    ],
});
