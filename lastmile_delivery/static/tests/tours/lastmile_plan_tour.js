import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("lastmile_plan_day", {
    url: "/odoo/action-lastmile_delivery.lastmile_route_action",
    steps: () => [
        {
            content: "No route yet: plan today's routes from the Dispatch menu",
            trigger: '.o_main_navbar button[data-menu-xmlid="lastmile_delivery.menu_dispatch"]',
            run: "click",
        },
        {
            trigger: '.dropdown-item[data-menu-xmlid="lastmile_delivery.menu_plan_routes"]',
            run: "click",
        },
        {
            content: "The plan is done and announced",
            trigger: ".o_notification:contains(stop(s) planned)",
        },
        {
            content: "Open the routes",
            trigger: '.o_main_navbar button[data-menu-xmlid="lastmile_delivery.menu_dispatch"]',
            run: "click",
        },
        {
            trigger: '.dropdown-item[data-menu-xmlid="lastmile_delivery.menu_routes"]',
            run: "click",
        },
        {
            content: "Show every day (the server's day is frozen, the browser's is not)",
            trigger: '.o_searchview_facet:contains("Today") .o_facet_remove',
            run: "click",
        },
        {
            content: "Plan Driver's route is listed",
            trigger: '.o_data_row:contains("Plan Driver") td.o_data_cell[name=driver_id]',
            run: "click",
        },
        {
            content: "Its stops are in order, on a map",
            trigger: ".o_form_view .o_lastmile_route_map .o_lastmile_pin:contains(1)",
        },
        {
            trigger: '.o_form_view .o_field_widget[name=task_ids] .o_data_row:contains("Plan Customer")',
        },
    ],
});
