/*
 * Hafen consent on the chat page: the privacy notice gate and the contact form.
 *
 * Plugs into chat.js through window.HafenChat (onNoticeRequired, onContactOffer,
 * onMessage, showPanel, api, setToken, start). Everything is inserted with
 * textContent, never as HTML. Nothing is stored in the browser here: the token
 * an acceptance returns is handed to HafenChat.setToken, which keeps it only in
 * memory unless the inbox has resume switched on.
 */
(function () {
  "use strict";

  var H = window.HafenChat;
  if (!H) return;
  var S = JSON.parse(document.getElementById("hafen-consent-strings").textContent);
  var C = H.config;

  function node(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "className") n.className = attrs[k];
      else n.setAttribute(k, attrs[k]);
    });
    if (text !== undefined && text !== null) n.textContent = text;
    return n;
  }

  function button(text, className, onClick) {
    var b = node("button", { type: "button", className: className || "" }, text);
    b.addEventListener("click", onClick);
    return b;
  }

  function formatDate(iso) {
    try {
      return new Date(iso).toLocaleDateString(C.language || undefined, {
        year: "numeric", month: "long", day: "numeric",
      });
    } catch (e) { return iso; }
  }

  function errorLine(panel) {
    var p = panel.querySelector(".hafen-consent-error");
    if (!p) {
      p = node("p", { className: "hafen-consent-error", role: "alert" });
      panel.appendChild(p);
    }
    return p;
  }

  function transparencyLink() {
    var p = node("p", { className: "hafen-consent-links" });
    var a = node("a", { href: C.transparency_url, target: "_blank", rel: "noopener" }, S.transparency);
    p.appendChild(a);
    return p;
  }

  // --- the notice gate ---------------------------------------------------------
  function fetchNotice() {
    return H.api("/notice").then(function (r) { return r.ok ? r.data.notice : null; });
  }

  function showNotice(notice, note) {
    // The page config holds the notice without its date: ask the API for the full
    // current version (it may also be newer), and fall back to what we have.
    var fallback = notice && notice.text && notice.title ? notice : null;
    fetchNotice().then(function (fresh) {
      if (fresh || fallback) renderNotice(fresh || fallback, note);
    }, function () {
      if (fallback) renderNotice(fallback, note);
    });
  }

  function renderNotice(notice, note) {
    var panel = node("section", {
      className: "hafen-consent-panel in-chat notice",
      "aria-labelledby": "hafen-notice-title",
      "data-notice-version": String(notice.version),
    });
    if (note) panel.appendChild(node("p", { className: "hafen-consent-note warn", role: "alert" }, note));
    panel.appendChild(node("h2", { id: "hafen-notice-title" }, notice.title));
    if (notice.published_at) {
      panel.appendChild(node("p", { className: "hafen-notice-version" },
        S.noticeVersion.replace("%(version)s", notice.version).replace("%(date)s", formatDate(notice.published_at))));
    }
    var text = node("div", { className: "hafen-notice-text", tabindex: "0" });
    notice.text.split(/\n\s*\n/).forEach(function (para) {
      text.appendChild(node("p", {}, para.trim()));
    });
    panel.appendChild(text);
    var actions = node("div", { className: "hafen-consent-actions" });
    var accept = button(S.accept, "primary", function () { acceptNotice(panel, notice.version, actions); });
    var decline = button(S.decline, "", function () { declineNotice(panel, notice, actions); });
    actions.appendChild(accept);
    actions.appendChild(decline);
    panel.appendChild(actions);
    panel.appendChild(transparencyLink());
    H.showPanel(panel);
    H.setEnabled(false);
    showDetailsButton(false);
    setGated(true);
  }

  // While the notice is owed it takes the whole chat area; its text scrolls
  // and the buttons stay in view, even in the small widget frame.
  function setGated(gated) { document.body.classList.toggle("hafen-gated", gated); }

  function setBusy(actions, busy) {
    Array.prototype.forEach.call(actions.querySelectorAll("button"), function (b) { b.disabled = busy; });
  }

  function acceptNotice(panel, version, actions) {
    setBusy(actions, true);
    H.api("/notice/accept", { method: "POST", body: { version: version } }).then(function (r) {
      if (r.ok) {
        if (r.data.token) H.setToken(r.data.token);
        H.hidePanel();
        setGated(false);
        showDetailsButton(true);
        return H.start();
      }
      if (r.status === 409 && r.data.error === "notice_outdated") {
        fetchNotice().then(function (fresh) { if (fresh) renderNotice(fresh, S.outdated); });
        return null;
      }
      errorLine(panel).textContent = r.data.message || S.error;
      setBusy(actions, false);
      return null;
    }, function () {
      errorLine(panel).textContent = S.error;
      setBusy(actions, false);
    });
  }

  function declineNotice(panel, notice, actions) {
    setBusy(actions, true);
    H.api("/notice/decline", { method: "POST" }).then(function (r) {
      var box = node("section", { className: "hafen-consent-panel in-chat declined", role: "status" });
      box.appendChild(node("p", {}, (r.data && r.data.message) || S.declined));
      var again = node("div", { className: "hafen-consent-actions" });
      again.appendChild(button(S.readAgain, "secondary", function () { renderNotice(notice); }));
      box.appendChild(again);
      box.appendChild(transparencyLink());
      H.showPanel(box);
      H.setEnabled(false);
    }, function () {
      errorLine(panel).textContent = S.error;
      setBusy(actions, false);
    });
  }

  H.onNoticeRequired = function (notice) {
    showNotice(notice, H.token() ? S.renewed : null);
  };

  // --- contact details ------------------------------------------------------------
  function consents() {
    if (!H.token()) return Promise.resolve(null);
    return H.api("/consents").then(function (r) { return r.ok ? r.data : null; });
  }

  function field(row, name, label, type, autocomplete) {
    var id = "hafen-contact-" + name;
    var cell = node("div", { className: "field" });
    cell.appendChild(node("label", { "for": id }, label));
    var input = node("input", { id: id, name: name, type: type, autocomplete: autocomplete });
    cell.appendChild(input);
    row.appendChild(cell);
    return input;
  }

  function showForm(purpose) {
    var panel = node("section", { className: "hafen-consent-panel in-chat contact", "aria-labelledby": "hafen-contact-title" });
    panel.appendChild(node("h2", { id: "hafen-contact-title" }, S.contactTitle));
    var p = node("p", { className: "hafen-contact-purpose" });
    p.appendChild(node("strong", {}, S.contactPurpose + " "));
    p.appendChild(document.createTextNode(purpose));
    panel.appendChild(p);
    panel.appendChild(node("p", { className: "hafen-consent-note" }, S.contactIntro));
    var form = node("form", { className: "hafen-contact-form", novalidate: "" });
    var row = node("div", { className: "fields" });
    var name = field(row, "name", S.name, "text", "name");
    var email = field(row, "email", S.email, "email", "email");
    var phone = field(row, "phone", S.phone, "tel", "tel");
    form.appendChild(row);
    form.appendChild(node("p", { className: "hafen-consent-note" }, S.emailOrPhone));
    var optIn = node("label", { className: "opt-in" });
    var box = node("input", { type: "checkbox", name: "opt_in", id: "hafen-contact-opt-in" });
    optIn.appendChild(box);
    optIn.appendChild(node("span", {}, S.optIn));
    form.appendChild(optIn);
    var actions = node("div", { className: "hafen-consent-actions" });
    actions.appendChild(node("button", { type: "submit", className: "primary" }, S.sendDetails));
    actions.appendChild(button(S.notNow, "", function () { H.hidePanel(); }));
    form.appendChild(actions);
    panel.appendChild(form);
    panel.appendChild(transparencyLink());
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      setBusy(actions, true);
      var ready = H.token() ? Promise.resolve(true) : H.start();
      ready.then(function (ok) {
        if (!ok) { setBusy(actions, false); return null; }
        return H.api("/contact", {
          method: "POST",
          body: {
            name: name.value, email: email.value, phone: phone.value,
            purpose: purpose, opt_in: box.checked === true,
          },
        }).then(function (r) {
          if (r.ok) { showStored(r.data, r.data.message); return; }
          errorLine(form).textContent = r.data.message || S.error;
          setBusy(actions, false);
        });
      }).catch(function () {
        errorLine(form).textContent = S.error;
        setBusy(actions, false);
      });
    });
    H.showPanel(panel);
    name.focus({ preventScroll: true });
  }

  function showStored(contact, message) {
    var panel = node("section", { className: "hafen-consent-panel in-chat contact-state hafen-contact-state", "aria-labelledby": "hafen-contact-title" });
    panel.appendChild(node("h2", { id: "hafen-contact-title" }, S.myDetails));
    if (message) panel.appendChild(node("p", { role: "status" }, message));
    panel.appendChild(node("p", {}, S.stored));
    var dl = node("dl");
    [["name", S.name], ["email", S.email], ["phone", S.phone]].forEach(function (pair) {
      if (!contact[pair[0]]) return;
      dl.appendChild(node("dt", {}, pair[1].replace(/\s*\(.*\)$/, "")));
      dl.appendChild(node("dd", {}, contact[pair[0]]));
    });
    panel.appendChild(dl);
    var actions = node("div", { className: "hafen-consent-actions" });
    actions.appendChild(button(S.withdraw, "danger", function () { withdraw(panel, actions); }));
    actions.appendChild(button(S.close, "", function () { H.hidePanel(); }));
    panel.appendChild(actions);
    H.showPanel(panel);
  }

  function withdraw(panel, actions) {
    setBusy(actions, true);
    H.api("/contact/withdraw", { method: "POST" }).then(function (r) {
      if (!r.ok) {
        errorLine(panel).textContent = r.data.message || S.error;
        setBusy(actions, false);
        return;
      }
      var done = node("section", { className: "hafen-consent-panel in-chat withdrawn" });
      done.appendChild(node("p", { role: "status" }, r.data.message || S.withdrawn));
      var row = node("div", { className: "hafen-consent-actions" });
      row.appendChild(button(S.close, "", function () { H.hidePanel(); }));
      done.appendChild(row);
      H.showPanel(done);
    }, function () {
      errorLine(panel).textContent = S.error;
      setBusy(actions, false);
    });
  }

  function openContact(preferRequest) {
    consents().then(function (data) {
      if (data && data.contact.granted) { showStored(data.contact); return; }
      if (preferRequest && !(data && data.contact.requested)) return;
      showForm(data ? data.contact.purpose : S.defaultPurpose);
    });
  }

  H.onContactOffer = function () { openContact(false); };

  // An operator's request arrives as a system message: look whether one is open.
  var checkTimer = null;
  H.onMessage = function (message) {
    if (message.sender !== "system") return;
    if (checkTimer) window.clearTimeout(checkTimer);
    checkTimer = window.setTimeout(function () { openContact(true); }, 200);
  };

  // A header button to see, give or withdraw contact details at any time.
  var header = document.querySelector(".chat-header");
  var mine = button(S.myDetails, "hafen-details-button", function () { openContact(false); });
  mine.id = "hafen-my-details";
  if (header) header.insertBefore(mine, header.querySelector(".chat-privacy"));
  function showDetailsButton(visible) { mine.hidden = !visible; }
})();
