/* Analytics map: one circle per commune (or cluster) coloured by the chosen KPI, from red (lowest) to green
   (highest) over the values shown; grey when there is no figure. Vendored Leaflet; works without tiles. */
(function () {
  "use strict";
  var COLOURS = ["#c62828", "#ef6c00", "#f9a825", "#7cb342", "#2e7d32"];
  function colour(v, lo, hi) {
    if (v === null || v === undefined) { return "#9e9e9e"; }
    if (hi <= lo) { return COLOURS[COLOURS.length - 1]; }
    var i = Math.min(COLOURS.length - 1, Math.floor((v - lo) / (hi - lo) * COLOURS.length));
    return COLOURS[i];
  }
  function init() {
    var el = document.getElementById("kpi-map");
    if (!el || !window.L) { return; }
    var map = L.map(el, { preferCanvas: true, minZoom: 5, maxZoom: 18 }).setView([16.0, 106.0], 6);
    if (el.dataset.tiles) { L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "" }).addTo(map); }
    else { el.classList.add("no-tiles"); }
    fetch(el.dataset.source, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      var values = data.points.map(function (p) { return p.value; }).filter(function (v) { return v !== null; });
      var lo = values.length ? Math.min.apply(null, values) : 0, hi = values.length ? Math.max.apply(null, values) : 0;
      var bounds = [];
      data.points.forEach(function (p) {
        var link = document.createElement("a");
        link.href = p.is_device ? el.dataset.deviceUrl.replace("DEVICE", encodeURIComponent(p.code))
                                : el.dataset.unitUrl.replace("UNIT", encodeURIComponent(p.code));
        link.textContent = p.name + ": " + (p.value === null ? el.dataset.none : p.value) + " (" + data.label + ")";
        L.circleMarker([p.lat, p.lon], { radius: 9, color: "#333", weight: 1, fillColor: colour(p.value, lo, hi), fillOpacity: 0.9 })
          .bindPopup(link).addTo(map);
        bounds.push([p.lat, p.lon]);
      });
      if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 14 }); }
      var legend = document.getElementById("kpi-legend");
      [[lo, COLOURS[0], el.dataset.low], [hi, COLOURS[COLOURS.length - 1], el.dataset.high], [null, "#9e9e9e", el.dataset.none]].forEach(function (x) {
        var li = document.createElement("li"), dot = document.createElement("span");
        dot.className = "dev-dot"; dot.style.background = x[1];
        li.appendChild(dot); li.appendChild(document.createTextNode(x[0] === null ? x[2] : x[2] + " (" + x[0] + ")"));
        legend.appendChild(li);
      });
      if (data.unplaced.length) {
        var p = document.getElementById("kpi-map-unplaced");
        p.querySelector("span").textContent = data.unplaced.map(function (u) { return u.name; }).join(", ");
        p.hidden = false;
      }
      el.dataset.loaded = String(data.points.length);
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
