import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("lastmile_dispatch_map", {
    url: "/odoo/action-lastmile_delivery.lastmile_dispatch_map_action",
    steps: () => [
        {
            content: "Today's deliveries are pinned: one assigned, numbered 1",
            trigger: ".o_lastmile_map .o_lastmile_pin:contains(1)",
        },
        {
            content: "The legend counts one delivery left to dispatch",
            trigger: ".o_lastmile_legend button:contains(Unassigned) .badge:contains(1)",
        },
        {
            content: "Show only Map Driver's deliveries",
            trigger: ".o_lastmile_legend button:contains(Map Driver)",
            run: "click",
        },
        {
            content: "The filter is on",
            trigger: ".o_lastmile_legend button.btn-primary:contains(Map Driver)",
        },
        {
            content: "Dispatch the unassigned delivery from the map",
            trigger: ".o_lastmile_dispatch",
            run: "click",
        },
        {
            content: "Nothing is left to dispatch",
            trigger: ".o_lastmile_legend button:contains(Unassigned) .badge:contains(0)",
        },
        {
            content: "Open a delivery from its pin",
            trigger: ".o_lastmile_map .o_lastmile_pin:contains(2)",
            run: "click",
        },
        {
            trigger: ".leaflet-popup .o_lastmile_open",
            run: "click",
        },
        {
            content: "Its form opens, with the map in the breadcrumbs",
            trigger: '.o_breadcrumb:contains("Dispatch Map"):has(.o_last_breadcrumb_item:contains("DLV/"))',
        },
        {
            trigger: ".o_form_view .o_statusbar_status",
        },
    ],
});
