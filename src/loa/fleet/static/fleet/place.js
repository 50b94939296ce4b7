/* Device form: place the cluster by clicking the map (fills the latitude/longitude fields; typing still works). */
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("place-map");
    if (!el || !window.L) { return; }
    var lat = document.getElementById("f-lat"), lon = document.getElementById("f-lon");
    var num = function (v) { return parseFloat(String(v).replace(",", ".")); };
    var start = lat.value && lon.value ? [num(lat.value), num(lon.value)] : null;
    var centre = start || (el.dataset.lat ? [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)] : [16.0, 106.0]);
    var map = L.map(el, { minZoom: 5, maxZoom: 18 }).setView(centre, start || el.dataset.lat ? 14 : 6);
    if (el.dataset.tiles) { L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "" }).addTo(map); }
    else { el.classList.add("no-tiles"); }
    var icon = L.divIcon({ className: "", html: '<div class="dev-dot online"></div>', iconSize: [14, 14] });
    var marker = start ? L.marker(start, { icon: icon }).addTo(map) : null;
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
      if (marker) { marker.setLatLng(e.latlng); } else { marker = L.marker(e.latlng, { icon: icon }).addTo(map); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
