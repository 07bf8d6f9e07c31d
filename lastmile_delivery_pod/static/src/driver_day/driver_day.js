import { Component, onMounted, onWillStart, onWillUnmount, useRef, useState } from "@odoo/owl";
import { ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { SignatureDialog } from "@web/core/signature/signature_dialog";
import { useService } from "@web/core/utils/hooks";
import { user } from "@web/core/user";
import { Outbox, postJson, sessionEnded } from "./outbox";

const MAX_SIDE = 1920;
const MAX_PHOTOS = 5; // as the server takes
const RETRY_MS = 20000;

function newKey() {
    if (window.crypto?.randomUUID) {
        return window.crypto.randomUUID().replaceAll("-", "");
    }
    return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 14)}`;
}

/** A photo from the camera, scaled down on the phone (less to keep offline and to send). */
async function shrinkPhoto(file) {
    const url = URL.createObjectURL(file);
    try {
        const image = await new Promise((resolve, reject) => {
            const img = new Image();
            img.onload = () => resolve(img);
            img.onerror = () => reject(new Error("not an image"));
            img.src = url;
        });
        const scale = Math.min(1, MAX_SIDE / Math.max(image.naturalWidth, image.naturalHeight));
        const canvas = document.createElement("canvas");
        canvas.width = Math.round(image.naturalWidth * scale);
        canvas.height = Math.round(image.naturalHeight * scale);
        canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
        return canvas.toDataURL("image/jpeg", 0.85);
    } finally {
        URL.revokeObjectURL(url);
    }
}

/** What the stop screen captures, blank: a new stop starts from nothing. */
function emptyCapture() {
    return {
        mode: "stop", // stop, deliver, fail
        photos: [],
        signature: null,
        recipient: "",
        note: "",
        reasonId: null,
        quantities: {},
    };
}

/** The phone's position: ``{coords}``, or ``{coords: null, denied}`` (location turned off). */
function currentPosition(timeout = 8000) {
    return new Promise((resolve) => {
        if (!navigator.geolocation) {
            resolve({ coords: null, denied: true });
            return;
        }
        navigator.geolocation.getCurrentPosition(
            (position) => resolve({ coords: position.coords, denied: false }),
            (error) => resolve({ coords: null, denied: error.code === 1 }),
            { enableHighAccuracy: true, timeout, maximumAge: 30000 }
        );
    });
}

/**
 * My Route: the driver's day on a phone. The list of today's stops in order, then one stop at a
 * time: call, navigate, arrive, deliver with photo and signature, or report a failure with its
 * reason. Reports go through the outbox (see outbox.js) and so survive a dead zone.
 */
export class DriverDay extends Component {
    static template = "lastmile_delivery_pod.DriverDay";
    static props = ["*"];

    setup() {
        this.dialog = useService("dialog");
        this.root = useRef("root");
        this.notification = useService("notification");
        this.outbox = new Outbox(user.userId);
        this.state = useState({
            loading: true,
            data: null,
            stopKey: null, // the stop screen of this stop, else the list
            ...emptyCapture(),
            waiting: [],
            refused: [], // reports the server refused, kept until the driver discards them
            loggedOut: false,
            locationOff: false, // the phone refuses its position: proofs go without it
            pending: {}, // stop key -> "delivered" / "failed": reported, not yet confirmed
            busy: false,
            sending: false, // the outbox is being sent
            online: navigator.onLine,
            showDone: false,
        });
        this.onOnline = () => {
            this.state.online = true;
            this.flush();
        };
        this.onOffline = () => {
            this.state.online = false;
        };
        onWillStart(async () => {
            await this.refreshWaiting();
            await this.load();
        });
        onMounted(() => {
            // the customer signs with a finger here: no typed or uploaded signature (driver_day.scss)
            document.body.classList.add("o_lastmile_driver_mode");
            window.addEventListener("online", this.onOnline);
            window.addEventListener("offline", this.onOffline);
            this.retryTimer = setInterval(() => this.flush(), RETRY_MS);
            this.flush();
            this.schedulePositions();
        });
        onWillUnmount(() => {
            document.body.classList.remove("o_lastmile_driver_mode");
            window.removeEventListener("online", this.onOnline);
            window.removeEventListener("offline", this.onOffline);
            clearInterval(this.retryTimer);
            clearInterval(this.positionTimer);
        });
    }

    // ------------------------------------------------------------------ data

    /** Show the day as the server sent it; counted, so that older answers still on their way
     * are dropped (see load). */
    showDay(data) {
        this.loaded = (this.loaded || 0) + 1;
        this.state.data = data;
    }

    async load() {
        // answers may come back out of order: only the last one asked for is shown
        const asked = (this.loading = (this.loading || 0) + 1);
        const shown = this.loaded;
        try {
            const answer = await postJson("/lastmile/driver/day", {});
            if (asked !== this.loading || shown !== this.loaded) {
                return;
            }
            this.noteSession(answer);
            if (answer.status === 200 && answer.answered) {
                this.showDay(answer.payload);
                this.state.online = true;
            } else {
                this.notification.add(answer.payload.error || _t("My Route could not be loaded."), {
                    type: "danger",
                });
            }
        } catch {
            this.state.online = false; // keep what is on screen
        }
        this.state.loading = false;
    }

    /** An answer that is not the endpoint's (a login page) means the session has ended. */
    noteSession(answer) {
        this.state.loggedOut = sessionEnded(answer);
    }

    async refreshWaiting() {
        const items = await this.outbox.list();
        this.state.waiting = items.filter((item) => !item.refused);
        this.state.refused = items.filter((item) => item.refused);
        const pending = {};
        for (const item of this.state.waiting) {
            pending[item.stopKey] = item.body.proof.kind;
        }
        this.state.pending = pending;
    }

    /** The driver has seen a refused report: it leaves the phone. */
    async discard(item) {
        await this.outbox.remove(item.key);
        await this.refreshWaiting();
    }

    async flush() {
        this.state.sending = true;
        let sent, refused, loggedOut;
        try {
            ({ sent, refused, loggedOut } = await this.outbox.flush());
        } catch {
            ({ sent, refused, loggedOut } = { sent: [], refused: [], loggedOut: false });
        } finally {
            this.state.sending = false;
        }
        this.state.loggedOut = loggedOut;
        for (const { item, message } of refused) {
            this.notification.add(`${item.label}: ${message}`, {
                title: _t("Not recorded"),
                type: "danger",
                sticky: true,
            });
        }
        if (sent.length) {
            this.notification.add(
                sent.length === 1 ? _t("Stop recorded.") : _t("%s stops recorded.", sent.length),
                { type: "success" }
            );
        }
        await this.refreshWaiting();
        if (sent.length || refused.length) {
            await this.load();
        }
    }

    get route() {
        return this.state.data?.route;
    }

    get stops() {
        return this.state.data?.stops || [];
    }

    get openStops() {
        return this.stops.filter((s) => !s.done && !this.state.pending[s.key]);
    }

    get doneStops() {
        return this.stops.filter((s) => s.done || this.state.pending[s.key]);
    }

    get stop() {
        return this.stops.find((s) => s.key === this.state.stopKey);
    }

    get reasons() {
        return this.state.data?.reasons || [];
    }

    get reason() {
        return this.reasons.find((r) => r.id === this.state.reasonId);
    }

    get started() {
        return Boolean(this.route?.started);
    }

    /** Deliveries of the route not on the way yet: before the start, or added to it since. */
    get toStart() {
        return this.route?.to_start || 0;
    }

    stopStatus(stop) {
        const pending = this.state.pending[stop.key];
        if (pending) {
            return pending === "delivered" ? _t("Delivered · waiting to send") : _t("Failed · waiting to send");
        }
        return (
            {
                delivered: _t("Delivered"),
                failed: _t("Failed"),
                in_transit: stop.arrived ? _t("At the door") : _t("On the way"),
                assigned: _t("Planned"),
            }[stop.state] || stop.state
        );
    }

    /** The reasons the deliveries of a stop failed for, each once. */
    failureReasons(stop) {
        return [...new Set(stop.deliveries.map((delivery) => delivery.failure_reason).filter(Boolean))];
    }

    proofLabel(stop) {
        return (
            {
                none: _t("No proof needed"),
                photo: _t("Photo needed"),
                signature: _t("Signature needed"),
                either: _t("Photo or signature"),
                both: _t("Photo and signature"),
            }[stop.proof_required] || ""
        );
    }

    // ------------------------------------------------------------------ positions

    schedulePositions() {
        clearInterval(this.positionTimer);
        const seconds = this.state.data?.settings?.position_interval || 30;
        this.positionTimer = setInterval(() => this.sendPosition(), seconds * 1000);
    }

    async sendPosition() {
        if (!this.route || this.route.state !== "in_progress" || !navigator.onLine) {
            return;
        }
        const { coords, denied } = await currentPosition();
        this.state.locationOff = denied;
        if (!coords) {
            return;
        }
        const shown = this.loaded; // a day shown since (a break taken) is newer than this answer
        try {
            const answer = await postJson("/lastmile/driver/position", {
                route_id: this.route.id,
                latitude: coords.latitude,
                longitude: coords.longitude,
                accuracy: coords.accuracy,
                timestamp: Date.now(),
            });
            if (answer.status === 200 && answer.answered && shown === this.loaded) {
                if (answer.payload.back_at) {
                    this.route.back_at = answer.payload.back_at;
                }
                for (const key of ["break_at", "on_break", "break_until", "can_take_break"]) {
                    this.route[key] = answer.payload[key];
                }
                for (const stop of this.stops) {
                    const eta = answer.payload.etas?.[stop.task_ids[0]];
                    if (eta) {
                        stop.eta = eta;
                    }
                }
            }
        } catch {
            // no network: the next position will do
        }
    }

    // ------------------------------------------------------------------ list

    async onStartRoute() {
        const started = await this.routeAction("/lastmile/driver/route/start", {
            done: _t("Route started: drive safely."),
            failed: _t("The route could not be started."),
            offline: _t("No network: start the route again when you have a signal."),
        });
        if (started) {
            this.sendPosition();
        }
    }

    /** The driver stops for the break now, once confirmed (an accidental tap would move every
     * customer's ETA). */
    onTakeBreak() {
        this.dialog.add(ConfirmationDialog, {
            title: _t("Take your break now?"),
            body: this.route.break_at
                ? _t(
                      "Your %(minutes)s-minute break starts now, instead of %(planned)s as planned. You take it once.",
                      { minutes: this.route.break_minutes, planned: this.route.break_at }
                  )
                : _t("Your %(minutes)s-minute break starts now. You take it once.", {
                      minutes: this.route.break_minutes,
                  }),
            confirmLabel: _t("Start my break"),
            confirm: async () => {
                // the dialog closes whatever the answer (a refusal is said in a notification)
                await this.routeAction("/lastmile/driver/route/break", {
                    done: _t("Enjoy your break."),
                    failed: _t("The break could not be recorded."),
                    offline: _t("No network: start the break again when you have a signal."),
                });
            },
            cancel: () => {},
        });
    }

    /**
     * POST an action on the route (``url``) and show the day the server answers with, and the
     * ``done`` message; else the server's refusal (or ``failed``) and the day as the server has it
     * (a first try may have reached it), or ``offline``. Resolves to whether it was done.
     */
    async routeAction(url, { done, failed, offline }) {
        this.state.busy = true;
        try {
            const answer = await postJson(url, { route_id: this.route.id });
            this.noteSession(answer);
            if (answer.status === 200 && answer.answered) {
                this.showDay(answer.payload);
                this.notification.add(done, { type: "success" });
                return true;
            }
            this.notification.add(answer.payload.error || failed, { type: "danger", sticky: true });
            await this.load();
        } catch {
            this.notification.add(offline, { type: "warning" });
        } finally {
            this.state.busy = false;
        }
        return false;
    }

    openStop(stop) {
        Object.assign(this.state, { stopKey: stop.key, ...emptyCapture() });
        this.scrollTop();
    }

    backToList() {
        this.state.stopKey = null;
        this.scrollTop();
    }

    /** Back to the top of the screen (the next stop, or the stop's header). */
    scrollTop() {
        if (this.root.el) {
            this.root.el.scrollTop = 0;
        }
        window.scrollTo(0, 0);
    }

    // ------------------------------------------------------------------ stop screen

    async onArrive() {
        const stop = this.stop;
        try {
            const answer = await postJson("/lastmile/driver/stop/arrive", { task_ids: stop.task_ids });
            this.noteSession(answer);
            if (answer.status === 200 && answer.answered) {
                stop.arrived = true;
            } else {
                this.notification.add(answer.payload.error || _t("The arrival could not be sent."), {
                    type: "danger",
                });
            }
        } catch {
            stop.arrived = true; // the arrival time is the report's when offline
        }
    }

    isOutOfOrder(stop) {
        const first = this.openStops[0];
        return Boolean(first && first.key !== stop.key);
    }

    chooseMode(mode) {
        const go = () => {
            this.state.mode = mode;
        };
        const stop = this.stop;
        if (this.state.data.settings.warn_out_of_order && this.isOutOfOrder(stop)) {
            this.dialog.add(ConfirmationDialog, {
                title: _t("Not the next stop"),
                body: _t(
                    "Stop %(next)s comes first on your route. Do stop %(this)s now anyway?",
                    { next: this.openStops[0].number, this: stop.number }
                ),
                confirmLabel: _t("Yes, do it now"),
                confirm: go,
                cancel: () => {},
            });
        } else {
            go();
        }
    }

    async onPhotos(ev) {
        const room = MAX_PHOTOS - this.state.photos.length;
        const files = [...(ev.target.files || [])].slice(0, Math.max(room, 0));
        if (ev.target.files.length > files.length) {
            this.notification.add(_t("At most %s photos per stop.", MAX_PHOTOS), { type: "warning" });
        }
        ev.target.value = "";
        for (const file of files) {
            try {
                this.state.photos.push(await shrinkPhoto(file));
            } catch {
                this.notification.add(_t("This file is not a photo."), { type: "danger" });
            }
        }
    }

    removePhoto(index) {
        this.state.photos.splice(index, 1);
    }

    onSign() {
        this.dialog.add(SignatureDialog, {
            defaultName: this.state.recipient,
            nameAndSignatureProps: { mode: "draw", displaySignatureRatio: 2.5 },
            uploadSignature: ({ name, signatureImage }) => {
                this.state.signature = signatureImage;
                if (name) {
                    this.state.recipient = name;
                }
            },
        });
    }

    lineQuantity(line) {
        return this.state.quantities[line.move_id] ?? line.quantity;
    }

    changeQuantity(line, delta) {
        const value = Math.min(line.quantity, Math.max(0, this.lineQuantity(line) + delta));
        this.state.quantities[line.move_id] = value;
    }

    get proofMissing() {
        const photo = this.state.photos.length > 0;
        const signature = Boolean(this.state.signature);
        if (this.state.mode === "fail") {
            if (!this.reason) {
                return _t("Choose a reason.");
            }
            return this.reason.photo_required && !photo ? _t("This reason needs a photo.") : "";
        }
        let both = _t("Get a signature.");
        if (!photo) {
            both = signature ? _t("Take a photo.") : _t("Take a photo and get a signature.");
        }
        return (
            {
                photo: photo ? "" : _t("Take a photo."),
                signature: signature ? "" : _t("Get a signature."),
                either: photo || signature ? "" : _t("Take a photo or get a signature."),
                both: photo && signature ? "" : both,
            }[this.stop.proof_required] || ""
        );
    }

    async onReport() {
        const stop = this.stop;
        if (this.proofMissing || this.state.busy) {
            return;
        }
        this.state.busy = true;
        try {
            const { coords, denied } = await currentPosition(5000);
            this.state.locationOff = denied;
            const failed = this.state.mode === "fail";
            const proof = {
                key: newKey(),
                kind: failed ? "failed" : "delivered",
                captured_at: new Date().toISOString(),
                photos: [...this.state.photos],
                signature: failed ? false : this.state.signature || false,
                recipient_name: failed ? "" : this.state.recipient,
                note: this.state.note,
                failure_reason_id: failed ? this.state.reasonId : false,
                quantities: failed ? {} : { ...this.state.quantities },
            };
            if (coords) {
                Object.assign(proof, {
                    latitude: coords.latitude,
                    longitude: coords.longitude,
                    accuracy: coords.accuracy,
                });
            }
            await this.outbox.add({
                key: proof.key,
                url: "/lastmile/driver/stop/report",
                body: { task_ids: stop.task_ids, proof },
                stopKey: stop.key,
                label: _t("Stop %(number)s, %(customer)s", { number: stop.number, customer: stop.customer }),
            });
            await this.refreshWaiting();
            this.backToList();
            await this.flush();
            if (this.state.waiting.some((item) => item.key === proof.key)) {
                this.notification.add(_t("No network: the stop is saved on the phone and will be sent."), {
                    type: "warning",
                });
            }
        } finally {
            this.state.busy = false;
        }
    }
}

registry.category("actions").add("lastmile_driver_day", DriverDay);
