import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

const openReportingMenu = (name) => [
    {
        content: "Open the Reporting menu",
        trigger: '.o_main_navbar button:contains("Reporting")',
        run: "click",
    },
    {
        content: `Open ${name}`,
        trigger: `.dropdown-menu .dropdown-item:contains("${name}")`,
        run: "click",
    },
];

registry.category("web_tour.tours").add("lastmile_reports", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the Last Mile app",
            trigger: '.o_app[data-menu-xmlid="lastmile_delivery.menu_root"]',
            run: "click",
        },
        ...openReportingMenu("Deliveries"),
        {
            content: "The pivot of the last 30 days: the driver's row and the on-time rate",
            trigger: '.o_pivot .o_pivot_header_cell_closed:contains("Tour Driver")',
        },
        {
            content: "On-time rate is a measure",
            trigger: '.o_pivot th:contains("On-Time Rate (%)")',
        },
        {
            content: "One of the two deliveries was on time",
            trigger: '.o_pivot td.o_pivot_cell_value:contains("50.0")',
        },
        ...openReportingMenu("Drivers and Routes"),
        {
            content: "Deliveries per hour on the road, per driver",
            trigger: '.o_pivot th:contains("Deliveries per Hour")',
        },
        ...openReportingMenu("Dashboard"),
        {
            content: "The dashboard of the last 30 days is open in the Dashboards app",
            trigger: '.o_spreadsheet_dashboard_action .o-spreadsheet',
        },
        {
            content: "It is the Last Mile dashboard, loaded without error",
            trigger:
                '.o_spreadsheet_dashboard_action:not(:has(.dashboard-loading-status)) ' +
                '.o_search_panel_category_value.active .o_dashboard_name:contains("Last Mile Deliveries")',
        },
        {
            content: "with its period filter on the last 30 days",
            trigger: '.o_spreadsheet_dashboard_action .o-date-filter-value:contains("Last 30 Days")',
        },
        ...openReportingMenu("Daily Operations"),
        {
            content: "The daily operations report asks for the day",
            trigger: '.modal .o_field_widget[name="date"]',
        },
        {
            content: "Close it",
            trigger: '.modal button:contains("Cancel")',
            run: "click",
        },
        {
            content: "Closed",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
