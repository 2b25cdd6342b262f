"""One gateway for every person-facing channel (web chat, WeChat, the enterprise page).

Only this module talks to Rasa's REST channel, and every message in and out passes through it,
so the record the operator console reads is complete and a channel cannot forget to dedupe,
mask its logs or respect an operator who took the conversation over.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from bot.conversations.message_rate import MessageRate, load_message_limits
from bot.conversations.record import ConversationStore, Understanding, message_json
from bot.domain import internal_auth
from bot.domain.privacy import mask_text
from bot.domain.validators import has_unreadable
from bot.store.db import make_engine, make_read_engine, make_session_factory
from bot.store.models import Conversation, ConversationMessage
from bot.web.errors import UserError, database_unreachable
from bot.web.keys import GATEWAY, HTTP_CLIENT, SETTINGS
from bot.web.rasa_api import RasaApi
from bot.web.rate_limit import RateLimiter

logger = logging.getLogger("bot.web.gateway")

T = TypeVar("T")
Pusher = Callable[[Conversation, "list[Reply]"], Awaitable[bool]]
Message = ConversationMessage

RASA_DOWN = "智能助手暂时无法回复，请稍后再试，或直接拨打12345。"
UNREADABLE = "消息里有无法识别的字符，请删除后重新发送。"
# How long a duplicate delivery waits for the first one's replies (another process may hold it).
DUPLICATE_WAIT_SECONDS = 30.0
# Rasa has answered (perhaps 已受理 with a ticket number) but the database dropped out (a
# restart): how long the gateway keeps trying to record the replies before handing them to the
# person unrecorded — the person must not lose the answer to a blip of the record.
RECORD_RETRY_SECONDS = 10.0
# The bot's filing confirmation (domain.yml utter_ticket_filed): shown as a card with a copy button.
_TICKET_RE = re.compile(r"工单号是\s*(LY[0-9A-Za-z-]+)\s*[，,]\s*提取码\s*([0-9A-Za-z]+)")


class RasaUnavailable(UserError):
    """Rasa did not answer; the message is recorded, the person is told politely."""


class Refused(UserError):
    """A message the gateway does not take: not recorded, not relayed; the message is a polite
    sentence every channel shows as it is (the web chat as a 4xx JSON error, WeChat as text)."""


class TooManyMessages(Refused):
    """Over the per-sender message rate (data/hotline/limits.yml)."""


class UnreadableMessage(Refused):
    """Control characters, bidirectional overrides or lone surrogates (bot/domain/validators):
    nobody types them, and stored they would garble the record an operator reads."""


@dataclass(frozen=True)
class Reply:
    """One message to the person: text, buttons [{title, payload}], and a ticket card."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    card: dict[str, str] | None = None

    @classmethod
    def from_rasa(cls, item: dict[str, Any]) -> Reply:
        text = str(item.get("text") or "")
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in item.get("buttons") or []
            if isinstance(b, dict)
        ]
        return cls(text=text, buttons=buttons, card=ticket_card(text))

    @classmethod
    def from_row(cls, row: ConversationMessage) -> Reply:
        data = message_json(row)
        return cls(text=data["text"], buttons=data["buttons"], card=data["card"])

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": self.buttons, "card": self.card}


def ticket_card(text: str) -> dict[str, str] | None:
    match = _TICKET_RE.search(text)
    if match is None:
        return None
    return {"number": match.group(1), "access_code": match.group(2)}


class Gateway:
    """receive / push / new_conversation / history for every channel (see docs/architecture.md)."""

    def __init__(
        self,
        store: ConversationStore,
        http: aiohttp.ClientSession,
        rasa_url: str,
        rasa_auth: dict[str, str] | None = None,
        *,
        ip_limiter: RateLimiter | None = None,
    ) -> None:
        self.store = store
        self._http = http
        self._webhook = f"{rasa_url}/webhooks/rest/webhook"
        # The REST channel wants the internal token too, as a header (bot/domain/internal_auth.py).
        self._webhook_headers = internal_auth.headers((rasa_auth or {}).get("token", ""))
        self._rasa_api = RasaApi(http, rasa_url, rasa_auth or {})
        self._pushers: dict[str, Pusher] = {}
        self._rate = MessageRate(store.read_sessions)
        # Per client address (web chat): a script that drops its cookie is a new sender each
        # time and passes the per-sender count; it does not pass this one (limits.yml).
        self._ip_rate = ip_limiter
        # (conversation, external id) → the first delivery's answer, joined by retries in-process.
        self._in_flight: dict[tuple[int, str], asyncio.Future[list[Reply]]] = {}
        # NLU results being read for the record, off the person's path (see _understand).
        self._understanding: set[asyncio.Task[None]] = set()

    async def receive(
        self,
        channel: str,
        sender_key: str,
        text: str,
        *,
        external_id: str | None = None,
        client_ip: str | None = None,
    ) -> list[Reply]:
        """Record inbound, relay to Rasa unless a human holds it, record and return replies.

        Rasa gets the channel's sender and the client's address as message metadata: the
        actions count failed status look-ups by them (bot/tickets/lookup_guard.py)."""
        if has_unreadable(text):
            raise UnreadableMessage(400, UNREADABLE)
        if self._too_fast_from(client_ip):
            raise TooManyMessages(429, self._rate.limits.refused)
        conversation, allowed = await self.run(self._current_and_rate, channel, sender_key)
        key = (conversation.id, external_id) if external_id else None
        if key is not None and key in self._in_flight:
            return await asyncio.shield(self._in_flight[key])
        if not allowed:
            raise TooManyMessages(429, self._rate.limits.refused)
        inbound = await self.run(self.store.record_inbound, conversation.id, text, external_id)
        if inbound.duplicate:
            return await self._replies_recorded_first(inbound.message_id)
        if conversation.state == "human":
            # An operator answers; the bot stays out of it. Nothing is owed back right now.
            await self.run(self.store.record_replies, conversation.id, inbound.message_id, [])
            return []
        future: asyncio.Future[list[Reply]] = asyncio.get_running_loop().create_future()
        if key is not None:
            self._in_flight[key] = future
        try:
            metadata = {"hotline_sender": f"{channel}:{sender_key}"}
            if client_ip:
                metadata["client_ip"] = client_ip
            replies = await self._ask_rasa(conversation.rasa_sender_id, text, metadata)
            self._understand_later(inbound.message_id, text)
            await self._record_replies(conversation.id, inbound.message_id, replies)
            future.set_result(replies)
            return replies
        except BaseException as exc:
            if external_id is not None:
                await self.run(self.store.forget_external_id, inbound.message_id)
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody joined
            raise
        finally:
            if key is not None:
                self._in_flight.pop(key, None)

    def _too_fast_from(self, client_ip: str | None) -> bool:
        """Over the per-address rate; loopback (our own tools, benches and tests) is not
        counted, nor a message whose address is unknown (WeChat's come from Tencent). An IPv6
        client counts by its /64: one connection is handed a whole /64 to pick addresses from."""
        if self._ip_rate is None or not client_ip:
            return False
        key = client_ip
        try:
            address = ipaddress.ip_address(client_ip)
            if address.is_loopback:
                return False
            if address.version == 6:
                key = str(ipaddress.ip_network(f"{address}/64", strict=False))
        except ValueError:
            pass
        return self._ip_rate.take(key) is not None

    def _current_and_rate(self, channel: str, sender_key: str) -> tuple[Conversation, bool]:
        """Both reads of an inbound message in one worker-thread hop (each hop is a GIL
        hand-over under load); the rate is acted on after the in-flight check, as before."""
        return self.store.current(channel, sender_key), self._rate.allows(channel, sender_key)

    async def push(
        self, conversation_id: int, replies: list[Reply], *, direction: str = "out"
    ) -> bool:
        """Record and deliver out of band; False when it could not be delivered now."""
        conversation = await self.run(self.store.get, conversation_id)
        if conversation is None:
            raise ValueError(f"no conversation {conversation_id}")
        await self.run(self.store.push, conversation_id, replies, direction)
        return await self.deliver(conversation, replies)

    async def deliver(self, conversation: Conversation, replies: list[Reply]) -> bool:
        """Hand already recorded messages to the channel's pusher (the notifier records its
        notices inside its claim transaction and only delivers through here)."""
        pusher = self._pushers.get(conversation.channel)
        if pusher is None:
            return False
        try:
            return await pusher(conversation, replies)
        except Exception as exc:
            logger.warning("push to %s failed: %s", conversation.channel, type(exc).__name__)
            return False

    def register_pusher(self, channel: str, pusher: Pusher) -> None:
        self._pushers[channel] = pusher

    async def new_conversation(self, channel: str, sender_key: str) -> Conversation:
        """「新的对话」: a fresh Rasa sender id; the old transcript stays recorded."""
        return await self.run(self.store.open_new, channel, sender_key)

    async def current_conversation(self, channel: str, sender_key: str) -> Conversation:
        return await self.run(self.store.current, channel, sender_key)

    async def history(self, conversation_id: int, limit: int = 200) -> list[Message]:
        return await self.run(self.store.history, conversation_id, limit)

    async def _replies_recorded_first(self, inbound_id: int) -> list[Reply]:
        """Another process took the first delivery: wait until its replies are recorded."""
        deadline = asyncio.get_running_loop().time() + DUPLICATE_WAIT_SECONDS
        while True:
            rows = await self.run(self.store.replies_to, inbound_id)
            if rows is not None:
                return [Reply.from_row(r) for r in rows]
            if asyncio.get_running_loop().time() > deadline:
                raise RasaUnavailable(503, RASA_DOWN)
            await asyncio.sleep(0.1)

    async def _ask_rasa(
        self, rasa_sender_id: str, text: str, metadata: dict[str, str] | None = None
    ) -> list[Reply]:
        payload = {"sender": rasa_sender_id, "message": text, "metadata": metadata or {}}
        try:
            async with self._http.post(
                self._webhook, json=payload, headers=self._webhook_headers
            ) as resp:
                if resp.status != 200:
                    logger.warning("Rasa answered %s for sender %s", resp.status, rasa_sender_id)
                    raise RasaUnavailable(502, RASA_DOWN)
                raw = await resp.json()
        except (aiohttp.ClientError, TimeoutError):
            logger.warning("Rasa unreachable for message %s", mask_text(text[:50]))
            raise RasaUnavailable(503, RASA_DOWN) from None
        return [Reply.from_rasa(item) for item in raw if isinstance(item, dict)]

    async def _record_replies(
        self, conversation_id: int, inbound_id: int, replies: list[Reply]
    ) -> None:
        """Record Rasa's answer, riding out a database that is briefly unreachable. Rasa has
        already acted on the message (a ticket may be filed and its number be in the answer), so
        a failure here must not turn into an error page: after RECORD_RETRY_SECONDS the replies
        go to the person unrecorded, with a warning in the log."""
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + RECORD_RETRY_SECONDS, 0.2
        while True:
            try:
                await self.run(self.store.record_replies, conversation_id, inbound_id, replies)
                return
            except Exception as exc:
                if not database_unreachable(exc):
                    raise
                if loop.time() + pause > deadline:
                    logger.warning(
                        "replies to message %s not recorded: database unreachable", inbound_id
                    )
                    return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    def _understand_later(self, inbound_id: int, text: str) -> None:
        task = asyncio.get_running_loop().create_task(self._understand(inbound_id, text))
        self._understanding.add(task)
        task.add_done_callback(self._understanding.discard)

    async def _understand(self, inbound_id: int, text: str) -> None:
        """Record the intent, confidence and entities of a message the bot has answered.

        Asked of `/model/parse` after the reply, not read from Rasa's tracker: the NLU is
        stateless, so the parse is what the dialogue saw, at a constant ~6 ms where the tracker
        read grows with the conversation (30+ ms after 40 turns; docs/architecture.md), and any
        Rasa instance can answer it without touching the shared tracker store. A failure leaves
        the message without an intent; the person's answer is never held up by it."""
        parsed = await self.parse(text)
        if parsed is not None:
            understood = Understanding.from_parse(parsed)
            try:
                await self.run(self.store.record_understanding, inbound_id, understood)
            except Exception as exc:
                if not database_unreachable(exc):
                    raise
                logger.warning(
                    "intent of message %s not recorded: database unreachable", inbound_id
                )

    async def parse(self, text: str) -> dict[str, Any] | None:
        """Rasa's NLU on a text no conversation is about (an enterprise report), or None.

        The same batcher as the transcript's parses, so a burst of reports and the chats of
        the moment share Rasa's requests (bot/web/nlu_batcher.py)."""
        return await self._rasa_api.parse(text)

    async def settle(self) -> None:
        """Wait for the NLU results still being recorded (shutdown, tests)."""
        while self._understanding:
            await asyncio.gather(*list(self._understanding), return_exceptions=True)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """A blocking record call in a worker thread, so the event loop keeps serving."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args))


async def gateway_context(app: web.Application) -> AsyncIterator[None]:
    """The gateway's lifetime: after the HTTP client (cleanup_ctx order), before the channels."""
    settings = app[SETTINGS]
    engine = make_engine(settings.database_url)
    read_engine = make_read_engine(settings.database_url)
    store = ConversationStore(
        make_session_factory(engine), make_session_factory(read_engine) if read_engine else None
    )
    per_minute = load_message_limits().per_ip_per_minute
    gateway = Gateway(
        store,
        app[HTTP_CLIENT],
        settings.rasa_url,
        settings.rasa_auth,
        ip_limiter=RateLimiter.shared(settings, per_minute, per_minute / 60)
        if per_minute
        else None,
    )
    app[GATEWAY] = gateway
    yield
    await gateway.settle()
    engine.dispose()
    if read_engine is not None:
        read_engine.dispose()
