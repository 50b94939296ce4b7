/* Feedback form: choose the place by touching the map (fills latitude/longitude), or the phone's position.
   The map library (vendored Leaflet, ~47 kB compressed) is fetched only after the page has loaded, so the form
   shows and can be filled first on a slow phone connection; the map box keeps its size meanwhile. */
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("fb-map");
    if (!el || !window.L) { return; }
    el.dataset.ready = "1";
    var lat = document.getElementById("fb-lat"), lon = document.getElementById("fb-lon");
    var text = document.getElementById("fb-pin-text");
    var start = lat.value && lon.value ? [parseFloat(lat.value), parseFloat(lon.value)] : null;
    var here = el.dataset.lat ? [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)] : null;
    var map = L.map(el, { minZoom: 5, maxZoom: 18 }).setView(start || here || [16.0, 106.0], start || here ? 15 : 6);
    if (el.dataset.tiles) { L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "" }).addTo(map); }
    else { el.classList.add("no-tiles"); }
    var marker = null;
    function pin(latlng) {
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
      if (marker) { marker.setLatLng(latlng); }
      else { marker = L.circleMarker(latlng, { radius: 10, color: "#b3261e", weight: 3, fillOpacity: 0.6 }).addTo(map); }
      if (text) { text.textContent = "✓ " + lat.value + ", " + lon.value; }
    }
    if (start) { pin(L.latLng(start[0], start[1])); }
    map.on("click", function (e) { pin(e.latlng); });
    var button = document.getElementById("fb-here");
    if (button && navigator.geolocation) {
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (p) {
          var ll = L.latLng(p.coords.latitude, p.coords.longitude);
          map.setView(ll, 17);
          pin(ll);
        }, function () {}, { enableHighAccuracy: true, timeout: 10000 });
      });
    }
  }
  function loadLeaflet() {
    var el = document.getElementById("fb-map");
    if (!el) { return; }
    if (window.L) { init(); return; }
    var css = document.createElement("link");
    css.rel = "stylesheet"; css.href = el.dataset.leafletCss;
    document.head.appendChild(css);
    var js = document.createElement("script");
    js.src = el.dataset.leafletJs; js.onload = init;
    document.head.appendChild(js);
  }
  if (document.readyState === "complete") { loadLeaflet(); } else { window.addEventListener("load", loadLeaflet); }
})();
