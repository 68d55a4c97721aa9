// Web Push subscription on the account page: VAPID key from the hub, service worker /web/sw.js, then the
// browser's PushSubscription is stored through the people area's API (cookie session + CSRF header).
(function () {
  "use strict";
  var box = document.getElementById("push-box");
  if (!box) return;
  var status = document.getElementById("push-status");
  var button = document.getElementById("push-enable");

  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  function b64url(s) {
    var pad = "=".repeat((4 - s.length % 4) % 4);
    var raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function say(text, cls) { status.textContent = text; status.className = cls || "muted"; }

  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    button.hidden = true; say(box.dataset.msgUnsupported); return;
  }
  fetch(box.dataset.vapidUrl, { credentials: "same-origin" }).then(function (r) {
    if (!r.ok) { button.hidden = true; say(box.dataset.msgNone); return null; }
    return r.json();
  }).then(function (key) {
    if (!key) return;
    button.addEventListener("click", function () {
      button.disabled = true;
      navigator.serviceWorker.register("/web/sw.js", { scope: "/web/" }).then(function (reg) {
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64url(key.public_key) });
      }).then(function (sub) {
        var headers = { "Content-Type": "application/json" };
        headers[box.dataset.csrfHeader] = cookie(box.dataset.csrfCookie);
        return fetch(box.dataset.subscribeUrl, {
          method: "POST", credentials: "same-origin", headers: headers, body: JSON.stringify(sub.toJSON())
        });
      }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        say(box.dataset.msgOn, "ok");
      }).catch(function (e) { button.disabled = false; say(String(e), "alert"); });
    });
  }).catch(function (e) { say(String(e), "alert"); });
})();
