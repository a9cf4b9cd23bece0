// The field app: take the phone's position when a form asks for it, and show the promise fields only
// for a promise. Every form still submits without this file; the server then asks again for the position.
(function () {
  "use strict";

  var messages = {
    finding: document.documentElement.lang.indexOf("zh") === 0 ? "正在获取您的位置…" : "Finding your position…",
    denied: document.documentElement.lang.indexOf("zh") === 0
      ? "无法获取位置。请在浏览器中允许定位后重试。"
      : "Your position is not available. Allow location access and try again.",
  };

  function fill(form, position) {
    form.querySelector("input[name=latitude]").value = position.coords.latitude.toFixed(6);
    form.querySelector("input[name=longitude]").value = position.coords.longitude.toFixed(6);
    var accuracy = form.querySelector("input[name=accuracy]");
    if (accuracy) accuracy.value = Math.round(position.coords.accuracy || 0);
  }

  function geolocate(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.located === "yes") return;
      event.preventDefault();
      var status = form.querySelector(".geo-status");
      var buttons = form.querySelectorAll("button[type=submit]");
      var required = form.dataset.geolocate === "required";
      function send() {
        form.dataset.located = "yes";
        form.submit();
      }
      if (!("geolocation" in navigator)) {
        if (status) status.textContent = messages.denied;
        if (!required) send();
        return;
      }
      if (status) status.textContent = messages.finding;
      buttons.forEach(function (button) { button.disabled = true; });
      navigator.geolocation.getCurrentPosition(
        function (position) { fill(form, position); send(); },
        function () {
          buttons.forEach(function (button) { button.disabled = false; });
          if (status) status.textContent = messages.denied;
          if (!required) send();
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
      );
    });
  }

  function promiseFields(form) {
    var block = form.querySelector("[data-shown-for-result]");
    if (!block) return;
    var wanted = block.dataset.shownForResult;
    function update() {
      var chosen = form.querySelector("input[name=result]:checked");
      block.hidden = !(chosen && chosen.value === wanted);
    }
    form.querySelectorAll("input[name=result]").forEach(function (radio) {
      radio.addEventListener("change", update);
    });
    update();
  }

  function start() {
    document.querySelectorAll("form[data-geolocate]").forEach(geolocate);
    document.querySelectorAll("form.record-form").forEach(promiseFields);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
