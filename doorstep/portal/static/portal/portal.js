// The borrower portal works without this file; it only moves the focus to the first problem on a page.
(function () {
  "use strict";
  function focusProblem() {
    var problem = document.querySelector("[role=alert]");
    if (!problem) return;
    var field = problem.closest(".field");
    var input = field ? field.querySelector("input, textarea, select") : null;
    (input || problem).focus && (input || problem).focus();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusProblem);
  } else {
    focusProblem();
  }
})();
