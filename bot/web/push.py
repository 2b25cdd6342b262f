"""Messages the person did not ask for right now: the SSE stream of the web chat and the
notifier that tells a person their ticket was answered.

One process: the in-memory hub wakes the person's stream at once. Several replicas: the stream
also reads the record every `notice_poll_seconds` (pushed messages after the last id it sent), so
a message recorded by another replica arrives within that interval — no Redis needed; Redis
pub/sub would only make that wake-up immediate (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

from aiohttp import web

from bot.tickets.conversations import message_json
from bot.tickets.models import Conversation
from bot.tickets.notices import claim_answer_notices
from bot.web.gateway import Gateway, Reply
from bot.web.keys import GATEWAY, SETTINGS
from bot.web.periodic import periodic

logger = logging.getLogger("bot.web.push")

WEB_CHANNEL = "web"
# A comment line this often keeps proxies (nginx's 60 s read timeout …) from closing the stream.
HEARTBEAT_SECONDS = 15.0


class PushHub:
    """Open SSE streams of this process, by the person's sender key."""

    def __init__(self) -> None:
        self._listeners: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def listen(self, sender_key: str) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners[sender_key].add(event)
        return event

    def leave(self, sender_key: str, event: asyncio.Event) -> None:
        self._listeners[sender_key].discard(event)
        if not self._listeners[sender_key]:
            del self._listeners[sender_key]

    def wake(self, sender_key: str) -> bool:
        """True when a stream of this person is open here (the push was delivered now)."""
        events = self._listeners.get(sender_key, set())
        for event in events:
            event.set()
        return bool(events)


PUSH_HUB = web.AppKey("push_hub", PushHub)


async def stream_pushed(request: web.Request, sender_key: str) -> web.StreamResponse:
    """GET /api/chat/events: pushed messages as SSE `message` events (id = message id, so a
    reconnecting browser's Last-Event-ID resumes where it stopped)."""
    gateway = request.app[GATEWAY]
    hub = request.app[PUSH_HUB]
    poll = request.app[SETTINGS].notice_poll_seconds
    wait = min(poll, HEARTBEAT_SECONDS) if poll > 0 else HEARTBEAT_SECONDS
    last_id = _resume_id(request) or await gateway.run(gateway.store.last_message_id)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
        }
    )
    await response.prepare(request)
    await response.write(b": connected\n\n")
    wake = hub.listen(sender_key)
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    try:
        while True:
            rows = await gateway.run(gateway.store.pushed_since, WEB_CHANNEL, sender_key, last_id)
            for row in rows:
                data = json.dumps(message_json(row), ensure_ascii=False)
                await response.write(f"id: {row.id}\nevent: message\ndata: {data}\n\n".encode())
                last_id = row.id
            if rows:
                quiet_since = loop.time()
            elif loop.time() - quiet_since >= HEARTBEAT_SECONDS:
                await response.write(b": heartbeat\n\n")
                quiet_since = loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)
            wake.clear()
    except ConnectionResetError:
        pass  # the person closed the page
    finally:
        hub.leave(sender_key, wake)
    return response


def _resume_id(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after", "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else 0


async def _notify_once(gateway: Gateway) -> None:
    claimed = await gateway.run(claim_answer_notices, gateway.store.sessions)
    for item in claimed:
        replies = [Reply.from_row(row) for row in item.messages]
        await gateway.deliver(item.conversation, replies)
    if claimed:
        logger.info("ticket notices: %d recorded", len(claimed))


async def push_context(app: web.Application) -> AsyncIterator[None]:
    """The web chat's pusher and, unless notice_poll_seconds is 0, the notifier task."""
    hub = PushHub()
    app[PUSH_HUB] = hub
    gateway = app[GATEWAY]

    async def web_pusher(conversation: Conversation, replies: list[Reply]) -> bool:
        return hub.wake(conversation.sender_key)

    gateway.register_pusher(WEB_CHANNEL, web_pusher)
    async with periodic(
        "ticket notices", app[SETTINGS].notice_poll_seconds, lambda: _notify_once(gateway)
    ):
        yield
