// The integrity board's chart: on-time answering and 督办 per department (vendored ECharts).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("chart-integrity");
    fetch(node.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var board = data.board.slice(0, 15);
        var chart = echarts.init(node);
        chart.setOption({
      animation: false, // drawn at once: what a screenshot or a printout shows is final
          tooltip: { trigger: "axis" },
          legend: { top: 0 },
          grid: { top: 40, left: 50, right: 50, bottom: 90 },
          xAxis: { type: "category", data: board.map(function (r) { return r.department; }),
                   axisLabel: { rotate: 30, interval: 0 } },
          yAxis: [{ type: "value", name: "件数", minInterval: 1 },
                  { type: "value", name: "%", max: 100 }],
          series: [
            { name: "拖欠账款", type: "bar", data: board.map(function (r) { return r.arrears; }) },
            { name: "承诺不兑现", type: "bar", data: board.map(function (r) { return r.broken_promise; }) },
            { name: "合同违约", type: "bar", data: board.map(function (r) { return r.contract_breach; }) },
            { name: "督办", type: "bar", data: board.map(function (r) { return r.supervised; }) },
            { name: "按时答复率", type: "line", yAxisIndex: 1,
              data: board.map(function (r) { return r.answered_on_time === null ? null : +(r.answered_on_time * 100).toFixed(1); }) },
          ],
        });
        node.setAttribute("data-rendered", String(board.length));
      });
  });
})();
