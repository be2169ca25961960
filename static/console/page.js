// Console: the small behaviours every page has, bound here because the
// Content-Security-Policy allows no inline event handlers (script-src 'self').
//   <select data-autosubmit>       submits its form when the choice changes
//                                  (the company switch; a <noscript> button stays)
//   <textarea data-select-on-focus> selects its whole text on focus (snippets to copy)
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });
  document.addEventListener("focusin", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-select-on-focus]") && field.select) {
      field.select();
    }
  });
})();
