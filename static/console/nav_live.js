// Console navigation: the live counters (waiting / mine / unassigned), the tab
// title "(N) ..." with the waiting count, and the optional desktop notification
// and sound when a conversation starts waiting in an inbox the operator serves.
//
// Counts come from /console/counts.json (counts and inbox ids only). They are
// fetched on load, again (throttled) on every HafenSocket "conversation.changed"
// event and on a reconnect, and every few seconds while socket.js polls instead.
// Notifications are asked for only when the operator clicks "Enable
// notifications" (list page); the choice is kept in localStorage.
(function () {
  "use strict";
  var box = document.querySelector("[data-nav-counts]");
  if (!box) return;
  var url = box.getAttribute("data-counts-url");
  var listUrl = box.getAttribute("data-list-url");
  var CAP = 100; // conversations.selectors.console.WAITING_COUNT_CAP
  var THROTTLE_MS = 300;
  var NOTIFY_KEY = "hafen.notify";
  var SOUND_KEY = "hafen.notify.sound";
  var ALERTED_KEY = "hafen.notify.alerted";
  var baseTitle = document.title.replace(/^\(\d+\+?\) /, "");
  var socket = window.HafenSocket;
  var last = null;
  var serves = [];
  var busy = false;
  var again = false;
  var timer = null;
  var audio = null;

  function label(n) { return n >= CAP ? (CAP - 1) + "+" : String(n); }

  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }
  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function apply(data) {
    ["waiting", "mine", "unassigned"].forEach(function (key) {
      var n = data[key] || 0;
      var el = box.querySelector('[data-count="' + key + '"]');
      if (!el) return;
      el.textContent = label(n);
      el.parentNode.classList.toggle("zero", n === 0);
    });
    box.hidden = false;
    document.title = data.waiting ? "(" + label(data.waiting) + ") " + baseTitle : baseTitle;
    serves = data.serves || [];
    // Polling has no per-conversation events: a rise of the waiting count stands in.
    if (last && socket && socket.polling && data.waiting > last.waiting) alert(null);
    last = data;
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error("counts: " + r.status);
        return r.json();
      })
      .then(apply)
      .catch(function () { /* keep the counts shown; next event or tick retries */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  function soon() {
    if (timer) return; // a burst of events is one fetch
    timer = window.setTimeout(function () { timer = null; refresh(); }, THROTTLE_MS);
  }

  // --- notifications and sound -------------------------------------------
  function notificationsOn() {
    return stored(NOTIFY_KEY) === "on" && "Notification" in window &&
      window.Notification.permission === "granted";
  }

  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended") audio.resume();
      var t = audio.currentTime;
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, t);
      osc.frequency.setValueAtTime(660, t + 0.12);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.32);
    } catch (e) { /* no audio: the notification alone */ }
  }

  function alert(event) {
    if (stored(SOUND_KEY) === "on") beep();
    if (!notificationsOn()) return;
    var options = { body: box.getAttribute("data-notify-body"), tag: "hafen-waiting" };
    if (event && event.conversation) options.tag = "hafen-waiting-" + event.conversation;
    try {
      var n = new window.Notification(box.getAttribute("data-notify-title"), options);
      n.onclick = function () {
        window.focus();
        window.location.href = event && event.conversation
          ? listUrl + encodeURIComponent(event.conversation) + "/"
          : listUrl + "?view=waiting";
        n.close();
      };
    } catch (e) { /* some browsers allow notifications from a service worker only */ }
  }

  // Which conversations this browser already alerted for (every tab, kept a
  // while): one alert per conversation starting to wait, however many tabs are
  // open and however often its visitor writes while waiting.
  function firstAlert(id) {
    var seen;
    try { seen = JSON.parse(stored(ALERTED_KEY) || "[]"); } catch (e) { seen = []; }
    if (!Array.isArray(seen)) seen = [];
    if (seen.indexOf(id) !== -1) return false;
    seen.push(id);
    store(ALERTED_KEY, JSON.stringify(seen.slice(-200)));
    return true;
  }

  function onChanged(event) {
    soon();
    // A handover is what=status; a visitor message the bot hands over arrives
    // as what=message with the new status "waiting".
    var starts = event.status === "waiting" &&
      (event.what === "status" || (event.what === "message" && event.sender === "visitor"));
    if (starts && serves.indexOf(event.inbox) !== -1 && firstAlert(event.conversation)) {
      alert(event);
    }
  }

  // The controls on the list page ([data-notify-controls]).
  var controls = document.querySelector("[data-notify-controls]");
  if (controls) {
    var button = controls.querySelector("[data-notify-enable]");
    var state = controls.querySelector("[data-notify-state]");
    var denied = controls.querySelector("[data-notify-denied]");
    var sound = controls.querySelector("[data-notify-sound]");
    var render = function () {
      var supported = "Notification" in window;
      var on = notificationsOn();
      button.hidden = !supported || window.Notification.permission === "denied";
      button.textContent = box.getAttribute(on ? "data-on-label" : "data-off-label");
      button.setAttribute("aria-pressed", on ? "true" : "false");
      state.hidden = !on;
      denied.hidden = !supported || window.Notification.permission !== "denied";
      sound.checked = stored(SOUND_KEY) === "on";
    };
    button.addEventListener("click", function () {
      if (notificationsOn()) { store(NOTIFY_KEY, "off"); render(); return; }
      // Asked only here, on the operator's click.
      var asked = window.Notification.requestPermission(function (p) { done(p); });
      if (asked && asked.then) asked.then(done);
      function done(permission) {
        store(NOTIFY_KEY, permission === "granted" ? "on" : "off");
        render();
      }
    });
    sound.addEventListener("change", function () {
      store(SOUND_KEY, sound.checked ? "on" : "off");
      if (sound.checked) beep(); // a sample, and the click lets the page play audio
    });
    controls.hidden = false;
    render();
  }

  if (socket) {
    socket.on("conversation.changed", onChanged);
    socket.on("open", soon); // (re)connected: events may have been missed meanwhile
    socket.addPoller(refresh);
  } else {
    window.setInterval(function () { if (!document.hidden) refresh(); }, 5000);
  }
  refresh();
})();
