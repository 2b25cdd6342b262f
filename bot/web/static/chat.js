// The chat page: sends what the person types to /api/chat, shows the replies, the history after a
// reload, messages pushed by the service (SSE /api/chat/events) and ticket cards.
// Text is always inserted as text (textContent), never as HTML.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const send = document.getElementById("send");
  const typing = document.getElementById("typing");
  const greeting = log.querySelector(".greeting");
  const shown = new Set(); // recorded message ids already on the page
  let lastId = 0;
  let events = null;

  function scroll() { log.scrollTop = log.scrollHeight; }

  function add(kind, text) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    div.textContent = text;
    log.appendChild(div);
    scroll();
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

  function addCard(container, card) {
    if (!card) return;
    const box = document.createElement("div");
    box.className = "card";
    // The record keeps the code masked (it is shown once, when the ticket is filed): a card
    // from the history says so instead of showing stars.
    const masked = /^\*+$/.test(card.access_code || "");
    const code = masked ? "已隐藏（受理时只显示一次）" : card.access_code;
    [["工单号", card.number], ["提取码", code]].forEach(function (pair) {
      const line = document.createElement("div");
      const label = document.createElement("span");
      label.className = "card-label";
      label.textContent = pair[0] + "：";
      const value = document.createElement("strong");
      value.className = pair[0] === "工单号" ? "card-number" : "card-code";
      value.textContent = pair[1];
      line.appendChild(label);
      line.appendChild(value);
      box.appendChild(line);
    });
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "copy";
    copy.textContent = "复制";
    copy.addEventListener("click", function () {
      const text = "工单号 " + card.number + (masked ? "" : " 提取码 " + card.access_code);
      const done = function () { copy.textContent = "已复制"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { copy.textContent = "请手动复制"; });
      } else {
        const area = document.createElement("textarea");
        area.value = text;
        document.body.appendChild(area);
        area.select();
        try { document.execCommand("copy"); done(); } catch (e) { copy.textContent = "请手动复制"; }
        area.remove();
      }
    });
    box.appendChild(copy);
    container.appendChild(box);
  }

  // One bot (or operator) message with its buttons and card.
  function showReply(m, kind) {
    if (m.id) {
      if (shown.has(m.id)) return;
      shown.add(m.id);
      lastId = Math.max(lastId, m.id);
    }
    const div = add(kind || "bot", m.text || "");
    addButtons(div, m.buttons);
    addCard(div, m.card);
    scroll();
  }

  function setWaiting(waiting) {
    typing.hidden = !waiting;
    send.disabled = waiting;
    if (waiting) scroll();
  }

  function newId() {
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }

  async function deliver(message, label) {
    add("user", label);
    setWaiting(true);
    try {
      const resp = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Message-Id": newId() },
        credentials: "same-origin",
        body: JSON.stringify({ message: message }),
      });
      let data = {};
      try { data = await resp.json(); } catch (e) { data = {}; }
      if (!resp.ok) {
        add("error", data.error || "发送失败，请稍后再试。");
        return;
      }
      (data.messages || []).forEach(function (m) { showReply(m); });
    } catch (e) {
      add("error", "网络连接失败，请检查网络后重试。");
    } finally {
      setWaiting(false);
      input.focus();
    }
  }

  async function loadHistory() {
    try {
      const resp = await fetch("/api/chat/history", { credentials: "same-origin" });
      if (!resp.ok) return;
      const data = await resp.json();
      (data.messages || []).forEach(function (m) {
        if (m.direction === "in") {
          shown.add(m.id);
          add("user", m.shown || m.text);
        } else {
          showReply(m, m.direction === "operator" ? "bot operator" : "bot");
        }
      });
      lastId = Math.max(lastId, data.last_id || 0);
    } catch (e) {
      // No history is not an error worth showing: the person can start typing.
    }
  }

  function listen() {
    if (!window.EventSource) return;
    if (events) events.close();
    events = new EventSource("/api/chat/events?after=" + lastId);
    events.addEventListener("message", function (ev) {
      try { showReply(JSON.parse(ev.data), "bot pushed"); } catch (e) { /* ignore a bad event */ }
    });
  }

  document.getElementById("new-chat").addEventListener("click", async function () {
    try {
      const resp = await fetch("/api/chat/new", { method: "POST", credentials: "same-origin" });
      if (!resp.ok) { add("error", "暂时无法开始新的对话，请稍后再试。"); return; }
    } catch (e) {
      add("error", "网络连接失败，请检查网络后重试。");
      return;
    }
    Array.from(log.children).forEach(function (c) { if (c !== greeting) c.remove(); });
    input.focus();
  });

  document.querySelectorAll("button.quick-btn").forEach(function (btn) {
    btn.addEventListener("click", function () { deliver(btn.dataset.message, btn.textContent); });
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text || send.disabled) return;
    input.value = "";
    deliver(text, text);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });

  loadHistory().then(listen);
})();
