// Charts (ECharts, vendored) and sortable tables. No framework, no build step.
(function () {
  "use strict";

  function charts() {
    var el = document.getElementById("chart-data");
    if (!el || !window.echarts) return;
    var data = JSON.parse(el.textContent);
    var palette = ["#0b6e4f", "#f5b400", "#d92d20", "#2e90fa", "#7a5af8", "#667085"];
    var cat = document.getElementById("chart-categories");
    if (cat) {
      var pie = echarts.init(cat, null, { renderer: "svg" });
      var wide = cat.clientWidth >= 480;  // on a phone the legend names the slices; labels would be cut
      pie.setOption({
        color: palette, animation: false, tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
        legend: { bottom: 0, type: "scroll", formatter: wide ? "{name}" : function (name) {
          var item = data.categories.filter(function (c) { return c.name === name; })[0];
          var total = data.categories.reduce(function (a, c) { return a + c.value; }, 0);
          return item && total ? name + " " + Math.round(item.value * 100 / total) + "%" : name;
        } },
        series: [{ type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"], data: data.categories,
                   label: { show: wide, formatter: "{b}\n{d}%" } }]
      });
      window.addEventListener("resize", function () { pie.resize(); });
    }
    var tr = document.getElementById("chart-trend");
    if (tr) {
      var line = echarts.init(tr, null, { renderer: "svg" });
      line.setOption({
        color: ["#d92d20", "#0b6e4f"], animation: false, tooltip: { trigger: "axis" },
        legend: { bottom: 0 }, grid: { left: 36, right: 12, top: 16, bottom: 48 },
        xAxis: { type: "category", data: data.trend.labels },
        yAxis: { type: "value", minInterval: 1 },
        series: data.trend.series.map(function (s) { return { type: "line", name: s.name, data: s.data, smooth: false, showSymbol: false }; })
      });
      window.addEventListener("resize", function () { line.resize(); });
    }
    document.body.setAttribute("data-charts", "ready");
  }

  function sortable(table) {
    var heads = table.querySelectorAll("th[data-sort]");
    heads.forEach(function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var numeric = th.getAttribute("data-sort") === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var vx = x.getAttribute("data-v") || x.textContent, vy = y.getAttribute("data-v") || y.textContent;
          var d = numeric ? parseFloat(vx) - parseFloat(vy) : vx.localeCompare(vy, "zh-CN");
          return asc ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  // Realtime: the people area's SSE stream names alert kinds; any of them makes htmx reload the list.
  function realtime() {
    var el = document.querySelector("section[data-sse]");
    if (!el || !window.EventSource) return;
    var source = new EventSource(el.getAttribute("data-sse"), { withCredentials: true });
    var refresh = function () {
      var target = document.querySelector("section[data-sse]");
      if (target && window.htmx) window.htmx.trigger(target, "refresh");
    };
    el.getAttribute("data-sse-events").split(" ").forEach(function (kind) {
      if (kind) source.addEventListener(kind, refresh);
    });
    source.onopen = function () { document.body.setAttribute("data-realtime", "open"); };
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    charts();
    realtime();
    document.querySelectorAll("table.sortable").forEach(sortable);
  });
})();
