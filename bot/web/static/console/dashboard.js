// The dashboard's charts: data from /console/api/dashboard.json, drawn with the vendored ECharts.
// No inline script anywhere: the page passes the data URL in a data- attribute.
(function () {
  "use strict";

  function percent(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  function lineChart(node, data) {
    var chart = echarts.init(node);
    chart.setOption({
      animation: false, // drawn at once: what a screenshot or a printout shows is final
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { top: 40, left: 40, right: 20, bottom: 30 },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "all", data: s.data };
      }),
    });
    node.setAttribute("data-rendered", String(data.series.length));
  }

  function ratesChart(node, rates) {
    var names = ["响应率", "解决率", "满意率", "按时签收", "按时答复"];
    var keys = ["response", "resolution", "satisfaction", "sign_on_time", "answer_on_time"];
    var chart = echarts.init(node);
    chart.setOption({
      animation: false, // drawn at once: what a screenshot or a printout shows is final
      tooltip: {},
      grid: { top: 20, left: 60, right: 20, bottom: 30 },
      xAxis: { type: "category", data: names },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{
        type: "bar",
        data: keys.map(function (k) { return rates[k] === null ? 0 : +(rates[k] * 100).toFixed(1); }),
        label: { show: true, position: "top", formatter: "{c}%" },
      }],
    });
    node.setAttribute("data-rendered", "1");
  }

  function fill(data) {
    var r = data.rates;
    ["response", "resolution", "satisfaction", "sign_on_time", "answer_on_time"].forEach(function (k) {
      document.getElementById("rate-" + k).textContent = percent(r[k]);
    });
    var c = r.counts;
    document.getElementById("rate-response-n").textContent = c.signed_on_time + " / " + c.sign_due;
    document.getElementById("rate-resolution-n").textContent = c.resolved + " / " + c.answer_due;
    document.getElementById("rate-satisfaction-n").textContent = c.satisfied + " / " + c.rated;
    document.getElementById("rate-answer_on_time-n").textContent = c.answered_on_time + " / " + c.answered;
    document.getElementById("hot-threshold").textContent = data.hot_spot_threshold;
    var body = document.querySelector("#hot-spots tbody");
    body.textContent = "";
    data.hot_spots.forEach(function (h) {
      var tr = document.createElement("tr");
      [h.kind, h.name, String(h.count)].forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text; // text, never HTML: names come from callers
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    document.querySelectorAll(".chart[data-key]").forEach(function (node) {
      lineChart(node, data[node.getAttribute("data-key")]);
    });
    ratesChart(document.getElementById("chart-rates"), r);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("dashboard");
    fetch(root.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(fill)
      .catch(function () { root.setAttribute("data-error", "1"); });
  });
})();
