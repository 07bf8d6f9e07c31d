import { Component, onMounted, onWillStart, onWillUnmount, useRef } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { escape } from "@web/core/utils/strings";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";
import { createMap, fitPoints, loadLeaflet, placeIcon, stopIcon } from "../map/leaflet_map";

const ROUTE_COLOR = "#1f77b4";

/** The route form's map: numbered stops joined in their order, from start to end location. */
export class RouteMap extends Component {
    static template = "lastmile_delivery.RouteMap";
    static props = { ...standardWidgetProps };

    setup() {
        // the unprotected service: the form may re-render (and drop this widget) while the
        // data loads, which must not turn into an error
        this.orm = this.env.services.orm;
        this.mapRef = useRef("map");
        onWillStart(async () => {
            await loadLeaflet();
            this.data = this.props.record.resId
                ? await this.orm.call("lastmile.route", "get_route_map_data", [[this.props.record.resId]])
                : null;
        });
        onMounted(() => this.draw());
        onWillUnmount(() => {
            this.resizeObserver?.disconnect();
            this.map?.remove();
        });
    }

    draw() {
        const L = window.L;
        if (!this.data || !this.mapRef.el) {
            return;
        }
        // a view first: markers added to a map without one are never placed
        const first = this.data.start || (this.data.stops[0] && [this.data.stops[0].lat, this.data.stops[0].lng]);
        this.map = createMap(this.mapRef.el, this.data, {
            view: first ? [first, 13] : [[20, 0], 2],
            zoomAnimation: false,
            fadeAnimation: false,
            markerZoomAnimation: false,
        });
        const line = [];
        if (this.data.start) {
            line.push(this.data.start);
            L.marker(this.data.start, { icon: placeIcon("fa-home") }).addTo(this.map);
        }
        for (const stop of this.data.stops) {
            line.push([stop.lat, stop.lng]);
            const late = stop.late_minutes ? ` · ${escape(_t("late by %s min", stop.late_minutes))}` : "";
            L.marker([stop.lat, stop.lng], { icon: stopIcon(stop.sequence, ROUTE_COLOR, Boolean(stop.late_minutes)) })
                .bindPopup(
                    `<strong>${escape(stop.customer)}</strong><br/>${escape(stop.address || "")}<br/>` +
                        `<span class="text-muted">ETA ${escape(stop.eta)} · ${escape(stop.window)}${late}</span>`
                )
                .addTo(this.map);
        }
        if (this.data.end) {
            line.push(this.data.end);
        }
        const fit = () => {
            this.map.invalidateSize();
            fitPoints(this.map, line, 20);
        };
        if (line.length) {
            L.polyline(line, { color: ROUTE_COLOR, weight: 3, opacity: 0.8 }).addTo(this.map);
        }
        fit();
        // the form lays the widget out after it is mounted: fit again when its size changes
        let size = "";
        this.resizeObserver = new ResizeObserver(() => {
            const rect = this.mapRef.el.getBoundingClientRect();
            const current = `${Math.round(rect.width)}x${Math.round(rect.height)}`;
            if (current !== size && rect.width && rect.height) {
                size = current;
                fit();
            }
        });
        this.resizeObserver.observe(this.mapRef.el);
    }
}

registry.category("view_widgets").add("lastmile_route_map", { component: RouteMap });
