/* The exercise page's dry run: show the engine's report as text. */
(function () {
  "use strict";
  document.addEventListener("socdrill:dry-run", function (event) {
    var target = document.getElementById("dry-run-report");
    if (!target) { return; }
    var report = event.detail && event.detail.report;
    target.textContent = JSON.stringify(report, null, 2);
  });
})();
