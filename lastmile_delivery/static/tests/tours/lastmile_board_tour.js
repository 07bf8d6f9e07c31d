import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

const column = (title) => `.o_kanban_group:has(.o_column_title:contains("${title}"))`;

registry.category("web_tour.tours").add("lastmile_board_dispatch", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the Last Mile app: the board of today, one column per driver",
            trigger: '.o_app[data-menu-xmlid="lastmile_delivery.menu_root"]',
            run: "click",
        },
        {
            content: "Ana's column holds her delivery",
            trigger: `${column("Ana")} .o_kanban_record:contains("Tour Customer A")`,
        },
        {
            content: "Drag it to Bruno",
            trigger: `${column("Ana")} .o_kanban_record:contains("Tour Customer A")`,
            run: `drag_and_drop (${column("Bruno")})`,
        },
        {
            content: "It is now Bruno's",
            trigger: `${column("Bruno")} .o_kanban_record:contains("Tour Customer A")`,
        },
        {
            content: "Open the unassigned delivery",
            trigger: '.o_kanban_record:contains("Tour Customer B")',
            run: "click",
        },
        {
            content: "Dispatch it",
            trigger: '.o_form_view button[name="action_dispatch"]',
            run: "click",
        },
        {
            content: "It got a driver",
            trigger: '.o_form_view .o_statusbar_status button.o_arrow_button_current:contains("Assigned")',
        },
        {
            content: "Back to the board",
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb li.breadcrumb-item a",
            run: "click",
        },
        {
            content: "No delivery is left without a driver",
            trigger: `.o_kanban_renderer:not(:has(.o_kanban_record:contains("Tour Customer B"):not(${column("Ana")} *, ${column("Bruno")} *)))`,
        },
    ],
});
