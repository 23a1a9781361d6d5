/* Live updates for console pages, on top of realtime.js (SocdrillRealtime).
 *
 * socdrill.live.watch({rooms: [...], kinds: [...], onEvent: fn, pollMs: n})
 * joins the rooms and calls onEvent(kind, payload) for server events of those
 * kinds in those rooms (every kind when none is given), at most once per
 * debounce interval, since a burst of alerts needs one refresh, not fifty. While
 * live updates are offline (Socket.IO down or not loaded) it calls
 * onEvent("poll") every pollMs instead, so pages stay current either way.
 */
(function () {
  "use strict";

  function watch(options) {
    var rooms = options.rooms || [];
    var kinds = options.kinds || [];
    var debounceMs = options.debounceMs === undefined ? 200 : options.debounceMs;
    var online = false;
    var pending = null;
    var rt = window.SocdrillRealtime;

    function fire(kind, payload) {
      if (pending) { return; }
      pending = window.setTimeout(function () {
        pending = null;
        options.onEvent(kind, payload);
      }, debounceMs);
    }

    function relevant(event) {
      return event && rooms.indexOf(event.room) >= 0 &&
        (kinds.length === 0 || kinds.indexOf(event.kind) >= 0);
    }

    if (rt && rooms.length) {
      rt.onStatus(function (status) { online = status === "connected"; });
      rt.onAny(function (event) { if (relevant(event)) { fire(event.kind, event.payload); } });
      rt.onResync(function (room) { if (rooms.indexOf(room) >= 0) { fire("resync", null); } });
      rooms.forEach(function (room) { rt.subscribe(room); });
    }
    window.setInterval(function () {
      if (!online) { options.onEvent("poll", null); }
    }, options.pollMs || 5000);
  }

  window.socdrill = window.socdrill || {};
  window.socdrill.live = { watch: watch };
})();
