// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The language switch submits itself when changed (its OK button is for browsers without JS).
  document.querySelectorAll("select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // The log-a-request form shows the type-specific fields only for their type.
  var type = document.getElementById("type");
  if (type) {
    var toggle = function () {
      document.querySelectorAll("[data-show-for]").forEach(function (field) {
        var invalid = field.classList.contains("invalid");
        field.hidden = field.getAttribute("data-show-for") !== type.value && !invalid;
      });
    };
    type.addEventListener("change", toggle);
    toggle();
  }

  // The SLA page refreshes its live panel from the JSON endpoint.
  var live = document.getElementById("sla-live");
  if (live) {
    var source = live.getAttribute("data-source");
    var refresh = function () {
      fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data && typeof data.html === "string") {
            live.innerHTML = data.html;
            live.setAttribute("data-refreshed", data.generated_at);
          }
        })
        .catch(function () { /* the next round tries again */ });
    };
    window.setTimeout(refresh, 1000);
    window.setInterval(refresh, Number(live.getAttribute("data-interval") || 10000));
    live.setAttribute("data-live", "on");
  }
})();
