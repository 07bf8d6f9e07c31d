import { Component, onMounted, onWillStart, onWillUnmount, useRef } from "@odoo/owl";
import { loadCSS, loadJS } from "@web/core/assets";
import { registry } from "@web/core/registry";
import { escape } from "@web/core/utils/strings";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

const LEAFLET = "/lastmile_delivery/static/lib/leaflet";

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
            await Promise.all([loadJS(`${LEAFLET}/leaflet.js`), loadCSS(`${LEAFLET}/leaflet.css`)]);
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
        this.map = L.map(this.mapRef.el, { zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false });
        // a view first: markers added to a map without one are never placed
        const first = this.data.start || (this.data.stops[0] && [this.data.stops[0].lat, this.data.stops[0].lng]);
        this.map.setView(first || [20, 0], first ? 13 : 2);
        L.tileLayer(this.data.tile_url, { maxZoom: 19, attribution: escape(this.data.tile_attribution) }).addTo(
            this.map
        );
        const line = [];
        if (this.data.start) {
            line.push(this.data.start);
            L.marker(this.data.start, {
                icon: L.divIcon({
                    className: "o_lastmile_pin_wrap",
                    html: '<div class="o_lastmile_driver"><i class="fa fa-home"></i></div>',
                    iconSize: [32, 32],
                    iconAnchor: [16, 16],
                }),
            }).addTo(this.map);
        }
        for (const stop of this.data.stops) {
            line.push([stop.lat, stop.lng]);
            L.marker([stop.lat, stop.lng], {
                icon: L.divIcon({
                    className: "o_lastmile_pin_wrap",
                    html: `<div class="o_lastmile_pin" style="background:#1f77b4">${stop.sequence}</div>`,
                    iconSize: [26, 26],
                    iconAnchor: [13, 13],
                }),
            })
                .bindPopup(
                    `<strong>${escape(stop.customer)}</strong><br/>${escape(stop.address || "")}<br/>` +
                        `<span class="text-muted">ETA ${escape(stop.eta)} · ${escape(stop.window)}</span>`
                )
                .addTo(this.map);
        }
        if (this.data.end) {
            line.push(this.data.end);
        }
        const fit = () => {
            this.map.invalidateSize();
            if (line.length) {
                this.map.fitBounds(line, { padding: [20, 20], maxZoom: 15 });
            } else {
                this.map.setView([20, 0], 2);
            }
        };
        if (line.length) {
            L.polyline(line, { color: "#1f77b4", weight: 3, opacity: 0.8 }).addTo(this.map);
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
