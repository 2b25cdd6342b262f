"""The bot's replies as WeChat text, and typed numbers back into the buttons they stand for.

WeChat text messages have no buttons, so the buttons the bot offers are written as numbered
choices (「1. 确认提交 2. 修改 3. 取消 — 回复数字选择」) and the person's next message "1" (or the
full-width "１") is turned into that button's payload before it reaches the gateway. The choices
last offered are read back from the gateway's record of the conversation (`last_offered`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from bot.web.wechat_texts import CHOICE_HINT

# WeChat cuts a text message at 2,048 bytes; passive replies longer than this go out in parts
# through the customer-service API instead.
MAX_TEXT_BYTES = 2000


class ReplyLike(Protocol):
    """What the channel reads from the gateway's Reply."""

    @property
    def text(self) -> str: ...

    @property
    def buttons(self) -> Sequence[Mapping[str, str]]: ...


def choices_of(replies: Iterable[ReplyLike]) -> list[dict[str, str]]:
    """Every button offered in this turn, in order, as {title, payload}."""
    found: list[dict[str, str]] = []
    for reply in replies:
        for button in reply.buttons or []:
            title = str(button.get("title", "")).strip()
            payload = str(button.get("payload", "")).strip()
            if title and payload:
                found.append({"title": title, "payload": payload})
    return found


def render(replies: Sequence[ReplyLike]) -> str:
    """One WeChat text for one turn: the bot's texts, then the buttons as numbered choices."""
    parts = [reply.text.strip() for reply in replies if reply.text and reply.text.strip()]
    choices = choices_of(replies)
    if choices:
        numbered = " ".join(f"{n}. {c['title']}" for n, c in enumerate(choices, start=1))
        parts.append(f"{numbered} {CHOICE_HINT}")
    return "\n\n".join(parts)


def split_for_wechat(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Cut a long text into messages of at most `limit` UTF-8 bytes, at line ends when possible."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one very long line: cut by characters
            cut = len(line)
            while len(line[:cut].encode()) > limit:
                cut = cut * 3 // 4
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def chosen_number(text: str) -> int | None:
    """ "1", "１", " 2 ", "3." → the number; anything else → None."""
    normal = unicodedata.normalize("NFKC", text).strip().rstrip(".。、")
    if normal.isascii() and normal.isdigit() and len(normal) <= 2:
        return int(normal)
    return None


def translate_choice(text: str, offered: Sequence[Mapping[str, str]]) -> str:
    """The payload of the chosen button, or the text unchanged (a number not offered is text)."""
    number = chosen_number(text)
    if number is None or not 1 <= number <= len(offered):
        return text
    return str(offered[number - 1]["payload"])


def last_offered(history: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The buttons of the bot's latest turn in a recorded conversation (oldest message first):
    every message after the person's last one. Read from the gateway's record, so the process
    that gets the number need not be the one that offered it, and a turn without buttons (or an
    operator's message) means a typed "1" is just a 1."""
    turn: list[Mapping[str, Any]] = []
    for message in history:
        if message.get("direction") == "in":
            turn = []
        else:
            turn.append(message)
    found: list[dict[str, str]] = []
    for message in turn:
        for button in message.get("buttons") or []:
            title = str(button.get("title", "")).strip()
            payload = str(button.get("payload", "")).strip()
            if title and payload:
                found.append({"title": title, "payload": payload})
    return found
