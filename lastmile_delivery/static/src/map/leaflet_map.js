import { loadCSS, loadJS } from "@web/core/assets";
import { escape } from "@web/core/utils/strings";

/**
 * What the two maps of Last Mile (the dispatch map and the route form's map) share: Leaflet,
 * vendored in static/lib and loaded on demand, the background tiles set in Settings → Last Mile,
 * and the markers.
 */
const LEAFLET = "/lastmile_delivery/static/lib/leaflet";

export function loadLeaflet() {
    return Promise.all([loadJS(`${LEAFLET}/leaflet.js`), loadCSS(`${LEAFLET}/leaflet.css`)]);
}

/**
 * A Leaflet map in `el` showing the tiles of `data` (`tile_url`, `tile_attribution`, as the
 * server's map data gives them), centered on `view` ([lat, lng], zoom) when given: markers
 * added to a map that has no view yet are never placed.
 */
export function createMap(el, data, { view = null, ...options } = {}) {
    const L = window.L;
    const map = L.map(el, options);
    if (view) {
        map.setView(...view);
    }
    L.tileLayer(data.tile_url, { maxZoom: 19, attribution: escape(data.tile_attribution) }).addTo(map);
    return map;
}

/** Fits the map to `points`, or shows the whole world when there are none. */
export function fitPoints(map, points, padding = 30) {
    if (points.length) {
        map.fitBounds(points, { padding: [padding, padding], maxZoom: 15 });
    } else {
        map.setView([20, 0], 2);
    }
}

/** A round pin carrying a stop number (or a dot), in the driver's color; ringed red when late. */
export function stopIcon(label, color, late = false) {
    return window.L.divIcon({
        className: "o_lastmile_pin_wrap",
        html: `<div class="o_lastmile_pin ${late ? "o_lastmile_pin_late" : ""}" style="background:${color}">${escape(String(label))}</div>`,
        iconSize: [26, 26],
        iconAnchor: [13, 13],
    });
}

/** A larger round marker with a Font Awesome icon: a driver (truck) or a depot (home). */
export function placeIcon(icon, color = "") {
    return window.L.divIcon({
        className: "o_lastmile_pin_wrap",
        html: `<div class="o_lastmile_driver" style="${color ? `border-color:${color}` : ""}"><i class="fa ${icon}"></i></div>`,
        iconSize: [32, 32],
        iconAnchor: [16, 16],
    });
}
