// Console: keep the first page of the conversation list current without a reload.
// Refetches a small HTML partial (same filters) when HafenSocket reports a change
// (throttled), on a reconnect, on each poll while socket.js has fallen back to
// polling, and once a minute anyway (the rows' waiting times move on).
(function () {
  "use strict";
  var table = document.querySelector("table[data-refresh]");
  if (!table) return;
  var body = table.querySelector("tbody[data-rows]");
  var badge = document.querySelector("[data-waiting-badge]");
  var url = table.getAttribute("data-refresh-url");
  var every = parseInt(table.getAttribute("data-refresh"), 10) || 5000;
  var socket = window.HafenSocket;
  var busy = false;
  var again = false;
  var timer = null;

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
    if (document.hidden) return;
    if (busy) { again = true; return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error("refresh failed: " + r.status);
        return r.text();
      })
      .then(apply)
      .catch(function () { /* keep the rows we have; try again next time */ })
      .then(function () {
        busy = false;
        if (again) { again = false; poll(); }
      });
  }

  function soon() {
    if (timer) return;
    timer = window.setTimeout(function () { timer = null; poll(); }, 250);
  }

  if (socket) {
    socket.on("conversation.changed", soon);
    socket.on("open", soon);
    socket.addPoller(poll);
    window.setInterval(poll, 60000);
  } else {
    window.setInterval(poll, every);
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
