// Small conveniences for the staff pages. Every page works without this file.
(function () {
  "use strict";

  // On a phone the filter panel starts folded, so the cases are on the first screen.
  function foldOnPhones() {
    if (!window.matchMedia("(max-width: 760px)").matches) return;
    document.querySelectorAll("details[data-collapse-on-phone]").forEach(function (panel) {
      panel.removeAttribute("open");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", foldOnPhones);
  } else {
    foldOnPhones();
  }
})();
