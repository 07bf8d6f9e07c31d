import { registry } from "@web/core/registry";

/**
 * A driver's day on a phone (see tests/test_ui.py for the route it runs): start, a stop with a
 * photo and a signature, a grouped stop, a failure done out of order, and a capture made with no
 * network that is delivered once.
 */

const realFetch = window.fetch.bind(window);

/** The phone's GPS: a fixed place near the stops. */
function fakeGeolocation() {
    const coords = { latitude: 50.8504, longitude: 4.3518, accuracy: 12 };
    Object.defineProperty(navigator, "geolocation", {
        configurable: true,
        value: {
            getCurrentPosition: (success) => setTimeout(() => success({ coords, timestamp: Date.now() })),
        },
    });
}

/** What the camera gives: a JPEG picture, set on the hidden file input of the photo button. */
async function takePhoto(label) {
    const canvas = document.createElement("canvas");
    canvas.width = 800;
    canvas.height = 600;
    const context = canvas.getContext("2d");
    context.fillStyle = "#c0392b";
    context.fillRect(0, 0, 800, 600);
    context.fillStyle = "#ffffff";
    context.fillRect(200, 150, 400, 300);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
    const transfer = new DataTransfer();
    transfer.items.add(new File([blob], "door.jpg", { type: "image/jpeg" }));
    const input = label.querySelector("input[type=file]");
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
}

/** A finger drawing on the signature pad. */
function drawSignature(canvas) {
    const box = canvas.getBoundingClientRect();
    const at = (x, y) => ({
        bubbles: true,
        isPrimary: true,
        pointerId: 1,
        pointerType: "touch",
        buttons: 1,
        clientX: box.left + x * box.width,
        clientY: box.top + y * box.height,
    });
    canvas.dispatchEvent(new PointerEvent("pointerdown", at(0.1, 0.6)));
    for (let i = 1; i <= 10; i++) {
        window.dispatchEvent(new PointerEvent("pointermove", at(0.1 + i * 0.08, 0.6 - (i % 2) * 0.3)));
    }
    window.dispatchEvent(new PointerEvent("pointerup", { ...at(0.9, 0.5), buttons: 0 }));
}

function cutNetwork() {
    window.fetch = (url, options) =>
        String(url).startsWith("/lastmile/")
            ? Promise.reject(new TypeError("Failed to fetch"))
            : realFetch(url, options);
    window.dispatchEvent(new Event("offline"));
}

/**
 * The report reaches the server, but its answer is lost on the way back. Resolves once a
 * report has been received and its answer dropped.
 */
function loseAnswers() {
    return new Promise((lost) => {
        window.fetch = async (url, options) => {
            const response = await realFetch(url, options);
            if (String(url).startsWith("/lastmile/driver/stop/report")) {
                lost();
                throw new TypeError("Failed to fetch");
            }
            return response;
        };
    });
}

function restoreNetwork() {
    window.fetch = realFetch;
    window.dispatchEvent(new Event("online"));
}

/** The phone has heard back from what it sent. */
function idle() {
    return { trigger: ".o_lastmile_driver_day:not(.o_lastmile_busy)" };
}

function openStop(customer) {
    return {
        content: `Open the stop of ${customer}`,
        trigger: `.o_lastmile_stop:contains(${customer})`,
        run: "click",
    };
}

function photoStep() {
    return {
        content: "Take a photo",
        trigger: ".o_lastmile_photo",
        async run() {
            await takePhoto(this.anchor);
        },
    };
}

/** Fail Fred's stop (out of order: Olga comes first) for nobody at home, with a photo. */
function failFred() {
    return [
        openStop("Fred Failed"),
        {
            trigger: ".o_lastmile_fail",
            run: "click",
        },
        {
            content: "Olga comes first: the driver is warned",
            trigger: ".modal:contains(Not the next stop) .modal-footer .btn-primary",
            run: "click",
        },
        {
            trigger: ".o_lastmile_reasons button:contains(Nobody at home)",
            run: "click",
        },
        {
            content: "No photo yet: the report cannot go",
            trigger: ".o_lastmile_proof:contains(This reason needs a photo) .o_lastmile_confirm:disabled",
        },
        photoStep(),
        {
            trigger: ".o_lastmile_confirm:enabled:contains(Confirm failed delivery)",
            run() {
                if (!refusedOnce) {
                    refusedOnce = true;
                    refuseNextReport();
                }
                this.anchor.click();
            },
        },
        idle(),
    ];
}

let refusedOnce = false;

/** The server refuses the next report (a 422 with its message), as it would a bad capture. */
function refuseNextReport() {
    window.fetch = (url, options) => {
        if (String(url).startsWith("/lastmile/driver/stop/report")) {
            window.fetch = realFetch;
            const body = JSON.stringify({ error: "Refused for the tour." });
            return Promise.resolve(
                new Response(body, { status: 422, headers: { "Content-Type": "application/json" } })
            );
        }
        return realFetch(url, options);
    };
}

registry.category("web_tour.tours").add("lastmile_driver_day", {
    url: "/odoo",
    steps: () => [
        {
            content: "A driver lands on My Route: four stops, the second of two orders",
            trigger: ".o_lastmile_driver_day .o_lastmile_stop:contains(Gina Grouped):contains(2 orders)",
            run: fakeGeolocation,
        },
        {
            content: "Start the route",
            trigger: ".o_lastmile_start",
            run: "click",
        },
        {
            trigger: ".o_notification:contains(Route started)",
        },
        {
            content: "Stop for the break now, where the round allows it",
            trigger: ".o_lastmile_take_break",
            run: "click",
        },
        {
            content: "A tap by mistake would move every ETA: the driver confirms",
            trigger: ".modal:contains(30-minute break starts now, instead of) .modal-footer .btn-primary:contains(Start my break)",
            run: "click",
        },
        {
            trigger: ".o_lastmile_on_break:contains(on break until)",
        },
        {
            content: "The break is taken once",
            trigger: ".o_lastmile_day_header:not(:has(.o_lastmile_take_break))",
        },

        // 1. Sam: a photo and a signature are both needed
        openStop("Sam Single"),
        {
            content: "Tell the shop I am at the door",
            trigger: ".o_lastmile_arrived",
            run: "click",
        },
        {
            trigger: ".o_lastmile_stop_screen .badge:contains(At the door)",
        },
        {
            trigger: ".o_lastmile_deliver",
            run: "click",
        },
        {
            content: "The load to hand over, with its quantities",
            trigger: ".o_lastmile_line:contains(Pizza box) .o_lastmile_qty:contains(2)",
        },
        photoStep(),
        {
            content: "A photo alone is not enough here",
            trigger: ".o_lastmile_proof:contains(get a signature) .o_lastmile_confirm:disabled",
        },
        {
            trigger: ".o_lastmile_sign",
            run: "click",
        },
        {
            content: "The customer gives a name, then signs with a finger",
            trigger: ".modal .o_web_sign_name_and_signature input",
            run: "edit Sam",
        },
        {
            trigger: ".modal canvas.o_web_sign_signature",
            run() {
                drawSignature(this.anchor);
            },
        },
        {
            trigger: ".modal .modal-footer .btn-primary:enabled",
            run: "click",
        },
        {
            trigger: "img.o_lastmile_signature",
        },
        {
            trigger: ".o_lastmile_recipient:value(Sam)",
        },
        {
            trigger: ".o_lastmile_confirm:enabled",
            run: "click",
        },
        {
            content: "Back on the list, the stop is recorded",
            trigger: ".o_notification:contains(Stop recorded)",
        },
        {
            trigger: ".o_lastmile_driver_day:not(:has(.o_lastmile_stop:contains(Sam Single)))",
        },
        idle(),

        // 2. Gina: two orders, one stop, one proof
        openStop("Gina Grouped"),
        {
            trigger: ".o_lastmile_deliver",
            run: "click",
        },
        {
            content: "Both orders are handed over here",
            trigger: ".o_lastmile_stop_screen:has(.o_lastmile_line:contains(Lemonade)):has(.o_lastmile_line:contains(Pizza box))",
        },
        photoStep(),
        {
            trigger: ".o_lastmile_thumb img",
        },
        {
            trigger: ".o_lastmile_confirm:enabled",
            run: "click",
        },
        {
            trigger: ".o_lastmile_driver_day:not(:has(.o_lastmile_stop:contains(Gina Grouped)))",
        },
        idle(),

        // 4 before 3: Fred is not at home; the reason needs a photo. The first report is
        // refused by the server: it stays on the phone with the message until discarded.
        ...failFred(),
        {
            content: "Refused: the phone keeps the report and says why",
            trigger: ".o_lastmile_refused:contains(Fred Failed):contains(Refused for the tour)",
        },
        {
            trigger: ".o_lastmile_refused button:contains(Discard)",
            run: "click",
        },
        {
            content: "Discarded: Fred's stop is to do again",
            trigger: ".o_lastmile_driver_day:not(:has(.o_lastmile_refused)) .o_lastmile_stop:contains(Fred Failed)",
        },
        ...failFred(),
        {
            trigger: ".o_lastmile_driver_day:not(:has(.o_lastmile_stop:contains(Fred Failed)))",
        },
        idle(),

        // 3. Olga, in a dead zone
        openStop("Olga Offline"),
        {
            content: "The network drops",
            trigger: ".o_lastmile_deliver",
            run() {
                cutNetwork();
                this.anchor.click();
            },
        },
        {
            trigger: ".o_lastmile_offline",
        },
        photoStep(),
        {
            trigger: ".o_lastmile_recipient",
            run: "edit Olga",
        },
        {
            trigger: ".o_lastmile_confirm:enabled",
            run: "click",
        },
        {
            content: "The report waits on the phone, and the stop shows it",
            trigger: ".o_lastmile_waiting:contains(1 report(s) waiting)",
        },
        {
            trigger: ".o_notification:contains(saved on the phone)",
        },
        {
            content: "Open what is done",
            trigger: ".o_lastmile_driver_day button:contains(Done (4))",
            run: "click",
        },
        {
            trigger: ".o_lastmile_done li:contains(Olga Offline):contains(waiting to send)",
        },
        {
            content: "A weak signal: the report arrives but its answer is lost",
            trigger: ".o_lastmile_waiting button:contains(Send now):enabled",
            async run() {
                const lost = loseAnswers();
                this.anchor.click();
                await lost;
            },
        },
        {
            content: "The network is back: the report is sent again, and recorded once",
            trigger: ".o_lastmile_waiting:contains(1 report(s) waiting) button:contains(Send now):enabled",
            run: restoreNetwork,
        },
        {
            trigger: ".o_notification:contains(Stop recorded)",
        },
        {
            trigger: ".o_lastmile_driver_day:not(:has(.o_lastmile_waiting))",
        },
        {
            content: "The day is done",
            trigger: ".o_lastmile_driver_day:contains(All stops done)",
        },
        {
            trigger: ".o_lastmile_done li:contains(Olga Offline):contains(Delivered):not(:contains(waiting))",
        },
        {
            trigger: ".o_lastmile_done li:contains(Fred Failed):contains(Nobody at home)",
        },
    ],
});
