// Processing record: the "Print / save as PDF" button. Bound here because the
// Content-Security-Policy allows no inline script or event handlers. The button
// is hidden in the HTML and shown only when this script runs.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  });
})();
