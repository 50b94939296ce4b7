/* Fleet map: vendored Leaflet + markercluster; works with no tile server at all (plain background + labels). */
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("fleet-map");
    if (!el || !window.L) { return; }
    var map = L.map(el, { preferCanvas: true }).setView([16.0, 106.0], 6);
    var tiles = el.dataset.tiles;
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: "" }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    var cluster = L.markerClusterGroup ? L.markerClusterGroup({ disableClusteringAtZoom: 15 }) : L.layerGroup();
    fetch(el.dataset.source, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      var bounds = [];
      data.markers.forEach(function (m) {
        var icon = L.divIcon({ className: "", html: '<div class="dev-dot ' + (m.online ? "on" : "off") + '"></div>', iconSize: [14, 14] });
        var marker = L.marker([m.lat, m.lon], { icon: icon, title: m.name });
        var link = document.createElement("a");
        link.href = el.dataset.deviceUrl.replace("DEVICE", encodeURIComponent(m.id));
        link.textContent = m.name + (m.online ? " ●" : " ○");
        marker.bindPopup(link);
        cluster.addLayer(marker);
        bounds.push([m.lat, m.lon]);
      });
      map.addLayer(cluster);
      data.communes.forEach(function (c) {
        // Leaflet puts a string content in as HTML: give it a text node so a name is always text
        var label = document.createElement("span");
        label.textContent = c.name;
        L.tooltip({ permanent: true, direction: "center", className: "commune-label" })
          .setLatLng([c.lat, c.lon]).setContent(label).addTo(map);
      });
      if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 }); }
      else { document.getElementById("fleet-map-empty").hidden = false; }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
