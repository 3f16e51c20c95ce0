// Web Push and the installed web app: progressive enhancement only. Every page works without
// this file; the one thing that needs it is turning on notifications (/inbox/push).
(function () {
  "use strict";
  var supported = "serviceWorker" in navigator && "PushManager" in window &&
    "Notification" in window;

  function register() {
    return navigator.serviceWorker.register("/sw.js", { scope: "/" });
  }

  function keyBytes(base64url) {
    var text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") +
      "====".slice((base64url.length + 3) % 4 + 1));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    return bytes;
  }

  function say(status, key) {
    status.textContent = status.getAttribute("data-" + key);
  }

  // Mark this browser's row in the list; stopping it there also unsubscribes the browser.
  function markThisBrowser(subscription) {
    var rows = document.querySelectorAll("#push-subscriptions tr[data-endpoint]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-endpoint") !== subscription.endpoint) { continue; }
      rows[i].querySelector(".push-this").hidden = false;
      rows[i].querySelector("form.push-remove").addEventListener("submit", function (event) {
        var form = event.target;
        event.preventDefault();
        subscription.unsubscribe().then(null, function () { return null; })
          .then(function () { form.submit(); });
      });
    }
  }

  function subscribe(controls, status, button) {
    var key = keyBytes(controls.getAttribute("data-key"));
    button.disabled = true;  // one subscription at a time: a double click sends one
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { throw new Error("denied"); }
      return register();
    }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }).then(function (subscription) {
      return fetch(controls.getAttribute("data-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json",
                   "X-CSRFToken": controls.getAttribute("data-csrf") },
        body: JSON.stringify(subscription.toJSON())
      });
    }).then(function (response) {
      if (!response.ok) { throw new Error("refused"); }
      window.location.reload();
    }, function (error) {
      button.disabled = false;
      say(status, error && error.message === "denied" ? "denied" : "failed");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var controls = document.getElementById("push-controls");
    var status = document.getElementById("push-status");
    var standalone = window.matchMedia && window.matchMedia("(display-mode: standalone)").matches;
    if (supported && standalone && !controls) { register(); }  // the installed app: offline page
    if (!controls || !status) { return; }
    if (!supported) { say(status, "unsupported"); return; }
    register().then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (subscription) { markThisBrowser(subscription); }
      var marked = document.querySelector("#push-subscriptions .push-this:not([hidden])");
      if (marked && Notification.permission === "granted") { say(status, "subscribed"); return; }
      if (Notification.permission === "denied") { say(status, "denied"); return; }
      status.textContent = "";
      controls.hidden = false;
      var button = document.getElementById("push-subscribe");
      button.addEventListener("click", function () { subscribe(controls, status, button); });
    }, function () { say(status, "failed"); });
  });
})();
