// Console: refresh the first page of the conversation list without a reload.
// Polls a small HTML partial (same filters) every few seconds while the tab is visible.
(function () {
  "use strict";
  var table = document.querySelector("table[data-refresh]");
  if (!table) return;
  var body = table.querySelector("tbody[data-rows]");
  var badge = document.querySelector("[data-waiting-badge]");
  var url = table.getAttribute("data-refresh-url");
  var every = parseInt(table.getAttribute("data-refresh"), 10) || 5000;
  var busy = false;

  function apply(html) {
    if (html === body.innerHTML) return;
    body.innerHTML = html;
    var marker = body.querySelector("template[data-waiting-count]");
    if (badge && marker) {
      var label = marker.getAttribute("data-waiting-count") || "0";
      badge.hidden = label === "0";
      badge.textContent = badge.textContent.replace(/\d+\+?/, label);
    }
  }

  function poll() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error("refresh failed: " + r.status);
        return r.text();
      })
      .then(apply)
      .catch(function () { /* keep the rows we have; try again next tick */ })
      .then(function () { busy = false; });
  }

  window.setInterval(poll, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
