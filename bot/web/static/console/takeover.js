// The 转人工 conversation page follows the conversation live: every two seconds it asks for the
// messages recorded after the last one shown (masked by the server) and who holds the chat.
(function () {
  "use strict";
  var HOLDERS = { human: "人工接管中", bot: "智能助手", queued: "智能助手", closed: "对话已结束" };
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("live-transcript");
    if (!box) { return; }
    var feed = box.getAttribute("data-feed");
    var body = box.querySelector("#transcript-messages tbody");
    var holder = document.getElementById("holder");
    function lastId() {
      var rows = body.querySelectorAll("tr[data-message]");
      return rows.length ? rows[rows.length - 1].getAttribute("data-message") : "0";
    }
    function cell(row, text, className) {
      var td = document.createElement("td");
      td.textContent = text;
      if (className) { td.className = className; }
      row.appendChild(td);
    }
    function poll() {
      fetch(feed + "?after=" + encodeURIComponent(lastId()), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var empty = body.querySelector("tr:not([data-message])");
          data.messages.forEach(function (m) {
            if (empty) { empty.remove(); empty = null; }
            var row = document.createElement("tr");
            row.setAttribute("data-message", String(m.id));
            row.className = "live";
            cell(row, m.at);
            cell(row, m.who);
            cell(row, m.text, "description");
            cell(row, "", "nlu");
            body.appendChild(row);
          });
          if (holder && data.holder && HOLDERS[data.holder]) {
            holder.textContent = HOLDERS[data.holder];
          }
        })
        .catch(function () { /* the next round tries again */ })
        .then(function () { window.setTimeout(poll, 2000); });
    }
    window.setTimeout(poll, 2000);
  });
})();
