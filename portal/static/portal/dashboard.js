// Draws the dashboard's charts from the figures the page embeds (json_script). The tables next
// to each chart hold the same figures, so a browser without scripts loses nothing but the picture.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var charts = JSON.parse(source.textContent);
  var palette = ["#a3191d", "#1e6b34", "#0b5cad", "#d08a1a", "#6b4ea3", "#2a8a8a", "#7a7a7a"];

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var figures = charts[canvas.dataset.chart];
    if (!figures) {
      return;
    }
    var kind = canvas.dataset.kind || "bar";
    var datasets = figures.datasets.map(function (dataset, index) {
      // A doughnut colours its slices; bars and lines colour each series.
      var colour = kind === "doughnut" ? palette : palette[index % palette.length];
      return {
        label: dataset.label,
        data: dataset.data,
        backgroundColor: colour,
        borderColor: colour,
        fill: false,
        tension: 0.2
      };
    });
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { position: "bottom" } }
    };
    if (kind !== "doughnut") {
      options.scales = { y: { beginAtZero: true, ticks: { precision: 0 } } };
    }
    if (canvas.dataset.axis === "y") {
      options.indexAxis = "y";
      options.scales = { x: { beginAtZero: true, ticks: { precision: 0 } } };
    }
    new Chart(canvas, { type: kind, data: { labels: figures.labels, datasets: datasets }, options: options });
  });
})();
