import { registry } from "@web/core/registry";
import { Interaction } from "@web/public/interaction";
import { createMap, fitPoints, loadLeaflet, placeIcon } from "../map/leaflet_map";

/** How often the page asks for the delivery's news (status, arrival time, driver's position). */
export const REFRESH_MS = 15000;

/**
 * The customer's tracking page of a delivery: a map of the destination and, while the driver is
 * on the way to this customer, of the driver; the status, the expected arrival and the stops
 * before refreshed from the page's small JSON endpoint without reloading.
 */
export class LastmileTracking extends Interaction {
    static selector = ".o_lastmile_tracking";
    dynamicContent = {
        "[data-lastmile='eta']": { "t-out": () => this.live.eta_label || "" },
        "[data-lastmile='eta-block']": { "t-att-class": () => ({ "d-none": !this.live.eta_label || this.live.closed }) },
        "[data-lastmile='stops']": { "t-out": () => this.live.stops_label },
        "[data-lastmile='stops-block']": { "t-att-class": () => ({ "d-none": !this.live.stops_label }) },
        "[data-lastmile='driver-seen']": { "t-out": () => this.seenLabel() },
        "[data-lastmile='map-note']": { "t-att-class": () => ({ "d-none": Boolean(this.live.driver) }) },
    };

    setup() {
        this.live = JSON.parse(this.el.dataset.live);
        this.tiles = JSON.parse(this.el.dataset.tiles);
        this.liveUrl = this.el.dataset.liveUrl;
        this.map = null;
        this.driverMarker = null;
    }

    async willStart() {
        if (this.el.querySelector(".o_lastmile_tracking_map") && this.live.destination) {
            await loadLeaflet();
        }
    }

    start() {
        const mapEl = this.el.querySelector(".o_lastmile_tracking_map");
        if (mapEl && this.live.destination && window.L) {
            const home = [this.live.destination.lat, this.live.destination.lng];
            this.map = createMap(mapEl, this.tiles, { view: [home, 15], zoomControl: true });
            window.L.marker(home, { icon: placeIcon("fa-home"), title: mapEl.dataset.homeTitle }).addTo(this.map);
            this.registerCleanup(() => this.map.remove());
            this.placeDriver();
        }
        if (!this.live.closed) {
            const timer = setInterval(() => this.refresh(), REFRESH_MS);
            this.registerCleanup(() => clearInterval(timer));
        }
    }

    /** A text of the page, in the customer's language (the template's hidden labels). */
    label(name) {
        return this.el.querySelector(`[data-label='${name}']`).textContent;
    }

    seenLabel() {
        return this.live.driver ? this.label("seen").replace("%s", this.live.driver.at) : "";
    }

    placeDriver() {
        if (!this.map) {
            return;
        }
        const driver = this.live.driver;
        if (!driver) {
            if (this.driverMarker) {
                this.driverMarker.remove();
                this.driverMarker = null;
            }
            return;
        }
        const where = [driver.lat, driver.lng];
        if (this.driverMarker) {
            this.driverMarker.setLatLng(where);
        } else {
            this.driverMarker = window.L.marker(where, {
                icon: placeIcon("fa-truck", "#0d6efd"),
                title: this.label("driver"),
            }).addTo(this.map);
            fitPoints(this.map, [where, [this.live.destination.lat, this.live.destination.lng]], 60);
        }
    }

    async refresh() {
        let response;
        try {
            response = await this.waitFor(fetch(this.liveUrl, { headers: { Accept: "application/json" } }));
        } catch {
            return; // offline for a moment: the next round tries again
        }
        if (!response.ok) {
            return;
        }
        const live = await this.waitFor(response.json());
        const changed = live.state !== this.live.state;
        this.live = live;
        if (changed) {
            // a new stage (delivered, not delivered…) changes what the page offers: reload it
            window.location.reload();
            return;
        }
        this.placeDriver();
    }
}

registry.category("public.interactions").add("lastmile_delivery.tracking", LastmileTracking);
