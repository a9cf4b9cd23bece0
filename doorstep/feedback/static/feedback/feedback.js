// Feedback pages. htmx settles the "style" attribute of swapped elements by writing it inline, which the
// strict Content Security Policy refuses; our pages never rely on inline styles, so it is not settled.
(function () {
  "use strict";
  if (window.htmx) {
    window.htmx.config.attributesToSettle = ["class", "width", "height"];
  }
})();
