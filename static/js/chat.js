/* Team channel: new messages appear live; Enter sends, Shift+Enter breaks a line. */
(function () {
  "use strict";
  var box = document.getElementById("chat-messages");
  if (!box) { return; }
  function refresh() { if (window.htmx) { window.htmx.trigger(box, "refresh"); } }
  function scrollDown() { box.scrollTop = box.scrollHeight; }
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target === box) { scrollDown(); }
  });
  scrollDown();
  var text = document.getElementById("chat-body");
  if (text) {
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        text.form.requestSubmit();
      }
    });
  }
  window.socdrill.live.watch({
    rooms: ["team:" + box.dataset.teamId],
    kinds: ["chat.new"],
    pollMs: 5000,
    onEvent: refresh
  });
})();
