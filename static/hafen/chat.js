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
 * Live (issue 13): once a conversation runs, a WebSocket to /ws/chat/<key>/ is
 * opened and authenticated with the bearer token in its first message (never in
 * the URL). Its events carry ids and statuses only: on "conversation.changed"
 * the page fetches /messages?after=... exactly as a poll does; {"type":"typing"}
 * shows S.operatorTyping for TYPING_SHOWN_MS. While the socket is open the 2 s
 * poll slows to a safety net (SAFETY_POLL_MS); if the socket fails SOCKET_TRIES
 * times in a row (refused, hanging, or closed soon after opening) the page polls
 * as before.
 * Typing sends {"type":"typing"} (no text) at most once a second. The socket
 * never touches the input: typed text survives every failure.
 *
 * The bot (issue 14): a bot message may carry `choices` (quick replies): a FAQ
 * entry ({entry, label}) is sent back as {"choice": {"entry": id}} (the bot
 * answers that entry; its label, FAQ text, is stored as the visitor's message),
 * {action: "handover"} asks for a person. Only the newest message's quick
 * replies stay on screen.
 *
 * Language: the page is rendered in the browser's language when the chat offers
 * it (config.language, from Accept-Language), and a new conversation is started
 * in it. The DE | EN switch in the header changes it in place: with a
 * conversation through POST /language (bot answers and system messages follow),
 * before one through GET /config?language=; both return the strings, which
 * replace the texts marked data-s (textContent) and data-s-label (aria-label).
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
    typing: document.getElementById("chat-typing"),
    lang: document.getElementById("chat-lang"),
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
    language: config.language,
  };
  var RETRY_DELAYS = [1000, 2000, 4000]; // ms before the 1st, 2nd, 3rd retry
  var SAFETY_POLL_MS = 30000; // poll interval while the socket is live
  var SOCKET_TRIES = 3; // failures in a row before falling back to polling for good
  var SOCKET_BACKOFF_MS = [500, 1000, 2000];
  var SOCKET_STABLE_MS = 10000; // a connection that lived this long resets the failure count
  var SOCKET_CONNECT_TIMEOUT_MS = 5000; // a handshake that hangs this long counts as a failure
  var TYPING_SHOWN_MS = 4000;
  var TYPING_SEND_MS = 1000;
  var live = {
    ws: null,
    open: false,
    failures: 0,
    gaveUp: false,
    openedAt: 0,
    retryTimer: null,
    typingTimer: null,
    lastTypingSent: 0,
  };

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

  // The data-s key of a sender's label (swapped on a language switch); none for a named operator.
  function labelKey(message) {
    if (message.sender === "visitor") return "you";
    if (message.sender === "bot") return "bot";
    if (message.sender === "operator") return message.author_name ? null : "operator";
    return "system";
  }

  // Quick replies under a bot message: buttons whose text is set with textContent.
  function quickReplies(message) {
    var box = document.createElement("div");
    box.className = "quick-replies";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", S.suggestions || "");
    box.dataset.sLabel = "suggestions";
    message.choices.forEach(function (choice) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = choice.action === "handover" ? "quick-reply secondary" : "quick-reply";
      button.textContent = choice.label;
      if (choice.action === "handover") {
        button.dataset.action = "handover";
        button.addEventListener("click", askForPerson);
      } else {
        button.dataset.entry = choice.entry;
        button.addEventListener("click", function () { sendChoice(choice.entry); });
      }
      box.appendChild(button);
    });
    return box;
  }
  function dropQuickReplies() {
    Array.prototype.forEach.call(el.list.querySelectorAll(".quick-replies"), function (box) {
      box.parentNode.removeChild(box);
    });
  }

  function render(message) {
    if (state.seen[message.id]) return;
    state.seen[message.id] = true;
    if (message.id > state.lastId) state.lastId = message.id;
    dropQuickReplies(); // a newer message: the earlier suggestions are answered or moot
    var li = document.createElement("li");
    li.className = "msg " + message.sender;
    li.dataset.id = message.id;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = label(message);
    var key = labelKey(message);
    if (key) meta.dataset.s = key;
    var body = document.createElement("span");
    body.className = "body";
    body.textContent = message.body; // text, never HTML
    li.appendChild(meta);
    li.appendChild(body);
    if (message.sender === "bot" && message.choices && message.choices.length &&
        state.status !== "waiting" && state.status !== "operator" && state.status !== "closed") {
      li.appendChild(quickReplies(message));
    }
    if (message.sender === "visitor" && message.redacted_count > 0) {
      var note = document.createElement("span");
      note.className = "note";
      note.textContent = S.redacted;
      li.appendChild(note);
    }
    el.list.appendChild(li);
    if (message.sender === "operator") hideTyping();
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
    if (state.status !== "bot") dropQuickReplies(); // only the bot takes quick replies
    if (conversation.language && conversation.language !== state.language) {
      // A resumed conversation keeps the language the visitor chose.
      loadStrings(conversation.language);
    }
    if (closed) {
      stopPolling();
      disconnect();
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
    var base = live.open ? SAFETY_POLL_MS : config.pollMs;
    var delay = base * Math.min(1 + state.failures, 8);
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
    disconnect();
  }

  // --- live socket (falls back to the polling above) ----------------------------
  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + "/ws/chat/" + encodeURIComponent(config.publicKey) + "/";
  }

  function disconnect() {
    if (live.retryTimer) window.clearTimeout(live.retryTimer);
    live.retryTimer = null;
    var ws = live.ws;
    live.ws = null;
    live.open = false;
    hideTyping();
    if (ws) { try { ws.close(1000); } catch (e) { /* already closed */ } }
  }

  function connect() {
    disconnect();
    if (live.gaveUp || !state.token || state.status === "closed" || !("WebSocket" in window)) return;
    var ws;
    try { ws = new window.WebSocket(socketUrl()); } catch (e) { live.gaveUp = true; return; }
    live.ws = ws;
    var token = state.token;
    var timer = window.setTimeout(function () {
      if (live.ws === ws && !live.open) {
        live.ws = null;
        socketFailed(1006, false);
        try { ws.close(); } catch (e) { /* never opened */ }
      }
    }, SOCKET_CONNECT_TIMEOUT_MS);
    ws.addEventListener("open", function () {
      window.clearTimeout(timer);
      if (live.ws !== ws) return;
      ws.send(JSON.stringify({ type: "auth", token: token }));
      live.open = true;
      live.openedAt = Date.now();
      poll(); // catch up on anything sent while connecting; reschedules at the slow rate
    });
    ws.addEventListener("message", function (message) {
      if (live.ws !== ws) return;
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (!event) return;
      if (event.type === "conversation.changed") poll();
      else if (event.type === "typing" && event.who === "operator") showTyping();
    });
    ws.addEventListener("close", function (event) {
      window.clearTimeout(timer);
      if (live.ws !== ws) return; // replaced, timed out or closed on purpose
      var wasOpen = live.open;
      live.ws = null;
      live.open = false;
      hideTyping();
      socketFailed(event.code, wasOpen);
    });
  }

  function socketFailed(code, wasOpen) {
    if (wasOpen && Date.now() - live.openedAt > SOCKET_STABLE_MS) live.failures = 0;
    else live.failures += 1;
    if (code === 4401 || live.failures >= SOCKET_TRIES) {
      live.gaveUp = true; // poll as before (a 4401 token is also refused by the API)
      poll();
      return;
    }
    poll(); // back to the 2 s rate while reconnecting
    live.retryTimer = window.setTimeout(
      connect, SOCKET_BACKOFF_MS[Math.min(live.failures, SOCKET_BACKOFF_MS.length) - 1]
    );
  }

  function hideTyping() {
    if (live.typingTimer) window.clearTimeout(live.typingTimer);
    live.typingTimer = null;
    if (el.typing) el.typing.hidden = true;
  }
  function showTyping() {
    if (!el.typing) return;
    el.typing.textContent = S.operatorTyping;
    el.typing.hidden = false;
    if (live.typingTimer) window.clearTimeout(live.typingTimer);
    live.typingTimer = window.setTimeout(hideTyping, TYPING_SHOWN_MS);
  }
  function sendTyping() {
    var now = Date.now();
    if (!live.open || !el.input.value || now - live.lastTypingSent < TYPING_SEND_MS) return;
    try {
      live.ws.send(JSON.stringify({ type: "typing" }));
      live.lastTypingSent = now;
    } catch (e) { /* the close handler takes over */ }
  }

  // --- conversation -------------------------------------------------------------
  function start(options) {
    // A new conversation speaks the page's language (the browser's, or the one switched to).
    var body = { language: state.language || navigator.language || "" };
    if (options && options.startNew) body.new = true;
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
      connect(); // the token names the conversation: a new one needs a new socket
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

  // A clicked quick reply: the bot answers that FAQ entry. Retried like a message
  // (same client_key); the typed text in the input is left alone.
  function sendChoice(entry) {
    if (state.busy) return;
    state.busy = true;
    say(S.sending);
    var key = newKey();
    ensureConversation().then(function (ok) {
      if (!ok) return null;
      return postMessage({ choice: { entry: entry }, client_key: key }).then(function (r) {
        if (!r.ok) { handleError(r); return; }
        render(r.data.message);
        r.data.replies.forEach(render);
        applyStatus(r.data.conversation);
        say("");
        if (r.data.offer_contact_form && typeof HafenChat.onContactOffer === "function") {
          HafenChat.onContactOffer(r.data.replies[0]);
        }
        schedulePoll();
      });
    }).catch(function () { say(S.offline); }).then(function () {
      state.busy = false;
      el.input.focus();
    });
  }

  // --- language -----------------------------------------------------------------
  function applyStrings(language, strings) {
    state.language = language;
    config.language = language;
    config.strings = strings;
    S = strings;
    document.documentElement.lang = language;
    document.title = config.name + " · " + (S.chat || "");
    Array.prototype.forEach.call(document.querySelectorAll("[data-s]"), function (node) {
      if (S[node.dataset.s]) node.textContent = S[node.dataset.s];
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-s-label]"), function (node) {
      if (S[node.dataset.sLabel]) node.setAttribute("aria-label", S[node.dataset.sLabel]);
    });
    if (el.lang) {
      Array.prototype.forEach.call(el.lang.querySelectorAll("[data-language]"), function (b) {
        b.setAttribute("aria-pressed", b.dataset.language === language ? "true" : "false");
      });
    }
    // Extensions (consent, retention) may follow: document "hafen:language" {language, strings}.
    document.dispatchEvent(new CustomEvent("hafen:language", {
      detail: { language: language, strings: strings },
    }));
  }
  function loadStrings(language) {
    state.language = language; // at once: a second call for it is not repeated
    return api("/config?language=" + encodeURIComponent(language)).then(function (r) {
      if (r.ok && r.data.strings) applyStrings(r.data.language, r.data.strings);
    }, function () { say(S.offline); });
  }
  function switchLanguage(language) {
    if (language === state.language || state.busy) return;
    if (!state.token || !state.status || state.status === "closed") {
      loadStrings(language); // the conversation starts in it
      return;
    }
    state.busy = true;
    api("/language", { method: "POST", body: { language: language } }).then(function (r) {
      if (!r.ok) { handleError(r); return; }
      applyStrings(r.data.conversation.language, r.data.strings);
      applyStatus(r.data.conversation);
    }, function () { say(S.offline); }).then(function () { state.busy = false; });
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
  el.input.addEventListener("input", sendTyping);
  el.handover.addEventListener("click", askForPerson);
  if (el.lang) {
    el.lang.addEventListener("click", function (event) {
      var button = event.target.closest("[data-language]");
      if (button) switchLanguage(button.dataset.language);
    });
  }
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
