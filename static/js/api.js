/* socdrill console: every change goes through the JSON API (/api/v1).
 *
 * - form[data-api]: submitted as JSON to data-api with data-method (POST).
 *   Field conventions: data-kind="list" splits text on commas/new lines,
 *   data-kind="int" / "ints" / "float" convert, data-kind="json" parses,
 *   checkboxes named "x[]" collect into a list, data-kind="bool" is a
 *   true/false checkbox. Empty optional fields (data-optional) are left out.
 * - button[data-api]: sends data-body (JSON) to data-api.
 * - data-confirm="text" asks first; data-preview="url" asks with the text the
 *   server returns (its "confirmation").
 * - data-then: "reload", "refresh:<selector>", "redirect:<url with {key}>",
 *   "reset", "event:<name>" (dispatched on document).
 *
 * Each logical action carries one Idempotency-Key: a retry of the same
 * submission (double click, network error) has a single effect.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function request(method, url, body, key) {
    var headers = { "Accept": "application/json", "X-CSRFToken": csrfToken() };
    var options = { method: method, headers: headers, credentials: "same-origin" };
    if (method !== "GET") {
      headers["Idempotency-Key"] = key || newKey();
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!response.ok) {
          var error = (data && data.error && typeof data.error === "object") ? data.error
            : { code: "error", message: "The server answered " + response.status, fields: {} };
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  var toastTimer = null;
  function toast(message, kind) {
    var box = document.getElementById("toast");
    if (!box) { return; }
    box.textContent = message;
    box.className = "toast toast-" + (kind || "info");
    box.hidden = false;
    if (toastTimer) { clearTimeout(toastTimer); }
    toastTimer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  function confirmText(text) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || !dialog.showModal) { return Promise.resolve(false); }
    document.getElementById("confirm-text").textContent = text;
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        resolve(dialog.returnValue === "ok");
      });
      dialog.returnValue = "";
      dialog.showModal();
      document.getElementById("confirm-ok").focus();
    });
  }

  function convert(input, raw) {
    var kind = input.dataset.kind || "";
    if (kind === "list") {
      return raw.split(/[\n,]/).map(function (s) { return s.trim(); })
        .filter(function (s) { return s.length > 0; });
    }
    if (kind === "ints") {
      return raw.split(/[\s,]+/).filter(function (s) { return s.length > 0; })
        .map(function (s) { return Number(s); });
    }
    if (kind === "int" || kind === "float") {
      return raw === "" ? null : Number(raw);
    }
    if (kind === "json") {
      return raw === "" ? null : JSON.parse(raw);
    }
    if (kind === "assets") {
      // "host WS-01" / "account j.doe" / "ip 192.0.2.10", one per line
      return raw.split("\n").map(function (line) { return line.trim(); })
        .filter(function (line) { return line.length > 0; })
        .map(function (line) {
          var space = line.search(/\s/);
          var kind = space > 0 ? line.slice(0, space).toLowerCase() : "host";
          var value = space > 0 ? line.slice(space + 1).trim() : line;
          return { kind: kind, value: value };
        });
    }
    return raw;
  }

  function setPath(target, name, value) {
    var parts = name.split(".");
    var node = target;
    for (var i = 0; i < parts.length - 1; i++) {
      node[parts[i]] = node[parts[i]] || {};
      node = node[parts[i]];
    }
    node[parts[parts.length - 1]] = value;
  }

  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || input.disabled || input.name === "csrf_token") { return; }
      if (input.type === "submit" || input.type === "button") { return; }
      if (input.type === "select-multiple") {
        var name = input.name.replace(/\[\]$/, "");
        body[name] = Array.prototype.map.call(input.selectedOptions, function (option) {
          return input.dataset.kind === "int" ? Number(option.value) : option.value;
        });
        return;
      }
      if (input.name.slice(-2) === "[]") {
        var listName = input.name.slice(0, -2);
        var list = body[listName] || [];
        if ((input.type === "checkbox" || input.type === "radio") && !input.checked) {
          body[listName] = list;
          return;
        }
        var item = input.dataset.kind === "int" ? Number(input.value) : input.value;
        list.push(item);
        body[listName] = list;
        return;
      }
      if (input.type === "checkbox") {
        setPath(body, input.name, input.checked);
        return;
      }
      if (input.type === "radio" && !input.checked) { return; }
      var value = convert(input, input.value);
      if ((value === "" || value === null) && input.hasAttribute("data-optional")) { return; }
      setPath(body, input.name, value);
    });
    return body;
  }

  function clearErrors(form) {
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
    form.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
  }

  function showErrors(form, error) {
    var fields = error.fields || {};
    Object.keys(fields).forEach(function (name) {
      var field = name.replace(/^(body|query)\./, "");
      var input = form.querySelector('[name="' + CSS.escape(field) + '"]') ||
        form.querySelector('[name="' + CSS.escape(field.split(".")[0]) + '"]') ||
        form.querySelector('[name="' + CSS.escape(field.split(".")[0] + "[]") + '"]');
      if (!input) { return; }
      input.setAttribute("aria-invalid", "true");
      var note = document.createElement("span");
      note.className = "field-error";
      note.textContent = fields[name];
      input.insertAdjacentElement("afterend", note);
    });
    var status = form.querySelector("[data-status]");
    if (status) { status.textContent = error.message; status.className = "status-error"; }
    toast(error.message, "error");
  }

  function fillTemplate(text, data) {
    return text.replace(/\{(\w+)\}/g, function (_, name) {
      var value = (data && data.data && data.data[name] !== undefined) ? data.data[name] : "";
      return encodeURIComponent(String(value));
    });
  }

  function after(element, data) {
    var then = element.dataset.then || "";
    var message = data && data.message ? data.message : "Done";
    toast(message, "ok");
    var status = element.querySelector && element.querySelector("[data-status]");
    if (status) { status.textContent = message; status.className = "status-ok"; }
    if (then === "reload") {
      window.location.reload();
    } else if (then.indexOf("redirect:") === 0) {
      window.location.assign(fillTemplate(then.slice(9), data));
    } else if (then.indexOf("refresh:") === 0) {
      document.querySelectorAll(then.slice(8)).forEach(function (target) {
        if (window.htmx) { window.htmx.trigger(target, "refresh"); }
      });
      if (element.tagName === "FORM" && element.dataset.keep === undefined) { element.reset(); }
    } else if (then === "reset" && element.tagName === "FORM") {
      element.reset();
    } else if (then.indexOf("event:") === 0) {
      document.dispatchEvent(new CustomEvent(then.slice(6), { detail: data }));
    }
  }

  function ask(element, body) {
    if (element.dataset.preview) {
      var url = element.dataset.preview + "?" + new URLSearchParams(body).toString();
      return request("GET", url).then(function (plan) {
        return confirmText(plan.confirmation);
      });
    }
    if (element.dataset.confirm) { return confirmText(element.dataset.confirm); }
    return Promise.resolve(true);
  }

  function send(element, body) {
    var method = (element.dataset.method || "POST").toUpperCase();
    if (!element.dataset.key) { element.dataset.key = newKey(); }
    element.setAttribute("aria-busy", "true");
    return ask(element, body).then(function (confirmed) {
      if (!confirmed) { return null; }
      return request(method, element.dataset.api, body, element.dataset.key)
        .then(function (data) {
          delete element.dataset.key; // the next action is a new one
          after(element, data);
          return data;
        });
    }).finally(function () { element.removeAttribute("aria-busy"); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.api) { return; }
    event.preventDefault();
    clearErrors(form);
    var body;
    try {
      body = formBody(form);
    } catch (error) {
      showErrors(form, { message: "A field holds invalid JSON", fields: {} });
      return;
    }
    send(form, body).catch(function (error) { showErrors(form, error); });
  });

  // A changed form is a new action, so it gets a new idempotency key.
  document.addEventListener("input", function (event) {
    var form = event.target && event.target.form;
    if (form && form.dataset.api) { delete form.dataset.key; }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-api]");
    if (!button) { return; }
    event.preventDefault();
    var body = button.dataset.body ? JSON.parse(button.dataset.body) : {};
    send(button, body).catch(function (error) { toast(error.message, "error"); });
  });

  window.socdrill = window.socdrill || {};
  window.socdrill.api = {
    request: request, toast: toast, confirm: confirmText, newKey: newKey, send: send,
    formBody: formBody
  };
})();
