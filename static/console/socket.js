/*
 * The console's one live connection (docs: /work/shared realtime protocol, issue 13).
 *
 *   HafenSocket.on(type, fn)     fn(event) for every event of that type
 *                                ("conversation.changed", "typing", "open", "fallback")
 *   HafenSocket.send(obj)        send a client message ({"type": "watch"|"typing", ...});
 *                                dropped while not connected (a "watch" is remembered
 *                                and sent again on every (re)connect)
 *   HafenSocket.connected        true while the WebSocket is open
 *   HafenSocket.polling          true once it fell back to polling
 *   HafenSocket.addPoller(fn)    fn() is called every POLL_MS while polling; it fetches
 *                                its endpoint and may call HafenSocket.emit(event) to
 *                                synthesise "conversation.changed" events
 *   HafenSocket.emit(event)      deliver an event to the listeners
 *
 * Why one shared socket: the nav counters (console.js) and the conversation page
 * listen on the same connection. Events carry ids and statuses only; listeners
 * fetch what they show through the normal, permission-checked views.
 *
 * Fallback: if the socket fails MAX_TRIES times in a row (refused, hanging for
 * CONNECT_TIMEOUT_MS, or closed soon after opening), or the server closes with 4401, it polls instead (every
 * POLL_MS while the tab is visible). Included once per page; a second include
 * is a no-op. Set <html data-hafen-socket="off"> to start polling at once.
 */
(function () {
  "use strict";
  if (window.HafenSocket) return;

  var POLL_MS = 5000;
  var MAX_TRIES = 3;
  var BACKOFF_MS = [500, 1000, 2000];
  var STABLE_MS = 10000; // a connection that lived this long resets the failure count
  var CONNECT_TIMEOUT_MS = 5000; // a handshake that hangs this long counts as a failure

  var listeners = {};
  var pollers = [];
  var ws = null;
  var watch = null; // the last "watch" message, sent again after a reconnect
  var failures = 0;
  var openedAt = 0;
  var pollTimer = null;

  var api = {
    connected: false,
    polling: false,
    on: function (type, fn) {
      (listeners[type] = listeners[type] || []).push(fn);
      if (type === "fallback" && api.polling) fn({ type: "fallback" });
    },
    emit: function (event) {
      (listeners[event.type] || []).slice().forEach(function (fn) {
        try { fn(event); } catch (e) { /* one listener's bug does not stop the others */ }
      });
    },
    send: function (obj) {
      if (obj && obj.type === "watch") watch = obj;
      if (ws && api.connected) {
        try { ws.send(JSON.stringify(obj)); return true; } catch (e) { return false; }
      }
      return false;
    },
    addPoller: function (fn) {
      pollers.push(fn);
      if (api.polling) fn();
    },
  };
  window.HafenSocket = api;

  function pollAll() {
    if (document.hidden) return;
    pollers.forEach(function (fn) {
      try { fn(); } catch (e) { /* next tick */ }
    });
  }

  function startPolling() {
    if (api.polling) return;
    api.polling = true;
    api.emit({ type: "fallback" });
    pollAll();
    pollTimer = window.setInterval(pollAll, POLL_MS);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) pollAll();
    });
  }

  function url() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + "/ws/console/";
  }

  function connect() {
    if (api.polling) return;
    try {
      ws = new window.WebSocket(url());
    } catch (e) {
      startPolling();
      return;
    }
    var socket = ws;
    var timer = window.setTimeout(function () {
      if (!api.connected && ws === socket) {
        ws = null;
        failed({ code: 1006 }, false);
        try { socket.close(); } catch (e) { /* never opened */ }
      }
    }, CONNECT_TIMEOUT_MS);
    ws.addEventListener("open", function () {
      window.clearTimeout(timer);
      api.connected = true;
      openedAt = Date.now();
      if (watch) api.send(watch);
      api.emit({ type: "open" });
    });
    ws.addEventListener("message", function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (event && typeof event.type === "string") api.emit(event);
    });
    ws.addEventListener("close", function (event) {
      window.clearTimeout(timer);
      if (ws !== socket) return; // given up on already (timeout)
      var wasOpen = api.connected;
      api.connected = false;
      ws = null;
      failed(event, wasOpen);
    });
  }

  function failed(event, wasOpen) {
    if (event.code === 4401) { startPolling(); return; } // signed out / no membership
    if (wasOpen && Date.now() - openedAt > STABLE_MS) failures = 0;
    else failures += 1;
    if (failures >= MAX_TRIES) { startPolling(); return; }
    // A socket that was open and dropped: the page may have missed events meanwhile;
    // listeners refetch on the next "open".
    window.setTimeout(connect, BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1]);
  }

  if (!("WebSocket" in window) || document.documentElement.getAttribute("data-hafen-socket") === "off") {
    startPolling();
  } else {
    connect();
  }
})();
