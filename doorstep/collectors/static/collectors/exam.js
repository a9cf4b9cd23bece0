// The exam page: a countdown to the time limit (the server enforces it; this only shows it), a warning
// before handing in with unanswered questions, and handing in by itself when the time is up.
(function () {
  "use strict";

  function start() {
    var timer = document.getElementById("exam-timer");
    var form = document.getElementById("exam-form");
    var confirm = document.getElementById("exam-confirm");
    if (!timer || !form) return;
    var seconds = parseInt(timer.getAttribute("data-seconds"), 10);
    if (isNaN(seconds)) return;
    var ends = Date.now() + seconds * 1000;
    var sent = false;

    function show() {
      var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
      var minutes = Math.floor(left / 60);
      var rest = left % 60;
      timer.textContent = minutes + ":" + (rest < 10 ? "0" : "") + rest;
      timer.classList.toggle("low", left <= 60);
      if (left === 0 && !sent) {
        sent = true;
        confirm.value = "1";
        form.submit();
      }
    }

    form.addEventListener("submit", function (event) {
      if (sent) return;
      var names = {};
      form.querySelectorAll("input[type=radio]").forEach(function (input) { names[input.name] = names[input.name] || input.checked; });
      var open = Object.keys(names).filter(function (name) { return !names[name]; }).length;
      var message = form.getAttribute("data-unanswered") || "";
      if (open > 0 && !window.confirm(message)) {
        event.preventDefault();
        return;
      }
      confirm.value = "1";
      sent = true;
    });
    show();
    window.setInterval(show, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
