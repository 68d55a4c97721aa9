// Service worker for Web Push alerts: show the alert, open the case page on click. Caches nothing.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: event.data && event.data.text() }; }
  var title = data.title || "明厨亮灶";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.case_id ? "case-" + data.case_id : undefined,
    data: { url: data.url || (data.case_id ? "/web/cases/" + data.case_id : "/web/") }
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
