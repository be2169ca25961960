/*
 * Hafen chat widget. Put one line on a website:
 *   <script src="https://chat.example.com/static/hafen/widget.js" data-inbox="PUBLIC_KEY" async></script>
 * It adds a launcher button that opens the chat page (/chat/PUBLIC_KEY/, from the
 * same origin as this script) in an iframe. Nothing is loaded from anywhere else,
 * nothing is stored in the host page, and the frame is created only when opened.
 * Optional: data-lang="de|en" (default: the page's <html lang>).
 */
(function () {
  "use strict";
  if (window.__hafenWidget) return;
  var script = document.currentScript;
  if (!script || !script.getAttribute("data-inbox")) {
    var candidates = document.querySelectorAll("script[data-inbox][src*='widget.js']");
    script = candidates[candidates.length - 1];
  }
  if (!script) return;
  window.__hafenWidget = true;

  var key = script.getAttribute("data-inbox");
  var origin = new URL(script.src, window.location.href).origin;
  var chatUrl = origin + "/chat/" + encodeURIComponent(key) + "/";
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  var TEXT = {
    de: { open: "Chat öffnen", close: "Chat schließen", title: "Chat mit uns" },
    en: { open: "Open chat", close: "Close chat", title: "Chat with us" },
  };
  var t = TEXT[lang] || TEXT.en;

  var SVG = "http://www.w3.org/2000/svg";
  function icon(pathData) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }
  var CHAT_ICON = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h10V9H7zm0-3v2h10V6H7zm0 6v2h6v-2H7z";
  var CLOSE_ICON = "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z";

  // Styles are set through the DOM (not a <style> tag) so a strict CSP on the host page is respected.
  function css(node, styles) { for (var k in styles) node.style[k] = styles[k]; }

  var panelId = "hafen-chat-panel-" + Math.random().toString(36).slice(2, 8);
  var button = document.createElement("button");
  button.type = "button";
  button.className = "hafen-launcher";
  button.setAttribute("aria-label", t.open);
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", panelId);
  button.appendChild(icon(CHAT_ICON));
  css(button, {
    position: "fixed", right: "20px", bottom: "20px", width: "60px", height: "60px",
    borderRadius: "50%", border: "0", background: "#0b5fa5", color: "#fff", cursor: "pointer",
    boxShadow: "0 4px 14px rgba(0,0,0,.25)", zIndex: "2147483000", display: "flex",
    alignItems: "center", justifyContent: "center", padding: "0",
  });
  button.addEventListener("focus", function () { button.style.outline = "3px solid #f0b400"; });
  button.addEventListener("blur", function () { button.style.outline = "none"; });

  var panel = document.createElement("div");
  panel.id = panelId;
  panel.className = "hafen-panel";
  panel.hidden = true;
  var frame = null;

  function layout() {
    var small = window.matchMedia("(max-width: 480px)").matches;
    css(panel, small
      ? { position: "fixed", left: "0", top: "0", right: "0", bottom: "0", width: "100%", height: "100%", borderRadius: "0" }
      : { position: "fixed", left: "auto", top: "auto", right: "20px", bottom: "92px", width: "380px",
          height: "600px", maxHeight: "calc(100vh - 120px)", maxWidth: "calc(100vw - 40px)", borderRadius: "14px" });
    panel.style.display = panel.hidden ? "none" : "block";
    css(panel, { overflow: "hidden", boxShadow: "0 10px 40px rgba(0,0,0,.3)", background: "#fff", zIndex: "2147483001" });
    // On a phone the panel covers the page: the chat page's own close button closes it.
    button.style.display = small && !panel.hidden ? "none" : "flex";
  }

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = chatUrl;
      frame.title = t.title;
      frame.setAttribute("referrerpolicy", "no-referrer");
      css(frame, { width: "100%", height: "100%", border: "0", display: "block" });
      panel.appendChild(frame);
    }
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-label", t.close);
    button.replaceChild(icon(CLOSE_ICON), button.firstChild);
    layout();
    frame.focus();
  }

  function close() {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-label", t.open);
    button.replaceChild(icon(CHAT_ICON), button.firstChild);
    layout();
    button.focus();
  }

  button.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) close();
  });
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data || event.data.type !== "hafen:close") return;
    if (!panel.hidden) close();
  });
  window.addEventListener("resize", layout);

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(button);
    layout();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
