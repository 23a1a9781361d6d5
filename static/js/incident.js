/* Incident page: pick ATT&CK techniques by name into the techniques field. */
(function () {
  "use strict";
  var pick = document.getElementById("technique-pick");
  var add = document.getElementById("technique-add");
  var field = document.getElementById("f-techniques");
  if (!pick || !add || !field) { return; }
  add.addEventListener("click", function () {
    var id = (pick.value.match(/^T\d{4}(\.\d{3})?/i) || [""])[0].toUpperCase();
    if (!id) { window.socdrill.api.toast("Choose a technique from the list", "error"); return; }
    var current = field.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    if (current.indexOf(id) < 0) { current.push(id); }
    field.value = current.join(", ");
    pick.value = "";
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
