/*
 * The console's conversation page, live (issue 13).
 *
 * Watches its conversation on the shared socket (socket.js). On every
 * "conversation.changed" for it, and on every poll when the socket is down, it
 * fetches the live endpoint (conversations/views/live.py: rights-checked,
 * masked, rendered by the page's own partials) and applies it: new message
 * rows, status, assignee, contact details. Events themselves hold no text.
 *
 * Take-over: when someone other than the operator, and other than whom the page
 * showed, now holds the conversation, a banner names them and the reply form
 * asks for confirmation (a checkbox); ticked, the reply is sent with the new
 * assignee as expected_assignee, so the server lets the operator take it back.
 * The typed text is never touched by any of this.
 *
 * Typing: input in the reply box sends {"type": "typing"} at most once a
 * second; the visitor's typing shows a note for TYPING_SHOWN_MS.
 */
(function () {
  "use strict";
  var root = document.getElementById("live-conversation");
  if (!root || !window.HafenSocket) return;
  var socket = window.HafenSocket;

  var TYPING_SHOWN_MS = 4000;
  var TYPING_SEND_MS = 1000;

  var conversationId = parseInt(root.getAttribute("data-conversation"), 10);
  var me = root.getAttribute("data-me");
  var shownAssignee = root.getAttribute("data-assignee") || ""; // whom the page was rendered with
  var revealed = root.getAttribute("data-revealed") === "1";
  var url = root.getAttribute("data-url");
  var after = parseInt(root.getAttribute("data-after"), 10) || 0;

  var el = {
    list: document.querySelector(".messages-list"),
    status: document.querySelector("[data-live-status]"),
    assignee: document.querySelector("[data-live-assignee]"),
    contact: document.querySelector("[data-live-contact]"),
    contactNote: document.querySelector("[data-live-contact-note]"),
    typing: document.querySelector("[data-live-typing]"),
    banner: document.querySelector("[data-live-banner]"),
    form: document.querySelector("form.reply"),
  };
  var input = el.form ? el.form.querySelector("textarea") : null;

  var busy = false;
  var again = false;
  var takenBy = null; // {id, name} while someone else holds the conversation
  var firstContact = null; // on a revealed page: the masked block as first fetched
  var typingTimer = null;
  var lastTypingSent = 0;

  // --- applying the live endpoint's answer -------------------------------------------
  function appendRows(html) {
    if (!html || !html.trim()) return;
    var empty = el.list.querySelector("[data-live-empty]");
    if (empty) empty.remove();
    var box = document.createElement("ol");
    box.innerHTML = html; // server-rendered, escaped by the template
    Array.prototype.slice.call(box.children).forEach(function (li) {
      var id = li.getAttribute("data-message-id");
      if (id && el.list.querySelector('[data-message-id="' + id + '"]')) return; // already shown
      el.list.appendChild(li);
      if (li.classList.contains("visitor")) hideTyping();
    });
    var last = el.list.lastElementChild;
    if (last && el.list.getBoundingClientRect().bottom > window.innerHeight) {
      last.scrollIntoView({ block: "nearest" });
    }
  }

  function applyStatus(data) {
    if (!el.status) return;
    el.status.className = "badge " + data.status;
    el.status.textContent = data.status_label;
  }

  function applyContact(data) {
    if (!el.contact) return;
    if (!revealed) {
      if (el.contact.innerHTML !== data.contact_html) el.contact.innerHTML = data.contact_html;
      return;
    }
    // Revealed for this page view only: keep what is shown; say when it changed.
    if (firstContact === null) firstContact = data.contact_html;
    else if (firstContact !== data.contact_html && el.contactNote) {
      el.contactNote.textContent = root.getAttribute("data-msg-contact-changed");
      el.contactNote.hidden = false;
    }
  }

  function applyAssignee(data) {
    if (el.assignee) el.assignee.textContent = data.assignee_username || "–";
    var holder = data.assigned_to === null ? "" : String(data.assigned_to);
    if (holder && holder !== me && holder !== shownAssignee && data.status !== "closed") {
      setTakenBy({ id: holder, name: data.assignee_name });
    } else if (!holder || holder === me || holder === shownAssignee) {
      setTakenBy(null);
    }
  }

  // --- take-over banner and confirmation ----------------------------------------------
  function confirmBox() {
    return el.form ? el.form.querySelector("[data-live-confirm]") : null;
  }

  function setTakenBy(who) {
    takenBy = who;
    if (!el.banner) return;
    if (!who) {
      el.banner.hidden = true;
      var old = el.form && el.form.querySelector(".confirm-takeback");
      if (old) old.remove();
      return;
    }
    el.banner.textContent = root.getAttribute("data-msg-taken").replace("%(name)s", who.name);
    el.banner.hidden = false;
    if (el.form && !confirmBox()) {
      var label = document.createElement("label");
      label.className = "confirm-takeback";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.setAttribute("data-live-confirm", "");
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + root.getAttribute("data-msg-confirm")));
      var button = el.form.querySelector("button[type=submit]");
      el.form.insertBefore(label, button);
    }
    var box2 = confirmBox();
    if (box2) box2.checked = false; // a new take-over asks again
  }

  function formError(text) {
    var box = el.form.querySelector("[data-live-error]");
    if (!box) {
      box = document.createElement("div");
      box.className = "error";
      box.setAttribute("role", "alert");
      box.setAttribute("data-live-error", "");
      el.form.insertBefore(box, el.form.querySelector(".confirm-takeback"));
    }
    box.textContent = text;
  }

  if (el.form) {
    el.form.addEventListener("submit", function (event) {
      if (!takenBy) return;
      var box = confirmBox();
      if (!box || !box.checked) {
        event.preventDefault();
        event.stopImmediatePropagation();
        formError(root.getAttribute("data-msg-confirm-needed"));
        if (box) box.focus();
        return;
      }
      // Confirmed: reply as taking it over from whom the operator now knows has it.
      var expected = el.form.querySelector("input[name=expected_assignee]");
      if (expected) expected.value = takenBy.id;
    }, true);
  }

  // --- fetching ---------------------------------------------------------------------
  function fetchLive() {
    if (busy) { again = true; return; }
    busy = true;
    again = false;
    fetch(url + "?after=" + after, {
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "fetch" },
      cache: "no-store",
    })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error("live fetch failed: " + r.status);
        return r.json();
      })
      .then(function (data) {
        appendRows(data.messages_html);
        if (data.last_id > after) after = data.last_id;
        applyStatus(data);
        applyAssignee(data);
        applyContact(data);
        if (data.more) again = true;
      })
      .catch(function () { /* keep what is shown; the next event or poll tries again */ })
      .then(function () {
        busy = false;
        if (again) fetchLive();
      });
  }

  // --- typing -------------------------------------------------------------------------
  function hideTyping() {
    if (typingTimer) window.clearTimeout(typingTimer);
    typingTimer = null;
    if (el.typing) el.typing.hidden = true;
  }
  function showTyping() {
    if (!el.typing) return;
    el.typing.hidden = false;
    if (typingTimer) window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(hideTyping, TYPING_SHOWN_MS);
  }
  if (input) {
    input.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTypingSent < TYPING_SEND_MS || !input.value) return;
      if (socket.send({ type: "typing", conversation: conversationId })) lastTypingSent = now;
    });
  }

  // --- wiring -------------------------------------------------------------------------
  socket.on("conversation.changed", function (event) {
    if (event.conversation === conversationId) fetchLive();
  });
  socket.on("typing", function (event) {
    if (event.conversation === conversationId && event.who === "visitor") showTyping();
  });
  socket.on("open", fetchLive); // (re)connected: catch up on what happened meanwhile
  socket.addPoller(fetchLive);
  socket.send({ type: "watch", conversation: conversationId });
})();
