/* Review charts: the debrief timeline, the damage curve and the team trend.
 *
 * Each <canvas data-review-chart="timeline|damage|trend" data-chart='{json}'>
 * is drawn with Chart.js (static/vendor/chart.umd.min.js). The data sits in the
 * page, so the charts also print and work without further requests. Animation is
 * off: a printed or saved report shows the final picture at once.
 * A [data-print] button opens the browser's print dialog.
 */
(function () {
  "use strict";

  var COLOURS = {
    "inject": "#a3191f",
    "first alert": "#8a5a00",
    "acknowledged": "#5d5866",
    "detected": "#5b2a86",
    "contained": "#1f6f43",
    "reported": "#1d4f91"
  };
  var SHAPES = {
    "inject": "crossRot",
    "first alert": "triangle",
    "acknowledged": "rect",
    "detected": "circle",
    "contained": "rectRot",
    "reported": "star"
  };

  // A fixed aspect ratio: the chart takes the width of the page (or the paper)
  // and never depends on a container height the stylesheet would have to set.
  function base(ratio) {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: true,
      aspectRatio: ratio,
      plugins: {}
    };
  }

  function timeline(canvas, data) {
    var options = base(Math.max(2, 4 - data.stages.length / 4));
    options.scales = {
      x: { type: "linear", min: 0, max: data.t_end || undefined,
           title: { display: true, text: "active minutes" } },
      y: { type: "linear", min: -0.5, max: Math.max(data.stages.length - 0.5, 0.5),
           reverse: true,
           // One tick per stage, labelled with its name.
           afterBuildTicks: function (axis) {
             axis.ticks = data.stages.map(function (_, i) { return { value: i }; });
           },
           ticks: { autoSkip: false, callback: function (value) {
             return data.stages[value] !== undefined ? data.stages[value] : "";
           } } }
    };
    options.plugins.tooltip = { callbacks: { label: function (ctx) {
      return ctx.dataset.label + " " + data.stages[ctx.parsed.y] + ": minute " + ctx.parsed.x;
    } } };
    return {
      type: "scatter",
      data: { datasets: data.series.map(function (series) {
        return {
          label: series.label,
          data: series.points.map(function (p) { return { x: p[0], y: p[1] }; }),
          backgroundColor: COLOURS[series.label] || "#333",
          borderColor: COLOURS[series.label] || "#333",
          pointStyle: SHAPES[series.label] || "circle",
          pointRadius: 6
        };
      }) },
      options: options
    };
  }

  function damage(canvas, data) {
    var options = base(2.5);
    options.scales = {
      x: { type: "linear", title: { display: true, text: "active minutes" } },
      y: { beginAtZero: true, title: { display: true, text: "business points" } }
    };
    function points(key) {
      return data.t.map(function (t, i) { return { x: t, y: data[key][i] }; });
    }
    return {
      type: "line",
      data: { datasets: [
        { label: "incurred", data: points("real"), borderColor: "#a3191f",
          backgroundColor: "#a3191f", pointRadius: 0, stepped: false },
        { label: "without any response", data: points("worst"), borderColor: "#5d5866",
          backgroundColor: "#5d5866", borderDash: [6, 4], pointRadius: 0 }
      ] },
      options: options
    };
  }

  function trend(canvas, data) {
    var options = base(2.5);
    options.spanGaps = true;
    options.scales = { y: { min: 0, max: 100, title: { display: true, text: "TES" } } };
    return {
      type: "line",
      data: { labels: data.labels, datasets: [
        { label: "announced", data: data.announced, borderColor: "#5b2a86",
          backgroundColor: "#5b2a86" },
        { label: "unannounced", data: data.unannounced, borderColor: "#8a5a00",
          backgroundColor: "#8a5a00", borderDash: [6, 4] }
      ] },
      options: options
    };
  }

  var BUILDERS = { timeline: timeline, damage: damage, trend: trend };

  function draw() {
    if (!window.Chart) { return; }
    var canvases = document.querySelectorAll("canvas[data-review-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var build = BUILDERS[canvas.getAttribute("data-review-chart")];
      var data;
      try { data = JSON.parse(canvas.getAttribute("data-chart") || "null"); }
      catch (e) { data = null; }
      if (!build || !data) { return; }
      canvas.parentNode.classList.add("chart-drawn");
      new window.Chart(canvas, build(canvas, data));
    });
    document.documentElement.setAttribute("data-charts-ready", "true");
  }

  function bindPrint() {
    var buttons = document.querySelectorAll("[data-print]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw();
    bindPrint();
  });
})();
