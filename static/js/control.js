/* The control cell's live view: refreshed on every event of the control room
 * (or every few seconds without live updates), unless a form is being filled. */
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  function busy() {
    return Array.prototype.some.call(live.querySelectorAll("textarea, input:not([type=hidden])"), function (el) {
      return el === document.activeElement || (el.tagName === "TEXTAREA" && el.value.trim());
    }) || document.querySelector("dialog[open]");
  }
  function refresh() {
    if (busy()) { return; }
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("live");
        if (fresh && !busy()) { live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes)); }
      })
      .catch(function () { /* try again at the next event */ });
  }
  window.socdrill.live.watch({
    rooms: ["exercise:" + live.dataset.exerciseId + ":control"],
    kinds: [],
    pollMs: 5000,
    onEvent: refresh
  });
})();
