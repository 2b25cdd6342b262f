"""Simulated callers for the load proof: each conversation a fresh person (its own cookie and
phone number) filing a whole complaint over the public web-chat API, as the chat page does it.

A caller waits for each answer before the next message (closed loop). A polite refusal (a 4xx
or 502/503 JSON answer in Chinese, or a bot reply that does not move the form on, such as
「系统暂时没能保存您的工单…请稍后回复「确认」重试」) makes the caller wait and send the same
message again — what a person does — up to a bound; anything else (a 500, a page that is not
our JSON, a traceback, a broken connection) is an error.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tools.perf.stats import LoadRun
from tools.perf.webchat import ANSWERS, DESCRIPTION

# What the form asks after 我要投诉, then the bench's answers (tools/perf/webchat.py).
QUESTIONS = {"描述": DESCRIPTION, **ANSWERS}
CONFIRM = "确认提交"
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60)
POLITE_STATUSES = (400, 409, 413, 415, 429, 502, 503, 504)
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Conversation:
    """One person's complaint: whether 确认提交 was sent, the 已受理 card's number, what went
    wrong on the way."""

    caller: int
    phone: str
    confirmed: bool = False
    number: str | None = None
    filed_at: float | None = None
    retries: int = 0
    polite: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    gave_up: str = ""


@dataclass
class Drive:
    """Everything the callers saw. `run` holds per-message latencies (bench's LoadRun), its
    `errors` the impolite failures."""

    run: LoadRun
    conversations: list[Conversation] = field(default_factory=list)
    started: float = 0.0
    phones: set[str] = field(default_factory=set)

    def new_phone(self) -> str:
        """A mobile number no other conversation of the run has: the bot offers to attach a
        complaint to an open one from the same number, which is not this script."""
        while True:
            phone = f"13{secrets.randbelow(10)}{secrets.randbelow(10**8):08d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone


def _polite_error(status: int, body: str) -> bool:
    """A refusal a person can read: our JSON error with a Chinese sentence, no traceback. The
    sentence is looked for in the decoded JSON: `\\uXXXX` escapes are the same words."""
    if status not in POLITE_STATUSES or "Traceback" in body:
        return False
    try:
        parsed = _json(body)
    except ValueError:
        return False
    messages = parsed.get("messages")
    said = str(parsed.get("error") or "") + (_texts(messages) if isinstance(messages, list) else "")
    return bool(CJK.search(said))


ALREADY_FILED = re.compile(r"已经提交过了，工单号\s*(LY\d{8}-\d{4})")


def _already_filed(messages: list[dict[str, Any]]) -> str | None:
    found = ALREADY_FILED.search(_texts(messages))
    return found.group(1) if found else None


def _texts(messages: list[dict[str, Any]]) -> str:
    return " ".join(str(m.get("text") or "") for m in messages)


class Caller:
    """One simulated person per conversation (a fresh cookie jar: the sender key is a cookie)."""

    def __init__(self, base: str, drive: Drive, index: int, pause: float, max_retries: int):
        self.base, self.drive, self.index = base, drive, index
        self.pause, self.max_retries = pause, max_retries

    async def converse(self) -> Conversation:
        phone = self.drive.new_phone()
        conversation = Conversation(self.index, phone)
        self.drive.conversations.append(conversation)
        jar = aiohttp.CookieJar(unsafe=True)  # unsafe: cookies from an IP address (127.0.0.1)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=REQUEST_TIMEOUT) as session:
            try:
                async with session.get(f"{self.base}/") as page:
                    await page.read()
                    if page.status != 200:
                        conversation.errors.append(f"GET / {page.status}")
                        return conversation
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                conversation.errors.append(f"GET /: {type(exc).__name__}")
                self.drive.run.errors += 1
                return conversation
            await self._walk(session, conversation)
        return conversation

    async def _walk(self, session: aiohttp.ClientSession, conversation: Conversation) -> None:
        text, stalls = "我要投诉", 0
        for _ in range(40):
            messages = await self._say(session, conversation, text)
            if messages is None and conversation.errors:
                return
            card = next((m["card"] for m in messages or [] if m.get("card")), None)
            number = str(card["number"]) if card else _already_filed(messages or [])
            if number:
                # A card, or — when the first 已受理 was lost to a fault and the person confirmed
                # again — the bot's 「已经提交过了，工单号 …」: the person was told the number.
                conversation.number = number
                conversation.filed_at = time.perf_counter() - self.drive.started
                return
            follow = self._next_text(messages or [], conversation)
            if follow is None:  # the reply did not move the form on: wait, say it again
                stalls += 1
                conversation.retries += 1
                if messages:
                    conversation.polite.append(_texts(messages)[:120])
                if stalls > self.max_retries:
                    conversation.gave_up = _texts(messages or [])[:160] or "no answer"
                    return
                await asyncio.sleep(self.pause)
                continue
            text, stalls = follow, 0
        conversation.gave_up = "the form did not end after 40 messages"

    def _next_text(self, messages: list[dict[str, Any]], conversation: Conversation) -> str | None:
        buttons = [b for m in messages for b in m.get("buttons") or []]
        confirm = next((b for b in buttons if b.get("title") == CONFIRM), None)
        if confirm is not None:
            conversation.confirmed = True
            return str(confirm["payload"])
        said = _texts(messages)
        if "联系电话" in said:
            return conversation.phone
        return next((answer for q, answer in QUESTIONS.items() if q in said), None)

    async def _say(
        self, session: aiohttp.ClientSession, conversation: Conversation, text: str
    ) -> list[dict[str, Any]] | None:
        """The bot's messages, or None after a polite refusal (counted) or an error (recorded
        in the conversation and in run.errors)."""
        run = self.drive.run
        # As the chat page sends it (chat.js): a new id for every message a person sends.
        headers = {"X-Message-Id": uuid.uuid4().hex}
        started = time.perf_counter()
        try:
            async with session.post(
                f"{self.base}/api/chat", json={"message": text}, headers=headers
            ) as response:
                status, body = response.status, await response.text()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self._error(conversation, f"{type(exc).__name__}: {exc}"[:200])
            return None
        elapsed = time.perf_counter() - started
        if status == 200 and "Traceback" not in body:
            try:
                messages = list(_json(body)["messages"])
            except (ValueError, KeyError, TypeError):
                self._error(conversation, f"200 but not our JSON: {body[:120]}")
                return None
            run.latencies.append(elapsed)
            return messages
        if _polite_error(status, body):
            conversation.polite.append(f"{status} {_error_text(body)}"[:120])
            return None
        self._error(conversation, f"{status}: {body[:160]}")
        return None

    def _error(self, conversation: Conversation, what: str) -> None:
        run = self.drive.run
        run.errors += 1
        conversation.errors.append(what)
        if len(run.error_samples) < 8:
            run.error_samples.append(what)


def _error_text(body: str) -> str:
    try:
        return str(_json(body).get("error", body))
    except ValueError:
        return body


def _json(body: str) -> dict[str, Any]:
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


async def drive(
    base: str,
    callers: int,
    *,
    conversations: int | None = None,
    seconds: float | None = None,
    pause: float = 2.0,
    max_retries: int = 8,
) -> Drive:
    """`callers` concurrent callers, each filing `conversations` complaints one after another,
    or as many as fit in `seconds` (the one under way is finished)."""
    if conversations is None and seconds is None:
        raise ValueError("conversations or seconds")
    result = Drive(LoadRun(bot="web chat", callers=callers, wall_seconds=0.0))
    result.started = time.perf_counter()

    async def one(index: int) -> None:
        done = 0
        while True:
            if conversations is not None and done >= conversations:
                return
            if seconds is not None and time.perf_counter() - result.started >= seconds:
                return
            await Caller(base, result, index, pause, max_retries).converse()
            done += 1

    await asyncio.gather(*(one(i) for i in range(callers)))
    result.run.wall_seconds = time.perf_counter() - result.started
    return result
