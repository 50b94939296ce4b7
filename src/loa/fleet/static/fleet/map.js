/* Fleet map: vendored Leaflet + markercluster. Works with no tile server at all: a neutral background, the
   communes' reference points and names, and the clusters coloured by status (legend on the page). An offline tile
   server (LOA_MAP_TILE_URL, docs/configuration.md) adds a background when one is configured. */
(function () {
  "use strict";
  var ZOOM = { minZoom: 5, maxZoom: 18 };  // markercluster needs the map's maxZoom, which a tile layer gives otherwise

  function dot(status, kind) {
    // a board is a rectangle, a loudspeaker cluster a round dot (legend on the page)
    var board = kind === "eboard";
    return L.divIcon({ className: "", html: '<div class="dev-dot ' + status + (board ? " board" : "") + '"></div>', iconSize: board ? [16, 11] : [14, 14] });
  }

  // a cluster of markers takes the colour of its most urgent member (legend on the page)
  var URGENCY = ["offline", "never", "playing", "online"];
  function clusterIcon(group) {
    var seen = {};
    group.getAllChildMarkers().forEach(function (m) { seen[m.options.status] = true; });
    var status = URGENCY.filter(function (s) { return seen[s]; })[0] || "online";
    var n = group.getChildCount();
    var html = '<div><span>' + n + '</span></div>';
    return L.divIcon({ html: html, className: "marker-cluster dev-cluster " + status, iconSize: L.point(40, 40) });
  }

  function init() {
    var el = document.getElementById("fleet-map");
    if (!el || !window.L) { return; }
    var map = L.map(el, { preferCanvas: true, minZoom: ZOOM.minZoom, maxZoom: ZOOM.maxZoom }).setView([16.0, 106.0], 6);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: ZOOM.maxZoom, attribution: "" }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    var cluster = L.markerClusterGroup ? L.markerClusterGroup({ disableClusteringAtZoom: 16, maxClusterRadius: 45, iconCreateFunction: clusterIcon }) : L.layerGroup();
    fetch(el.dataset.source, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      var bounds = [];
      data.markers.forEach(function (m) {
        var marker = L.marker([m.lat, m.lon], { icon: dot(m.status, m.kind), title: m.name, status: m.status });
        var link = document.createElement("a");
        link.href = el.dataset.deviceUrl.replace("DEVICE", encodeURIComponent(m.id));
        link.textContent = m.name + (m.zone ? " — " + m.zone : "") + " (" + m.status_label + ")";
        marker.bindPopup(link);
        cluster.addLayer(marker);
        bounds.push([m.lat, m.lon]);
      });
      map.addLayer(cluster);
      data.communes.forEach(function (c) {
        // Leaflet puts a string content in as HTML: give it a text node so a name is always text
        var label = document.createElement("span");
        label.textContent = c.name;
        L.circleMarker([c.lat, c.lon], { radius: 5, color: "#556", weight: 1, fillColor: "#fff", fillOpacity: 1, interactive: false }).addTo(map);
        L.tooltip({ permanent: true, direction: "top", offset: [0, -6], className: "commune-label" })
          .setLatLng([c.lat, c.lon]).setContent(label).addTo(map);
        bounds.push([c.lat, c.lon]);
      });
      if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 }); }
      if (!data.markers.length) { document.getElementById("fleet-map-empty").hidden = false; }
      el.dataset.loaded = String(data.markers.length);
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
