/* Visitor self-service on the chat page: "Download my data" (Art. 15/20) and
 * "Erase my data" (Art. 17), both with the visitor's own bearer token through
 * window.HafenChat.api. The erasure asks first and shows the signed receipt.
 * Nothing here stores anything in the browser. */
(function () {
  "use strict";
  var chat = window.HafenChat;
  var app = document.getElementById("hafen-chat");
  if (!chat || !app) return;
  var S = JSON.parse(document.getElementById("hafen-selfservice-strings").textContent);

  var bar = document.createElement("div");
  bar.className = "selfservice";
  bar.hidden = true;
  var download = button(S.download, "selfservice-download");
  var erase = button(S.erase, "selfservice-erase");
  var note = document.createElement("p");
  note.className = "selfservice-note";
  note.setAttribute("role", "status");
  bar.appendChild(download);
  bar.appendChild(erase);
  bar.appendChild(note);
  app.appendChild(bar);

  function button(text, id) {
    var b = document.createElement("button");
    b.type = "button";
    b.id = id;
    b.className = "link-button";
    b.textContent = text;
    return b;
  }

  function refresh() { bar.hidden = !chat.token(); }

  function saveJson(data, filename) {
    var blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  download.addEventListener("click", function () {
    note.textContent = "";
    chat.api("/export").then(function (r) {
      if (!r.ok) { note.textContent = (r.data && r.data.message) || S.error; return; }
      saveJson(r.data, "my-chat-data.json");
      note.textContent = S.downloaded;
    }, function () { note.textContent = S.error; });
  });

  erase.addEventListener("click", function () {
    note.textContent = "";
    var panel = document.createElement("section");
    panel.className = "selfservice-panel";
    panel.setAttribute("role", "alertdialog");
    panel.setAttribute("aria-labelledby", "selfservice-confirm-title");
    var h = document.createElement("h2");
    h.id = "selfservice-confirm-title";
    h.textContent = S.confirmTitle;
    var p = document.createElement("p");
    p.textContent = S.confirmText;
    var yes = button(S.confirm, "selfservice-confirm");
    yes.className = "danger";
    var no = button(S.cancel, "selfservice-cancel");
    no.className = "secondary";
    panel.appendChild(h);
    panel.appendChild(p);
    panel.appendChild(yes);
    panel.appendChild(no);
    chat.showPanel(panel);
    no.focus();
    no.addEventListener("click", function () { chat.hidePanel(); erase.focus(); });
    yes.addEventListener("click", function () {
      yes.disabled = true;
      chat.api("/erase", { method: "POST" }).then(function (r) {
        if (!r.ok) {
          p.textContent = (r.data && r.data.message) || S.error;
          yes.remove();
          return;
        }
        showReceipt(r.data);
      }, function () { p.textContent = S.error; yes.disabled = false; });
    });
  });

  function showReceipt(document_) {
    chat.setToken(null); // the visitor is gone; so is the token
    chat.setEnabled(false);
    var list = window.document.getElementById("chat-messages");
    if (list) list.textContent = "";
    refresh();
    var erased = document_.receipt.erased;
    var panel = window.document.createElement("section");
    panel.className = "selfservice-panel done";
    panel.setAttribute("role", "status");
    var h = window.document.createElement("h2");
    h.textContent = S.doneTitle;
    var p = window.document.createElement("p");
    p.textContent = S.doneText;
    var ul = window.document.createElement("ul");
    ul.className = "selfservice-counts";
    ["conversations", "messages", "contact_details", "consent_records", "audit_entries"].forEach(function (key) {
      var li = window.document.createElement("li");
      li.textContent = erased[key] + " " + S[key];
      ul.appendChild(li);
    });
    var meta = window.document.createElement("p");
    meta.className = "selfservice-receipt-meta";
    meta.textContent = S.request + " #" + document_.receipt.request_id + " · " + document_.receipt.executed_at;
    var save = button(S.receipt, "selfservice-receipt");
    save.className = "primary";
    save.addEventListener("click", function () {
      saveJson(document_, "erasure-receipt-" + document_.receipt.request_id + ".json");
    });
    var sig = window.document.createElement("code");
    sig.className = "selfservice-signature";
    sig.textContent = document_.signature;
    [h, p, ul, meta, save, sig].forEach(function (n) { panel.appendChild(n); });
    chat.showPanel(panel);
    save.focus();
  }

  var previous = chat.onMessage;
  chat.onMessage = function (message) {
    if (typeof previous === "function") previous(message);
    refresh();
  };
  window.setInterval(refresh, 1000);
  refresh();
})();
