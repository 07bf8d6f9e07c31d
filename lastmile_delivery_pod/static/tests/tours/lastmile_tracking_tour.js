import { registry } from "@web/core/registry";

/**
 * A customer follows a delivery from the link of an SMS, without an account (see
 * tests/test_ui.py): the map and the expected arrival, instructions for the driver before the
 * departure, the driver on the map when on the way, then the proof of delivery and a rating.
 */

registry.category("web_tour.tours").add("lastmile_tracking_before", {
    steps: () => [
        {
            content: "The map shows the customer's address (Leaflet is loaded)",
            trigger: ".o_lastmile_tracking_map .leaflet-marker-icon .fa-home",
        },
        {
            content: "The expected arrival is shown",
            trigger: "[data-lastmile='eta']:not(:empty)",
        },
        {
            content: "No driver on the map before the departure",
            trigger: "[data-lastmile='map-note']:not(.d-none)",
        },
        {
            content: "Write instructions for the driver",
            trigger: "textarea[name='instructions']",
            run: "edit Ring at the blue door <b>please</b>",
        },
        {
            content: "Save them",
            trigger: "button:contains('Save instructions')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "They are saved, and shown as typed",
            trigger: ".alert-success:contains('the driver will read your instructions')",
        },
        {
            trigger: "textarea[name='instructions']:value('Ring at the blue door <b>please</b>')",
        },
    ],
});

registry.category("web_tour.tours").add("lastmile_tracking_on_the_way", {
    steps: () => [
        {
            content: "The driver is on the map, on the way to this customer",
            trigger: ".o_lastmile_tracking_map .leaflet-marker-icon .fa-truck",
        },
        {
            content: "The page says the driver is coming",
            trigger: "[data-lastmile='stops']:contains('The driver is on the way to you')",
        },
        {
            content: "Instructions cannot change any more: they are shown",
            trigger: ".card:contains('Your instructions'):contains('Ring at the blue door')",
        },
    ],
});

registry.category("web_tour.tours").add("lastmile_tracking_after", {
    steps: () => [
        {
            content: "The proof of delivery: photo, signature and its PDF",
            trigger: ".o_lastmile_portal_proof img[alt='Photo of the delivery']",
        },
        {
            trigger: ".o_lastmile_portal_proof img[alt='Signature']",
        },
        {
            trigger: ".o_lastmile_portal_proof a:contains('Proof of delivery (PDF)')",
        },
        {
            content: "No map after the delivery",
            trigger: ".o_lastmile_tracking:not(:has(.o_lastmile_tracking_map))",
        },
        {
            content: "Give 4 stars",
            trigger: "label[for='lastmile_star_4']",
            run: "click",
        },
        {
            trigger: "textarea[name='comment']",
            run: "edit Friendly driver",
        },
        {
            trigger: "button:contains('Send my rating')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The rating is received",
            trigger: ".alert-success:contains('Thank you for your rating')",
        },
        {
            trigger: ".card:contains('Your rating'):contains('Friendly driver')",
        },
    ],
});

registry.category("web_tour.tours").add("lastmile_rated_delivery_form", {
    steps: () => [
        {
            content: "The dispatcher opens the customer's side of a rated delivery",
            trigger: ".o_notebook a[name='customer_tracking']",
            run: "click",
        },
        {
            content: "The rating and its comment are shown",
            trigger: ".o_field_widget[name='rating_label']:contains('4/5')",
        },
        {
            trigger: ".o_field_widget[name='rating_last_feedback']:contains('Friendly driver')",
        },
        {
            content: "The messages the customer was sent",
            trigger: ".o_field_widget[name='notification_summary']:contains('Delivered')",
        },
    ],
});
