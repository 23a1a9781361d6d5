/* Search: results (HTMX-free fetch of the server-rendered table), histogram
 * (Chart.js), error positions, click a value to filter, pivots (top values),
 * event detail, saved searches and hunting findings. */
(function () {
  "use strict";
  var api = window.socdrill.api;
  var form = document.getElementById("search-form");
  var query = document.getElementById("q");
  var results = document.getElementById("results");
  var detail = document.getElementById("event-detail");
  var errorLine = document.getElementById("q-error");
  var chart = null;

  function params(extra) {
    var data = new URLSearchParams(new FormData(form));
    Object.keys(extra || {}).forEach(function (key) { data.set(key, extra[key]); });
    ["start", "end"].forEach(function (key) { if (!data.get(key)) { data.delete(key); } });
    return data;
  }

  function showError(message, position) {
    errorLine.hidden = false;
    errorLine.textContent = message + (position !== null ? " (at character " + position + ")" : "");
    query.setAttribute("aria-invalid", "true");
    if (position !== null && position >= 0) {
      query.focus();
      query.setSelectionRange(position, Math.min(position + 1, query.value.length));
    }
  }

  function clearError() {
    errorLine.hidden = true;
    errorLine.textContent = "";
    query.removeAttribute("aria-invalid");
  }

  function drawHistogram(data) {
    var canvas = document.getElementById("histogram");
    if (!canvas || !window.Chart) { return; }
    var labels = data.buckets.map(function (b) { return b.start.slice(5, 16).replace("T", " "); });
    var counts = data.buckets.map(function (b) { return b.count; });
    if (chart) { chart.destroy(); }
    chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: "events", data: counts, backgroundColor: "#6d3a99" }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  function loadHistogram() {
    var url = form.dataset.histogram + "?" + params({}).toString().replace(/(^|&)columns=[^&]*/, "");
    return api.request("GET", url).then(drawHistogram).catch(function () { /* shown by results */ });
  }

  function run(cursor) {
    clearError();
    var extra = cursor ? { cursor: cursor } : {};
    var url = form.dataset.results + "?" + params(extra).toString();
    if (!cursor) {
      history.replaceState(null, "", "?" + params({}).toString());
    }
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var error = holder.querySelector(".search-error");
        if (error) {
          var position = error.dataset.position === "" ? null : Number(error.dataset.position);
          showError(error.dataset.message, position);
        }
        if (cursor) {
          var more = results.querySelector("button.more");
          if (more) { more.remove(); }
          var rowsNew = holder.querySelector("tbody");
          var body = results.querySelector("tbody");
          if (rowsNew && body) {
            Array.prototype.slice.call(rowsNew.children).forEach(function (row) { body.appendChild(row); });
            var next = holder.querySelector("button.more");
            if (next) { results.appendChild(next); }
            return;
          }
        }
        results.replaceChildren.apply(results, Array.prototype.slice.call(holder.childNodes));
        if (!error) { loadHistogram(); }
      });
  }

  function quote(value) {
    if (/^[A-Za-z0-9_.@:-]+$/.test(value)) { return value.replace(/:/g, "\\:"); }
    return '"' + value.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
  }

  function addFilter(field, value) {
    var term = field + ":" + quote(String(value));
    var current = query.value.trim();
    query.value = current && current !== "*" ? current + " AND " + term : term;
    run();
  }

  function openEvent(url) {
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        detail.innerHTML = html;
        detail.scrollIntoView({ block: "nearest" });
      });
  }

  document.addEventListener("click", function (event) {
    var value = event.target.closest("button.value");
    if (value && form) {
      event.preventDefault();
      addFilter(value.dataset.field, value.dataset.value);
      return;
    }
    var open = event.target.closest("button.open-event");
    if (open) { event.preventDefault(); openEvent(open.dataset.eventUrl); return; }
    var more = event.target.closest("button.more");
    if (more) { event.preventDefault(); run(more.dataset.cursor); }
  });

  if (!form) { return; }

  form.addEventListener("submit", function (event) { event.preventDefault(); run(); });

  document.getElementById("pivot-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = event.target.elements.field.value;
    var url = form.dataset.top + "?" + params({ field: field, n: 10 }).toString().replace(/(^|&)columns=[^&]*/, "");
    var list = document.getElementById("pivot-values");
    api.request("GET", url).then(function (data) {
      list.replaceChildren();
      data.values.forEach(function (item) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "value";
        button.dataset.field = data.field;
        button.dataset.value = item.value;
        button.textContent = String(item.value);
        li.appendChild(button);
        li.appendChild(document.createTextNode(" " + item.count));
        list.appendChild(li);
      });
      if (!data.values.length) { list.textContent = "No value."; }
    }).catch(function (error) {
      showError(error.message, error.fields && error.fields["q.position"] ? Number(error.fields["q.position"]) : null);
    });
  });

  document.getElementById("save-search").addEventListener("submit", function (event) {
    event.preventDefault();
    var columns = form.elements.columns.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    api.request("POST", form.dataset.save, {
      name: event.target.elements.name.value,
      tenant: form.elements.tenant.value,
      query: query.value,
      columns: columns,
      time_range: form.elements.range.value
    }).then(function () { window.location.reload(); })
      .catch(function (error) { api.toast(error.message, "error"); });
  });

  run();
})();
