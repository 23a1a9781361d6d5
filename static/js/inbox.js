/* Crisis inbox: a new message reloads the page unless a reply is being typed. */
(function () {
  "use strict";
  var inbox = document.getElementById("inbox");
  if (!inbox) { return; }
  function typing() {
    return Array.prototype.some.call(inbox.querySelectorAll("textarea"), function (t) {
      return t.value.trim().length > 0;
    });
  }
  var count = inbox.querySelectorAll("article.crisis").length;
  window.socdrill.live.watch({
    rooms: (inbox.dataset.rooms || "").split(" ").filter(Boolean),
    kinds: ["crisis.new"],
    pollMs: 10000,
    onEvent: function (kind) {
      if (typing()) { return; }
      if (kind !== "poll") { window.location.reload(); return; }
      fetch("/api/v1/inbox", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (data.messages && data.messages.length !== count) { window.location.reload(); } })
        .catch(function () { /* try again at the next poll */ });
    }
  });
})();
