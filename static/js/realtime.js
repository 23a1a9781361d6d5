/*
 * Live updates for socdrill pages (Socket.IO, vendored client in
 * static/vendor/socket.io.min.js, loaded first).
 *
 * Socket.IO only notifies; pages fetch data over HTTP. Every server event carries
 * {room, seq, kind, payload, at}. This module keeps the last sequence number seen
 * per room (in memory and sessionStorage: room names and numbers only), sends it
 * when it (re)joins a room so the server replays exactly what was missed, drops
 * duplicates, holds back events that arrive ahead of a gap until the gap is filled,
 * and calls the page's callbacks in sequence order. When too much was missed the
 * server sends "resync" and the page's resync callbacks refetch over HTTP.
 *
 * Use:
 *   <body data-realtime-rooms="tenant:3 team:2 exercise:7"> joins those rooms on
 *   load, or call SocdrillRealtime.subscribe("tenant:3") yourself; then
 *   SocdrillRealtime.on("alert.new", function (event) { ... });
 *   SocdrillRealtime.onAny(function (event) { ... });
 *   SocdrillRealtime.onResync(function (room) { ... refetch ... });
 *   SocdrillRealtime.onStatus(function (status) { ... "connected" / "offline" ... });
 */
(function () {
  "use strict";

  var STORAGE_KEY = "socdrill.realtime.seq";
  var GAP_WAIT_MS = 1500;

  function loadSeqs() {
    try {
      var parsed = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "{}");
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch (error) {
      return {};
    }
  }

  var seqs = loadSeqs();
  var rooms = [];
  var held = {}; // room -> {seq: event} that arrived ahead of a gap
  var gapTimers = {};
  var byKind = {};
  var anyHandlers = [];
  var resyncHandlers = [];
  var statusHandlers = [];
  var refusedHandlers = [];
  var socket = null;

  function saveSeqs() {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(seqs));
    } catch (error) {
      /* storage full or disabled: memory still works for this page */
    }
  }

  function call(list, argument) {
    for (var i = 0; i < list.length; i += 1) {
      try {
        list[i](argument);
      } catch (error) {
        if (window.console) window.console.error(error);
      }
    }
  }

  function dispatch(event) {
    seqs[event.room] = event.seq;
    saveSeqs();
    call(byKind[event.kind] || [], event);
    call(anyHandlers, event);
  }

  function flushHeld(room) {
    var waiting = held[room] || {};
    var next = (seqs[room] || 0) + 1;
    while (waiting[next]) {
      var event = waiting[next];
      delete waiting[next];
      dispatch(event);
      next += 1;
    }
    if (Object.keys(waiting).length === 0 && gapTimers[room]) {
      window.clearTimeout(gapTimers[room]);
      delete gapTimers[room];
    }
  }

  function receive(name, data) {
    if (name === "resync" || !data || typeof data.seq !== "number") return;
    var room = data.room;
    if (rooms.indexOf(room) < 0) return;
    var last = seqs[room] || 0;
    if (data.seq <= last) return; // a duplicate (replay and live overlap)
    if (data.seq === last + 1) {
      dispatch(data);
      flushHeld(room);
      return;
    }
    // Ahead of a gap: keep it, and ask for a replay if the gap stays open.
    held[room] = held[room] || {};
    held[room][data.seq] = data;
    if (!gapTimers[room]) {
      gapTimers[room] = window.setTimeout(function () {
        delete gapTimers[room];
        join(room);
      }, GAP_WAIT_MS);
    }
  }

  function join(room) {
    if (!socket || !socket.connected) return;
    socket.emit("join", { room: room, last_seq: seqs[room] || 0 }, function (ack) {
      if (!ack || !ack.ok) {
        call(refusedHandlers, room);
      }
    });
  }

  function onResync(data) {
    if (!data || rooms.indexOf(data.room) < 0) return;
    seqs[data.room] = data.seq;
    held[data.room] = {};
    saveSeqs();
    call(resyncHandlers, data.room);
  }

  function connect() {
    if (socket || typeof window.io !== "function") return;
    socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", function () {
      call(statusHandlers, "connected");
      for (var i = 0; i < rooms.length; i += 1) join(rooms[i]);
    });
    socket.on("disconnect", function () {
      call(statusHandlers, "offline");
    });
    socket.on("connect_error", function () {
      call(statusHandlers, "offline");
    });
    socket.on("resync", onResync);
    socket.onAny(receive);
  }

  function subscribe(room) {
    if (typeof room !== "string" || !room || rooms.indexOf(room) >= 0) return;
    rooms.push(room);
    connect();
    join(room);
  }

  function add(list, callback) {
    if (typeof callback === "function") list.push(callback);
  }

  window.SocdrillRealtime = {
    subscribe: subscribe,
    on: function (kind, callback) {
      byKind[kind] = byKind[kind] || [];
      add(byKind[kind], callback);
    },
    onAny: function (callback) {
      add(anyHandlers, callback);
    },
    onResync: function (callback) {
      add(resyncHandlers, callback);
    },
    onStatus: function (callback) {
      add(statusHandlers, callback);
    },
    onRefused: function (callback) {
      add(refusedHandlers, callback);
    },
    lastSeq: function (room) {
      return seqs[room] || 0;
    },
  };

  document.addEventListener("DOMContentLoaded", function () {
    var declared = (document.body.getAttribute("data-realtime-rooms") || "")
      .split(/\s+/)
      .filter(Boolean);
    for (var i = 0; i < declared.length; i += 1) subscribe(declared[i]);
  });
})();
