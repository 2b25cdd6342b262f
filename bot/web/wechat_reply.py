"""The bot's replies as WeChat text, and typed numbers back into the buttons they stand for.

WeChat text messages have no buttons, so the buttons the bot offers are written as numbered
choices (「1. 确认提交 2. 修改 3. 取消 — 回复数字选择」) and the person's next message "1" (or the
full-width "１") is turned into that button's payload before it reaches the gateway. The choices
last offered are kept per person in a small SQLite file under var/, so the process that answers
the number need not be the one that offered it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
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


class ChoiceStore:
    """The numbered choices last offered to each person (one row per WeChat openid).

    SQLite in WAL mode, opened per call in a worker thread: a few bytes per turn, shared by every
    web process on the host, never blocking the event loop.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS offered_choices ("
                " sender TEXT PRIMARY KEY, buttons TEXT NOT NULL, offered_at REAL NOT NULL)"
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # Autocommit; closed after each call (sqlite3's own context manager does not close).
        with closing(sqlite3.connect(self.path, timeout=15, isolation_level=None)) as db:
            yield db

    def _get(self, sender: str) -> list[dict[str, str]]:
        with self._connect() as db:
            row = db.execute(
                "SELECT buttons FROM offered_choices WHERE sender = ?", (sender,)
            ).fetchone()
        if row is None:
            return []
        loaded: Any = json.loads(row[0])
        return [dict(b) for b in loaded] if isinstance(loaded, list) else []

    def _put(self, sender: str, buttons: list[dict[str, str]]) -> None:
        with self._connect() as db:
            if buttons:
                db.execute(
                    "INSERT INTO offered_choices (sender, buttons, offered_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(sender) DO UPDATE SET buttons = excluded.buttons,"
                    " offered_at = excluded.offered_at",
                    (sender, json.dumps(buttons, ensure_ascii=False), time.time()),
                )
            else:
                db.execute("DELETE FROM offered_choices WHERE sender = ?", (sender,))

    async def get(self, sender: str) -> list[dict[str, str]]:
        return await asyncio.to_thread(self._get, sender)

    async def put(self, sender: str, buttons: list[dict[str, str]]) -> None:
        """The latest turn's buttons replace the earlier ones; a turn without buttons clears them,
        so a "1" typed as an answer to the next question stays a "1"."""
        await asyncio.to_thread(self._put, sender, buttons)
