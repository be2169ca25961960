/*
 * Hafen chat page (the page widget.js frames at /chat/<public_key>/).
 *
 * Privacy: with resume off the visitor token lives only in this page's memory;
 * nothing is written to localStorage, sessionStorage or cookies. With resume on
 * it is kept in localStorage under config.storageKey (one key per inbox).
 * Message text is always inserted with textContent, never as HTML.
 *
 * Sending is exactly-once: each new message gets a random client_key; a network
 * error or a 5xx is retried (RETRY_DELAYS) with the SAME key, so a message the
 * server stored before the answer got lost is returned, not stored twice. The
 * typed text stays in the input until the server confirmed it; sending the same
 * text again after a failure reuses its key.
 *
 * Hook points for other features (the consent app's notice gate and contact
 * form). Scripts included after this one (CHAT_PAGE_EXTENSIONS in
 * conversations/views/chat.py) may set or call, before or after DOMContentLoaded:
 *
 *   HafenChat.config                      the page config (inbox name, notice, strings, apiBase...)
 *   HafenChat.api(path, {method, body})   fetch `${apiBase}${path}` with the bearer token;
 *                                         resolves to {ok, status, data} (never rejects on HTTP errors)
 *   HafenChat.showPanel(el)               show `el` in the panel area (#chat-panels), replacing
 *                                         the previous panel; returns el
 *   HafenChat.hidePanel()                 remove the panel
 *   HafenChat.setToken(token)             use this visitor token (e.g. returned by an accept
 *                                         endpoint); stored in localStorage only if resume is on
 *   HafenChat.token()                     the current token or null
 *   HafenChat.start()                     start or resume the conversation now (POST /conversations)
 *   HafenChat.setEnabled(bool)            enable/disable typing and sending
 *   HafenChat.onNoticeRequired = fn(notice)   called when the notice must be accepted first
 *                                         (notice = {version, title, text} or {version});
 *                                         the default shows the notice with a link to the
 *                                         transparency page and disables typing
 *   HafenChat.onContactOffer = fn(message) called when a bot answer offers the contact form
 *   HafenChat.onMessage = fn(message)      called for every message rendered
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("hafen-chat-config").textContent);
  var S = config.strings;
  var el = {
    list: document.getElementById("chat-messages"),
    status: document.getElementById("chat-status"),
    form: document.getElementById("chat-form"),
    input: document.getElementById("chat-input"),
    send: document.getElementById("chat-send"),
    handover: document.getElementById("chat-handover"),
    closed: document.getElementById("chat-closed"),
    restart: document.getElementById("chat-new"),
    panels: document.getElementById("chat-panels"),
    close: document.getElementById("chat-close"),
  };
  var framed = window.parent !== window;

  var state = {
    token: null,
    lastId: 0,
    seen: {},
    status: null,
    busy: false,
    pollTimer: null,
    failures: 0,
    pending: null, // {text, key}: the message being sent, kept after a failure
  };
  var RETRY_DELAYS = [1000, 2000, 4000]; // ms before the 1st, 2nd, 3rd retry

  // A random idempotency key (matches the API's ^[A-Za-z0-9_-]{8,64}$).
  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function delay(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  // --- token storage: only with resume on --------------------------------
  function storedToken() {
    if (!config.resume_enabled) return null;
    try { return window.localStorage.getItem(config.storageKey); } catch (e) { return null; }
  }
  function setToken(token) {
    state.token = token || null;
    if (!config.resume_enabled) return;
    try {
      if (state.token) window.localStorage.setItem(config.storageKey, state.token);
      else window.localStorage.removeItem(config.storageKey);
    } catch (e) { /* storage blocked: the token stays in memory */ }
  }

  // --- API ------------------------------------------------------------------
  function api(path, opts) {
    opts = opts || {};
    var headers = { "Accept": "application/json" };
    if (state.token) headers["Authorization"] = "Bearer " + state.token;
    var init = { method: opts.method || "GET", headers: headers, credentials: "omit", cache: "no-store" };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    return fetch(config.apiBase + path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  // --- rendering --------------------------------------------------------------
  function label(message) {
    if (message.sender === "visitor") return S.you;
    if (message.sender === "bot") return S.bot;
    if (message.sender === "operator") return message.author_name || S.operator;
    return S.system;
  }

  function render(message) {
    if (state.seen[message.id]) return;
    state.seen[message.id] = true;
    if (message.id > state.lastId) state.lastId = message.id;
    var li = document.createElement("li");
    li.className = "msg " + message.sender;
    li.dataset.id = message.id;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = label(message);
    var body = document.createElement("span");
    body.className = "body";
    body.textContent = message.body; // text, never HTML
    li.appendChild(meta);
    li.appendChild(body);
    if (message.sender === "visitor" && message.redacted_count > 0) {
      var note = document.createElement("span");
      note.className = "note";
      note.textContent = S.redacted;
      li.appendChild(note);
    }
    el.list.appendChild(li);
    li.scrollIntoView({ block: "end" });
    if (typeof HafenChat.onMessage === "function") HafenChat.onMessage(message);
  }

  function say(text) { el.status.textContent = text || ""; }

  function setEnabled(enabled) {
    el.input.disabled = !enabled;
    el.send.disabled = !enabled;
    el.handover.disabled = !enabled || state.status === "waiting" || state.status === "operator";
  }

  function applyStatus(conversation) {
    state.status = conversation.status;
    if (conversation.reference) {
      // Shown so a visitor can name their conversation in an access or erasure request.
      document.getElementById("chat-ref-value").textContent = conversation.reference;
      document.getElementById("chat-ref").hidden = false;
    }
    var closed = state.status === "closed";
    el.closed.hidden = !closed;
    el.form.hidden = closed;
    el.handover.hidden = state.status === "waiting" || state.status === "operator";
    if (closed) {
      stopPolling();
      say(S.closed); // the status line (role=status) announces it; the panel holds the button
    }
  }

  // --- hooks (other apps replace these) -------------------------------------
  function showPanel(node) {
    el.panels.textContent = "";
    el.panels.appendChild(node);
    el.panels.hidden = false;
    return node;
  }
  function hidePanel() {
    el.panels.textContent = "";
    el.panels.hidden = true;
  }
  function defaultNoticeRequired(notice) {
    var box = document.createElement("div");
    box.className = "panel notice";
    var h = document.createElement("h2");
    h.textContent = (notice && notice.title) || S.noticeRequired;
    box.appendChild(h);
    if (notice && notice.text) {
      var p = document.createElement("p");
      p.className = "notice-text";
      p.textContent = notice.text;
      box.appendChild(p);
    }
    var more = document.createElement("p");
    var a = document.createElement("a");
    a.href = config.transparency_url;
    a.target = "_blank";
    a.rel = "noopener";
    a.textContent = S.noticeRequired;
    more.appendChild(a);
    box.appendChild(more);
    showPanel(box);
    setEnabled(false);
  }

  function noticeRequired(data) {
    var notice = config.notice && data && config.notice.version === data.notice_version
      ? config.notice
      : { version: data && data.notice_version };
    HafenChat.onNoticeRequired(notice);
  }

  // --- polling ----------------------------------------------------------------
  function stopPolling() {
    if (state.pollTimer) window.clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }
  function schedulePoll() {
    stopPolling();
    if (!state.token || state.status === "closed") return;
    var delay = config.pollMs * Math.min(1 + state.failures, 8);
    state.pollTimer = window.setTimeout(poll, delay);
  }
  function poll() {
    if (document.hidden) { schedulePoll(); return; }
    api("/messages?after=" + state.lastId).then(function (r) {
      if (r.ok) {
        if (state.failures) say("");
        state.failures = 0;
        r.data.messages.forEach(render);
        applyStatus(r.data.conversation);
      } else if (r.status === 401) {
        forgetToken();
        return;
      } else {
        state.failures += 1;
      }
      schedulePoll();
    }, function () {
      state.failures += 1;
      say(S.offline);
      schedulePoll();
    });
  }

  function forgetToken() {
    setToken(null);
    stopPolling();
  }

  // --- conversation -------------------------------------------------------------
  function start(options) {
    var body = options && options.startNew ? { new: true } : undefined;
    return api("/conversations", { method: "POST", body: body }).then(function (r) {
      if (r.status === 403 && r.data.error === "notice_required") {
        noticeRequired(r.data);
        return false;
      }
      if (!r.ok) {
        if (r.status === 401) forgetToken();
        say(r.data.message || S.error);
        return false;
      }
      setToken(r.data.token);
      if (!r.data.resumed) {
        el.list.textContent = "";
        state.seen = {};
      }
      r.data.messages.forEach(render);
      applyStatus(r.data.conversation);
      setEnabled(true);
      schedulePoll();
      return true;
    }, function () {
      say(S.offline);
      return false;
    });
  }

  function ensureConversation() {
    if (state.token && state.status) return Promise.resolve(true);
    return start();
  }

  function handleError(r) {
    if (r.status === 403 && r.data.error === "notice_required") { noticeRequired(r.data); return; }
    if (r.status === 409 && r.data.error === "conversation_closed") {
      applyStatus({ status: "closed" });
      return;
    }
    if (r.status === 401 || (r.status === 410 && r.data.error === "visitor_erased")) {
      forgetToken();
      state.status = null; // the next message starts afresh
    }
    say(r.data.message || S.error);
  }

  // POST a message; network errors and 5xx are retried with the same body (and
  // so the same client_key). Resolves to the last response; rejects only if
  // the network failed on every try.
  function postMessage(body, attempt) {
    attempt = attempt || 0;
    function retry(reason) {
      if (attempt >= RETRY_DELAYS.length) {
        if (reason.response) return reason.response;
        throw reason.error;
      }
      say(S.offline);
      return delay(RETRY_DELAYS[attempt]).then(function () {
        return postMessage(body, attempt + 1);
      });
    }
    return api("/messages", { method: "POST", body: body }).then(function (r) {
      if (r.status >= 500) return retry({ response: r });
      return r;
    }, function (error) {
      return retry({ error: error });
    });
  }

  function send(text) {
    if (state.busy) return;
    if (!text.trim()) { say(S.empty); return; }
    if (text.length > 4000) { say(S.tooLong); return; }
    state.busy = true;
    el.send.disabled = true;
    say(S.sending);
    // The same text sent again after a failure keeps its key: if the server
    // did store it, the repeat returns it instead of storing it twice.
    if (!state.pending || state.pending.text !== text) state.pending = { text: text, key: newKey() };
    var pending = state.pending;
    ensureConversation().then(function (ok) {
      if (!ok) return null;
      return postMessage({ text: text, client_key: pending.key }).then(function (r) {
        if (!r.ok) { handleError(r); return; }
        if (state.pending === pending) state.pending = null;
        // Clear the input only if it still holds what was sent (typing goes on).
        if (el.input.value === text) el.input.value = "";
        render(r.data.message);
        r.data.replies.forEach(render);
        applyStatus(r.data.conversation);
        say(r.data.redacted_count > 0 ? S.redacted : "");
        if (r.data.offer_contact_form && typeof HafenChat.onContactOffer === "function") {
          HafenChat.onContactOffer(r.data.replies[0]);
        }
        schedulePoll();
      });
    }).catch(function () { say(S.offline); }).then(function () {
      state.busy = false;
      el.send.disabled = el.input.disabled;
      el.input.focus();
    });
  }

  function askForPerson() {
    if (state.busy) return;
    state.busy = true;
    ensureConversation().then(function (ok) {
      if (!ok) return null;
      return api("/handover", { method: "POST" }).then(function (r) {
        if (!r.ok) { handleError(r); return; }
        r.data.messages.forEach(render);
        applyStatus(r.data.conversation);
        say(S.handedOver);
        schedulePoll();
      });
    }).catch(function () { say(S.offline); }).then(function () {
      state.busy = false;
      el.input.focus();
    });
  }

  // --- wiring -----------------------------------------------------------------
  el.form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(el.input.value);
  });
  el.input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(el.input.value);
    }
  });
  el.handover.addEventListener("click", askForPerson);
  el.restart.addEventListener("click", function () {
    start({ startNew: true }).then(function (ok) {
      if (ok) { say(""); el.input.focus(); }
    });
  });
  function closeWidget() { window.parent.postMessage({ type: "hafen:close" }, "*"); }
  if (framed) {
    el.close.hidden = false;
    el.close.addEventListener("click", closeWidget);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeWidget();
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && state.token && state.status !== "closed") poll();
  });

  var HafenChat = {
    config: config,
    api: api,
    showPanel: showPanel,
    hidePanel: hidePanel,
    setToken: setToken,
    token: function () { return state.token; },
    start: start,
    setEnabled: setEnabled,
    onNoticeRequired: defaultNoticeRequired,
    onContactOffer: null,
    onMessage: null,
  };
  window.HafenChat = HafenChat;

  function boot() {
    el.panels.hidden = !el.panels.firstChild;
    if (!config.resume_enabled) {
      // Resume is off: make sure no token from an earlier setting stays behind.
      try { window.localStorage.removeItem(config.storageKey); } catch (e) { /* blocked */ }
    }
    var token = storedToken();
    if (token) {
      state.token = token;
      start();
    } else if (config.notice_required) {
      HafenChat.onNoticeRequired(config.notice);
    }
    if (framed) el.input.focus({ preventScroll: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else window.setTimeout(boot, 0);
})();
