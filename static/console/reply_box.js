/* The operator's reply box: canned replies by "/" + shortcut, and Ctrl+Enter (Cmd+Enter) sends.
 *
 * The canned replies come from the page's JSON data block #canned-replies
 * (shortcut and text, rendered by the detail view); nothing is fetched and no
 * text leaves the page. Typing "/" at the start of a word opens a list under
 * the textarea with the shortcuts that start with what follows the "/":
 * ArrowDown/ArrowUp move, Enter or Tab inserts the text in place of "/word",
 * Escape closes the list. Ctrl+Enter submits through requestSubmit, so other
 * submit handlers on the form (a confirmation) still run.
 */
(function () {
  "use strict";
  var form = document.querySelector("form.reply");
  var menu = document.getElementById("canned-menu");
  if (!form || !menu) return;
  var box = form.querySelector("textarea");
  if (!box) return;
  var canned = [];
  var data = document.getElementById("canned-replies");
  try {
    canned = JSON.parse(data ? data.textContent : "[]") || [];
  } catch (e) {
    canned = [];
  }
  var MAX_SHOWN = 8;
  var matches = [];
  var active = -1;
  var start = -1;

  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-controls", menu.id);

  function trigger() {
    if (box.selectionStart !== box.selectionEnd) return null;
    var caret = box.selectionStart;
    var found = /(^|\s)\/([\w-]*)$/.exec(box.value.slice(0, caret));
    if (!found) return null;
    return { start: caret - found[2].length - 1, prefix: found[2].toLowerCase() };
  }

  function close() {
    matches = [];
    active = -1;
    menu.textContent = "";
    menu.hidden = true;
    box.removeAttribute("aria-activedescendant");
  }

  function render() {
    menu.textContent = "";
    matches.forEach(function (reply, i) {
      var item = document.createElement("li");
      item.id = "canned-option-" + i;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", i === active ? "true" : "false");
      var shortcut = document.createElement("code");
      shortcut.textContent = "/" + reply.shortcut;
      var text = document.createElement("span");
      text.textContent = reply.text.length > 90 ? reply.text.slice(0, 89) + "…" : reply.text;
      item.appendChild(shortcut);
      item.appendChild(text);
      item.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus (and the caret) in the textarea
        insert(i);
      });
      menu.appendChild(item);
    });
    menu.hidden = matches.length === 0;
    if (active >= 0) box.setAttribute("aria-activedescendant", "canned-option-" + active);
    else box.removeAttribute("aria-activedescendant");
  }

  function update() {
    var at = canned.length ? trigger() : null;
    if (!at) {
      close();
      return;
    }
    start = at.start;
    matches = canned
      .filter(function (reply) {
        return reply.shortcut.toLowerCase().indexOf(at.prefix) === 0;
      })
      .slice(0, MAX_SHOWN);
    active = matches.length ? 0 : -1;
    render();
  }

  function insert(i) {
    var reply = matches[i];
    if (!reply) return;
    var caret = box.selectionStart;
    box.value = box.value.slice(0, start) + reply.text + box.value.slice(caret);
    var position = start + reply.text.length;
    box.setSelectionRange(position, position);
    close();
    box.focus();
  }

  function send() {
    close();
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  }

  box.addEventListener("input", update);
  box.addEventListener("click", update);
  box.addEventListener("blur", close);
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      send();
      return;
    }
    if (menu.hidden || !matches.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      active = (active + step + matches.length) % matches.length;
      render();
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
      event.preventDefault();
      insert(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
})();
