"""Messages the person did not ask for right now: the SSE stream of the web chat and the
notifier that tells a person their ticket was answered.

One process: the in-memory hub wakes the person's stream at once. Several replicas: one poller
per process reads, every `notice_poll_seconds`, which senders have pushed messages newer than
its cursor (one query for all the streams it holds) and wakes those streams; a stream reads the
record only when woken, so an idle stream costs no database work. A message recorded by another
replica arrives within that interval — no Redis needed; Redis pub/sub would only make that
wake-up immediate (docs/architecture.md).

A stream holds a connection and a task for as long as the page is open, so each sender (a
signed cookie, bot/web/chat.py) holds at most `STREAMS_PER_SENDER` of them in a process (a new
one ends its oldest) and each client address at most `STREAMS_PER_ADDRESS` (one more: 429);
nginx limits connections and new streams per address too (deploy/nginx/hotline.conf.template).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.record import message_json
from bot.domain.addresses import address_block
from bot.store.models import Conversation, ConversationMessage
from bot.tickets.notices import claim_answer_notices
from bot.web.errors import UserError
from bot.web.gateway import Gateway, Reply
from bot.web.keys import GATEWAY, SETTINGS
from bot.web.params import whole_number
from bot.web.periodic import periodic

logger = logging.getLogger("bot.web.push")

WEB_CHANNEL = "web"
# A comment line this often keeps proxies (nginx's 60 s read timeout …) from closing the stream.
HEARTBEAT_SECONDS = 15.0
# A few tabs of one person; an office or a mobile carrier's NAT shares an address.
STREAMS_PER_SENDER = 3
STREAMS_PER_ADDRESS = 20
REPLACED_RETRY_MS = 60_000
PUSHED_PAGE = 100  # ConversationStore.pushed_since reads at most this many at once
TOO_MANY_STREAMS = "打开的对话页面过多，请关闭其他页面后刷新重试。"


class TooManyStreams(UserError):
    """Over the streams one sender or one address may hold open in this process."""


@dataclass(eq=False)
class Listener:
    """One open stream: whom it is for, the address block it counts against, and whether its
    connection is still there (a closed page is noticed when the next stream asks for room)."""

    sender_key: str
    block: str | None
    alive: Callable[[], bool]
    event: asyncio.Event = field(default_factory=asyncio.Event)
    ended: bool = False  # replaced by a newer stream of the same sender

    @property
    def open(self) -> bool:
        return not self.ended and self.alive()


class PushHub:
    """Open SSE streams of this process, by the person's sender key and by address."""

    def __init__(
        self,
        per_sender: int = STREAMS_PER_SENDER,
        per_address: int = STREAMS_PER_ADDRESS,
    ) -> None:
        # Per sender in the order opened (dicts keep it): the oldest is the one a new one ends.
        self._by_sender: defaultdict[str, dict[Listener, None]] = defaultdict(dict)
        self._by_address: defaultdict[str, dict[Listener, None]] = defaultdict(dict)
        self._per_sender = per_sender
        self._per_address = per_address

    def listen(
        self,
        sender_key: str,
        address: str | None = None,
        alive: Callable[[], bool] = lambda: True,
    ) -> Listener:
        """A new stream. Over the sender's limit the sender's oldest stream is ended (a reloaded
        page opens its new stream before the old connection is seen closed; refusing it would
        leave the page without updates); over the address's limit, TooManyStreams (429).
        Streams whose connection has closed are not counted. Loopback and unknown addresses
        (our own tools) are not counted by address."""
        block = _counted_address(address)
        if block is not None:
            self._drop_closed(self._by_address.get(block, {}))
            if len(self._by_address.get(block, ())) >= self._per_address:
                raise TooManyStreams(429, TOO_MANY_STREAMS)
        mine = self._by_sender.get(sender_key, {})
        self._drop_closed(mine)
        while len(mine) >= self._per_sender:
            self._end(next(iter(mine)))
        listener = Listener(sender_key, block, alive)
        self._by_sender[sender_key][listener] = None
        if block is not None:
            self._by_address[block][listener] = None
        return listener

    def leave(self, listener: Listener) -> None:
        for index, key in (
            (self._by_sender, listener.sender_key),
            (self._by_address, listener.block),
        ):
            if key is None or key not in index:
                continue
            index[key].pop(listener, None)
            if not index[key]:
                del index[key]

    def _drop_closed(self, listeners: dict[Listener, None]) -> None:
        for listener in [item for item in listeners if not item.alive()]:
            self._end(listener)

    def _end(self, listener: Listener) -> None:
        listener.ended = True
        self.leave(listener)
        listener.event.set()  # its handler wakes, sees it has ended and returns

    def wake(self, sender_key: str) -> bool:
        """True when a stream of this person is open here (the push was delivered now)."""
        listeners = self._by_sender.get(sender_key, {})
        for listener in listeners:
            listener.event.set()
        return bool(listeners)


PUSH_HUB = web.AppKey("push_hub", PushHub)


async def stream_pushed(
    request: web.Request, sender_key: str, address: str | None = None
) -> web.StreamResponse:
    """GET /api/chat/events: pushed messages as SSE `message` events (id = message id, so a
    reconnecting browser's Last-Event-ID resumes where it stopped). The record is read when the
    stream opens and whenever the hub wakes it — never on a timer of its own."""
    gateway = request.app[GATEWAY]
    hub = request.app[PUSH_HUB]

    def alive() -> bool:
        transport = request.transport
        return transport is not None and not transport.is_closing()

    listener = hub.listen(sender_key, address, alive)  # refused before any response starts
    wake = listener.event
    try:
        last_id = _resume_id(request) or await gateway.run(gateway.store.last_message_id)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
            }
        )
        await response.prepare(request)

        async def send_owed(after: int) -> int:
            """Everything pushed after `after` (page by page); the new last id."""
            while True:
                wake.clear()
                rows = await gateway.run(gateway.store.pushed_since, WEB_CHANNEL, sender_key, after)
                for row in rows:
                    data = json.dumps(message_json(row), ensure_ascii=False)
                    await response.write(f"id: {row.id}\nevent: message\ndata: {data}\n\n".encode())
                    after = row.id
                if len(rows) < PUSHED_PAGE:
                    return after

        # What was pushed before the stream opened, then the line that says it is live.
        last_id = await send_owed(last_id)
        await response.write(b": connected\n\n")
        while listener.open:
            try:
                await asyncio.wait_for(wake.wait(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if listener.open:
                last_id = await send_owed(last_id)
        if listener.ended and alive():
            # Replaced by a newer stream of this person (another tab): the browser would
            # reconnect within seconds and replace that one in turn; ask it to wait a while.
            await response.write(f"retry: {REPLACED_RETRY_MS}\n\n".encode())
    except ConnectionResetError:
        pass  # the person closed the page
    finally:
        hub.leave(listener)
    return response


def _resume_id(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after", "")
    return whole_number(raw) or 0


async def _notify_once(gateway: Gateway) -> None:
    claimed = await gateway.run(claim_answer_notices, gateway.store.sessions)
    for item in claimed:
        replies = [Reply.from_row(row) for row in item.messages]
        await gateway.deliver(item.conversation, replies)
    if claimed:
        logger.info("ticket notices: %d recorded", len(claimed))


def pushed_senders_since(
    sessions: sessionmaker[Session], channel: str, after_id: int
) -> tuple[set[str], int]:
    """The senders with pushed messages after a message id, and the newest such id (the next
    cursor): one query a round for every stream the process holds."""
    with sessions() as session:
        rows = session.execute(
            select(Conversation.sender_key, func.max(ConversationMessage.id))
            .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
            .where(
                Conversation.channel == channel,
                ConversationMessage.pushed.is_(True),
                ConversationMessage.id > after_id,
            )
            .group_by(Conversation.sender_key)
        ).all()
    return {sender for sender, _ in rows}, max([after_id, *(newest for _, newest in rows)])


class _Poller:
    """The process's one reader of pushed messages recorded anywhere (another replica, the
    notifier of another process): it wakes the streams of the senders it finds."""

    def __init__(self, hub: PushHub, gateway: Gateway) -> None:
        self._hub = hub
        self._gateway = gateway
        self._after: int | None = None

    async def round(self) -> None:
        store = self._gateway.store
        if self._after is None:
            self._after = await self._gateway.run(store.last_message_id)
            return
        senders, self._after = await self._gateway.run(
            pushed_senders_since, store.read_sessions, WEB_CHANNEL, self._after
        )
        for sender in senders:
            self._hub.wake(sender)


async def push_context(app: web.Application) -> AsyncIterator[None]:
    """The web chat's pusher and, unless notice_poll_seconds is 0, the stream poller and the
    notifier task."""
    hub = PushHub()
    app[PUSH_HUB] = hub
    gateway = app[GATEWAY]
    every = app[SETTINGS].notice_poll_seconds

    async def web_pusher(conversation: Conversation, replies: list[Reply]) -> bool:
        return hub.wake(conversation.sender_key)

    gateway.register_pusher(WEB_CHANNEL, web_pusher)
    async with (
        periodic("push poller", every, _Poller(hub, gateway).round),
        periodic("ticket notices", every, lambda: _notify_once(gateway)),
    ):
        yield


def _counted_address(address: str | None) -> str | None:
    if not address:
        return None
    try:
        if ipaddress.ip_address(address).is_loopback:
            return None
    except ValueError:
        pass
    return address_block(address)
