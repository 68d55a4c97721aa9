// Alert preferences on the account page, read and written through the people area's API (cookie + CSRF).
(function () {
  "use strict";
  var form = document.getElementById("prefs-form");
  if (!form) return;
  var status = document.getElementById("prefs-status");
  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  function say(text, cls) { status.textContent = text; status.className = cls; }
  function fill(p) {
    form.querySelectorAll("input[name=channels]").forEach(function (i) { i.checked = p.channels.indexOf(i.value) >= 0; });
    form.querySelectorAll("input[name=severities]").forEach(function (i) { i.checked = p.severities.indexOf(Number(i.value)) >= 0; });
    form.quiet_start.value = p.quiet_start || "";
    form.quiet_end.value = p.quiet_end || "";
    form.dataset.timezone = p.timezone;
    form.dataset.loaded = "true";
  }
  fetch(form.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(fill)
    .catch(function (e) { say(String(e), "alert"); });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var checked = function (name) {
      return Array.prototype.slice.call(form.querySelectorAll("input[name=" + name + "]:checked")).map(function (i) { return i.value; });
    };
    var body = {
      channels: checked("channels"),
      severities: checked("severities").map(Number),
      quiet_start: form.quiet_start.value || null,
      quiet_end: form.quiet_end.value || null,
      timezone: form.dataset.timezone || "Asia/Shanghai"
    };
    var headers = { "Content-Type": "application/json" };
    headers[form.dataset.csrfHeader] = cookie(form.dataset.csrfCookie);
    fetch(form.dataset.url, { method: "PUT", credentials: "same-origin", headers: headers, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b, status: r.status }; }); })
      .then(function (res) {
        if (res.ok) { fill(res.body); say(form.dataset.msgSaved, "ok"); return; }
        var b = res.body || {};
        var why = typeof b.detail === "string" ? b.detail : (b.error && b.error.message) || JSON.stringify(b.detail || b);
        say(why, "alert");
      }).catch(function (e) { say(String(e), "alert"); });
  });
})();
