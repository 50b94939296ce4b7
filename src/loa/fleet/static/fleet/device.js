/* Device page: signal, temperature and volume history with the vendored Chart.js. */
(function () {
  "use strict";
  function init() {
    var dataEl = document.getElementById("status-chart-data");
    var canvas = document.getElementById("status-chart");
    if (!dataEl || !canvas || !window.Chart) { return; }
    var d = JSON.parse(dataEl.textContent);
    if (!d.labels.length) { canvas.parentNode.hidden = true; return; }
    var labels = d.labels.map(function (t) { var x = new Date(t); return x.toLocaleString("vi-VN", { hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit" }); });
    new Chart(canvas, {
      type: "line",
      data: { labels: labels, datasets: [
        { label: "Sóng (dBm)", data: d.signal, yAxisID: "y", borderColor: "#1f6feb", pointRadius: 0 },
        { label: "Nhiệt độ (°C)", data: d.temperature, yAxisID: "y1", borderColor: "#d1242f", pointRadius: 0 },
        { label: "Âm lượng", data: d.volume, yAxisID: "y1", borderColor: "#1a7f37", pointRadius: 0 }
      ] },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { position: "left" }, y1: { position: "right", grid: { drawOnChartArea: false } } } }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
