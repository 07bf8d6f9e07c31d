import { Component, onMounted, onWillStart, onWillUnmount, useRef, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { serializeDate } from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { escape } from "@web/core/utils/strings";
import { createMap, fitPoints, loadLeaflet, placeIcon, stopIcon } from "../map/leaflet_map";

const { DateTime } = luxon;
const UNASSIGNED_COLOR = "#6c757d";
// Distinct hues for the drivers (grey is kept for unassigned deliveries).
const PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#ad494a",
];

/**
 * The dispatcher's map of a day: one numbered pin per delivery (colored by driver, grey when
 * unassigned, red ring when late) and the drivers' positions. Data comes from
 * `lastmile.delivery.task.get_map_data`; Leaflet is loaded on demand from static/lib.
 */
export class DispatchMap extends Component {
    static template = "lastmile_delivery.DispatchMap";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.notification = useService("notification");
        this.mapRef = useRef("map");
        this.state = useState({ day: DateTime.local().startOf("day"), data: null, driverId: null });
        this.layers = null;
        onWillStart(async () => {
            await loadLeaflet();
            await this.load();
        });
        onMounted(() => this.mountMap());
        onWillUnmount(() => this.map?.remove());
    }

    get dayLabel() {
        return this.state.day.toLocaleString(DateTime.DATE_HUGE);
    }

    get drivers() {
        const data = this.state.data;
        return data.drivers.map((driver) => ({
            ...driver,
            colorHex: this.driverColor(driver.id),
            count: data.tasks.filter((t) => t.driver_id === driver.id).length,
        }));
    }

    get unassignedCount() {
        return this.state.data.tasks.filter((t) => !t.driver_id && t.state === "new").length;
    }

    driverColor(driverId) {
        if (!driverId) {
            return UNASSIGNED_COLOR;
        }
        const driver = this.state.data.drivers.find((d) => d.id === driverId);
        const index = (driver && driver.color) || driverId;
        return PALETTE[index % PALETTE.length];
    }

    async load() {
        this.state.data = await this.orm.call("lastmile.delivery.task", "get_map_data", [], {
            date: serializeDate(this.state.day),
        });
    }

    mountMap() {
        this.map = createMap(this.mapRef.el, this.state.data, { zoomControl: true });
        this.layers = window.L.layerGroup().addTo(this.map);
        this.drawMarkers(true);
    }

    drawMarkers(fit) {
        const L = window.L;
        this.layers.clearLayers();
        const bounds = [];
        const only = this.state.driverId;
        for (const task of this.state.data.tasks) {
            if (only !== null && (task.driver_id || false) !== only) {
                continue;
            }
            const label = task.driver_id && task.sequence ? task.sequence : "•";
            const icon = stopIcon(label, this.driverColor(task.driver_id), task.late);
            const marker = L.marker([task.lat, task.lng], { icon, title: task.name });
            marker.bindPopup(this.popupHtml(task));
            marker.on("popupopen", (ev) => {
                ev.popup.getElement().querySelector(".o_lastmile_open")?.addEventListener("click", () => {
                    this.openTask(task.id);
                });
            });
            marker.addTo(this.layers);
            bounds.push([task.lat, task.lng]);
        }
        // planned routes: the driver's start, then the stops in order
        for (const driver of this.state.data.drivers) {
            if (only !== null && only !== driver.id) {
                continue;
            }
            const stops = this.state.data.tasks
                .filter((t) => t.driver_id === driver.id && t.route_id)
                .sort((a, b) => a.sequence - b.sequence);
            if (stops.length) {
                const line = [...(driver.start ? [driver.start] : []), ...stops.map((t) => [t.lat, t.lng])];
                L.polyline(line, { color: this.driverColor(driver.id), weight: 3, opacity: 0.7 }).addTo(this.layers);
            }
        }
        for (const driver of this.state.data.drivers) {
            if (!driver.lat && !driver.lng) {
                continue;
            }
            if (only !== null && only !== driver.id) {
                continue;
            }
            const icon = placeIcon("fa-truck", this.driverColor(driver.id));
            const seen = driver.last_seen ? _t("seen at %s", driver.last_seen) : _t("at the start location");
            L.marker([driver.lat, driver.lng], { icon, title: driver.name, zIndexOffset: 1000 })
                .bindPopup(`<strong>${escape(driver.name)}</strong><br/>${escape(seen)}`)
                .addTo(this.layers);
            bounds.push([driver.lat, driver.lng]);
        }
        if (fit) {
            fitPoints(this.map, bounds);
        }
    }

    popupHtml(task) {
        const driver = this.state.data.drivers.find((d) => d.id === task.driver_id);
        const who = driver ? _t("Stop %(stop)s of %(driver)s", { stop: task.sequence, driver: driver.name }) : _t("Not assigned");
        return `<div class="o_lastmile_popup">
            <strong>${escape(task.customer)}</strong><br/>
            ${escape(task.address || "")}<br/>
            <span class="text-muted">${escape(task.window)}${task.eta ? ` · ETA ${escape(task.eta)}` : ""} · ${escape(task.name)}</span><br/>
            ${escape(who)}${task.late ? ` · <span class="text-danger">${escape(task.late_minutes ? _t("Late by %s min", task.late_minutes) : _t("Late"))}</span>` : ""}<br/>
            <button type="button" class="btn btn-link p-0 o_lastmile_open">${escape(_t("Open"))}</button>
        </div>`;
    }

    async changeDay(offset) {
        this.state.day = offset ? this.state.day.plus({ days: offset }) : DateTime.local().startOf("day");
        await this.refresh(true);
    }

    async refresh(fit = false) {
        await this.load();
        this.drawMarkers(fit);
    }

    filterDriver(driverId) {
        this.state.driverId = this.state.driverId === driverId ? null : driverId;
        this.drawMarkers(true);
    }

    async dispatchDay() {
        const ids = this.state.data.tasks.filter((t) => t.state === "new").map((t) => t.id);
        if (!ids.length) {
            this.notification.add(_t("Every delivery of this day has a driver."), { type: "info" });
            return;
        }
        const result = await this.orm.call("lastmile.delivery.task", "action_dispatch", [ids]);
        if (result?.params?.message) {
            this.notification.add(result.params.message, { type: result.params.type });
        }
        await this.refresh();
    }

    openTask(taskId) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "lastmile.delivery.task",
            res_id: taskId,
            views: [[false, "form"]],
        });
    }
}

registry.category("actions").add("lastmile_delivery.dispatch_map", DispatchMap);
