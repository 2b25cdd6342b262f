// The chat page: sends what the person types to /api/chat and shows the replies.
// Text is always inserted as text (textContent), never as HTML.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const send = document.getElementById("send");

  function add(kind, text) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function addButtons(container, buttons) {
    if (!buttons || !buttons.length) return;
    const row = document.createElement("div");
    row.className = "buttons";
    buttons.forEach(function (b) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.title;
      btn.addEventListener("click", function () {
        row.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        deliver(b.payload, b.title);
      });
      row.appendChild(btn);
    });
    container.appendChild(row);
  }

  async function deliver(message, shown) {
    add("user", shown);
    send.disabled = true;
    try {
      const resp = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ message: message }),
      });
      let data = {};
      try { data = await resp.json(); } catch (e) { data = {}; }
      if (!resp.ok) {
        add("error", data.error || "发送失败，请稍后再试。");
        return;
      }
      (data.messages || []).forEach(function (m) {
        const div = add("bot", m.text || "");
        addButtons(div, m.buttons);
      });
    } catch (e) {
      add("error", "网络连接失败，请检查网络后重试。");
    } finally {
      send.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    deliver(text, text);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
})();
