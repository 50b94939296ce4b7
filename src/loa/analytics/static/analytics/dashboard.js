/* Analytics dashboard: the drill-down figures as bars with the vendored Chart.js (labels come from the page). */
(function () {
  "use strict";
  function init() {
    var dataEl = document.getElementById("drill-chart-data");
    var canvas = document.getElementById("drill-chart");
    if (!dataEl || !canvas || !window.Chart) { return; }
    var d = JSON.parse(dataEl.textContent);
    if (!d.labels.length) { canvas.parentNode.hidden = true; return; }
    var colours = ["#1f6feb", "#1a7f37"];
    d.datasets.forEach(function (s, i) { s.backgroundColor = colours[i % colours.length]; });
    new Chart(canvas, {
      type: "bar",
      data: d,
      options: { animation: false, maintainAspectRatio: false, scales: { y: { min: 0, max: 100 } } }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
