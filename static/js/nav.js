/* "g" then a letter jumps between console pages (g q, g s, g i, g m, g k, g c). */
(function () {
  "use strict";
  var targets = { q: "/console", s: "/console/search", i: "/console/incidents",
    m: "/console/inbox", k: "/console/kb", c: "/console/chat" };
  var armed = false;
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) { return; }
    if (armed) {
      armed = false;
      event.stopImmediatePropagation();
      if (targets[event.key]) { event.preventDefault(); window.location.assign(targets[event.key]); }
      return;
    }
    if (event.key === "g") {
      event.stopImmediatePropagation();
      armed = true;
      setTimeout(function () { armed = false; }, 1500);
    }
  });
})();
