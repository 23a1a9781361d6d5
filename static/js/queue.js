/* The alert queue: selection, bulk actions, keyboard shortcuts, live refresh. */
(function () {
  "use strict";
  var api = window.socdrill.api;
  var table = document.getElementById("alert-table");
  if (!table) { return; }
  var selected = new Set();
  var current = -1;

  function rows() { return Array.prototype.slice.call(table.querySelectorAll("tr.alert-row")); }

  function refresh() { if (window.htmx) { window.htmx.trigger(table, "refresh"); } }

  function updateCount() {
    var label = document.getElementById("selected-count");
    if (label) { label.textContent = selected.size + " selected"; }
  }

  function restoreSelection() {
    table.querySelectorAll("input.select-alert").forEach(function (box) {
      box.checked = selected.has(Number(box.value));
    });
    var list = rows();
    if (current >= list.length) { current = list.length - 1; }
    if (current >= 0 && list[current]) { list[current].classList.add("current"); }
    updateCount();
  }

  table.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.classList || !box.classList.contains("select-alert")) { return; }
    if (box.checked) { selected.add(Number(box.value)); } else { selected.delete(Number(box.value)); }
    updateCount();
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target === table) { restoreSelection(); }
  });

  function targetIds() {
    if (selected.size > 0) { return Array.from(selected); }
    var list = rows();
    if (current >= 0 && list[current]) { return [Number(list[current].dataset.alertId)]; }
    return [];
  }

  function act(url, body, message) {
    if (!body.alert_ids.length) { api.toast("Select alerts first (x or the check boxes)", "error"); return; }
    return api.request("POST", url, body, api.newKey()).then(function (data) {
      api.toast(data.message || message, "ok");
      selected.clear();
      refresh();
      return data;
    }).catch(function (error) { api.toast(error.message, "error"); });
  }

  var urls = {
    ack: "/api/v1/alerts/ack", assign: "/api/v1/alerts/assign",
    close: "/api/v1/alerts/close", escalate: "/api/v1/alerts/escalate"
  };

  function acknowledge() { act(urls.ack, { alert_ids: targetIds() }); }

  function assign() {
    var who = document.getElementById("bulk-assignee");
    act(urls.assign, { alert_ids: targetIds(), assignee: who ? who.value : null });
  }

  function openDialog(id, onOk) {
    var dialog = document.getElementById(id);
    if (!dialog) { return; }
    if (!targetIds().length) { api.toast("Select alerts first (x or the check boxes)", "error"); return; }
    var form = dialog.querySelector("form");
    form.reset();
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "ok") { onOk(form); }
    });
    dialog.returnValue = "";
    dialog.showModal();
  }

  function closeAlerts() {
    openDialog("close-dialog", function (form) {
      var verdict = form.querySelector('input[name="verdict"]:checked');
      act(urls.close, {
        alert_ids: targetIds(),
        verdict: verdict ? verdict.value : "",
        reason: form.elements.reason.value
      });
    });
  }

  function escalate() {
    openDialog("escalate-dialog", function (form) {
      var body = { alert_ids: targetIds() };
      var incident = form.elements.incident_id.value;
      if (incident) { body.incident_id = Number(incident); } else { body.title = form.elements.title.value; }
      var pending = act(urls.escalate, body);
      if (pending) {
        pending.then(function (data) {
          if (data && data.data && data.data.incident_id) {
            window.location.assign("/console/incidents/" + encodeURIComponent(data.data.incident_id));
          }
        });
      }
    });
  }

  function bind(id, handler) {
    var button = document.getElementById(id);
    if (button) { button.addEventListener("click", handler); }
  }
  bind("bulk-ack", acknowledge);
  bind("bulk-assign", assign);
  bind("bulk-close", closeAlerts);
  bind("bulk-escalate", escalate);

  function move(step) {
    var list = rows();
    if (!list.length) { return; }
    if (current >= 0 && list[current]) { list[current].classList.remove("current"); }
    current = Math.max(0, Math.min(list.length - 1, current + step));
    list[current].classList.add("current");
    list[current].focus();
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var key = event.key;
    var list = rows();
    if (key === "j") { move(1); } else if (key === "k") { move(-1); }
    else if (key === "x" && list[current]) {
      var box = list[current].querySelector("input.select-alert");
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    } else if ((key === "o" || key === "Enter") && list[current]) {
      list[current].querySelector("a.alert-link").click();
    } else if (key === "a") { acknowledge(); }
    else if (key === "c") { closeAlerts(); }
    else if (key === "e") { escalate(); }
    else if (key === "r") { refresh(); }
    else if (key === "/") {
      var rule = document.querySelector('#queue-filters input[name="rule"]');
      if (rule) { event.preventDefault(); rule.focus(); }
    } else { return; }
    event.preventDefault();
  });

  var rooms = (table.dataset.rooms || "").split(" ").filter(Boolean);
  window.socdrill.live.watch({
    rooms: rooms,
    kinds: ["alert.new", "alert.updated", "alert.many", "alert.triaged"],
    pollMs: Number(table.dataset.pollMs || 5000),
    onEvent: function () { refresh(); }
  });
  restoreSelection();
})();
