// Parent live view: JPEG frames over the hub's WebSocket into an <img>, and the 直通负责人 report button.
// Protocol (people area): a JSON header {"type":"frame",...} then one binary JPEG; {"type":"end"} before close.
(function () {
  "use strict";
  var box = document.getElementById("live-box");
  if (!box) return;
  var img = document.getElementById("live-img");
  var status = document.getElementById("live-status");
  var select = document.getElementById("live-camera");
  var start = document.getElementById("live-start");
  var stop = document.getElementById("live-stop");
  var ws = null, ping = null, lastUrl = null, frames = 0;

  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }

  function close() {
    if (ping) { clearInterval(ping); ping = null; }
    if (ws) { try { ws.send("bye"); ws.close(); } catch (e) { /* already closed */ } ws = null; }
    start.hidden = false; stop.hidden = true;
  }

  function open() {
    close();
    frames = 0;
    var path = box.dataset.wsTemplate.replace("{camera}", encodeURIComponent(select.value));
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    status.textContent = box.dataset.msgWaiting;
    ws = new WebSocket(proto + location.host + path);
    ws.binaryType = "blob";
    ws.onmessage = function (ev) {
      if (typeof ev.data === "string") {
        var msg = JSON.parse(ev.data);
        if (msg.type === "end") { status.textContent = box.dataset.msgError + " (" + msg.reason + ")"; }
        return;
      }
      var url = URL.createObjectURL(ev.data);
      img.onload = function () { if (lastUrl && lastUrl !== url) URL.revokeObjectURL(lastUrl); lastUrl = url; };
      img.src = url;
      frames += 1;
      img.dataset.frames = String(frames);
      status.textContent = "";
    };
    ws.onclose = function (ev) {
      if (ev.code !== 1000) status.textContent = box.dataset.msgError + " (" + ev.code + ")";
      close();
    };
    ping = setInterval(function () { if (ws && ws.readyState === 1) ws.send("ping"); }, 5000);
    start.hidden = true; stop.hidden = false;
  }

  start.addEventListener("click", open);
  stop.addEventListener("click", close);
  window.addEventListener("pagehide", close);

  var form = document.getElementById("report-form");
  if (form && box.dataset.reportTemplate) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var out = document.getElementById("report-status");
      var button = document.getElementById("report-send");
      var comment = document.getElementById("report-comment").value.trim();
      if (!comment) return;
      button.disabled = true;
      var headers = { "Content-Type": "application/json" };
      headers[box.dataset.csrfHeader] = cookie(box.dataset.csrfCookie);
      fetch(box.dataset.reportTemplate.replace("{camera}", encodeURIComponent(select.value)), {
        method: "POST", credentials: "same-origin", headers: headers, body: JSON.stringify({ comment: comment })
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
      }).then(function (res) {
        button.disabled = false;
        if (res.ok) {
          out.className = "ok"; out.textContent = box.dataset.msgSent;
          form.reset();
          setTimeout(function () { location.reload(); }, 800);
        } else {
          var why = (res.body && (res.body.detail || (res.body.error && res.body.error.message))) || res.status;
          out.className = "alert"; out.textContent = String(why);
        }
      }).catch(function (e) { button.disabled = false; out.className = "alert"; out.textContent = String(e); });
    });
  }
})();
