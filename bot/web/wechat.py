"""The WeChat Official Account channel: WeChat's message push protocol in front of the gateway.

WeChat calls `GET /wechat` once to check the server (signature → echostr) and then `POST /wechat`
with one XML message per thing a person does. Every request is signed with the account's token;
an unsigned or wrongly signed request is refused before its body is read. WeChat waits 5 s for
the passive reply and otherwise delivers the same message again (three times, 5 s apart), so:

- each text message goes to the gateway with its MsgId as external id: a retry that reaches
  another process gets the replies recorded the first time, without Rasa being asked again;
  in this process a retry joins the answer already being prepared;
- an answer not ready by `wechat_deadline_seconds` (4.5 s) is answered "success" (WeChat then
  stops retrying) and sent through the customer-service API as soon as it is ready.

A request is taken only when its signature holds, its timestamp is fresh and its (timestamp,
nonce) was not seen with another body; in safe mode the message is the signed AES envelope's
(bot/web/wechat_auth.py). Answered turns are keyed by (openid, MsgId): a MsgId is WeChat's per
account counter, and a message claiming another person's MsgId must not be given their answer.

The bot's buttons are written as numbered choices and a typed number is turned back into the
button's payload (bot/web/wechat_reply.py). After WeChat's 48-hour customer-service window a
ticket's answer is told by a template message (bot/web/wechat_outbox.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any
from xml.parsers.expat import ExpatError

from aiohttp import web
from wechatpy import parse_message
from wechatpy.replies import TextReply

from bot.config import Settings
from bot.conversations.record import message_json
from bot.conversations.wechat_store import claim_nonce, window_open_in
from bot.domain.clock import utcnow
from bot.store.models import Conversation
from bot.web import wechat_texts as texts
from bot.web.gateway import Gateway, Refused, Reply
from bot.web.keys import GATEWAY, SETTINGS
from bot.web.periodic import periodic
from bot.web.wechat_api import CustomerService, person_tag
from bot.web.wechat_auth import (
    FRESH_SECONDS,
    NotFromWeChat,
    Unreadable,
    WeChatAuth,
    aes_key_problem,
)
from bot.web.wechat_outbox import TemplateOutbox
from bot.web.wechat_reply import MAX_TEXT_BYTES, last_offered, render, translate_choice

logger = logging.getLogger("bot.web.wechat")

CHANNEL = "wechat"
# A WeChat message is a few hundred bytes; anything this large is not from WeChat.
MAX_BODY_BYTES = 16 * 1024
MAX_MESSAGE_CHARS = 2000
# How many recent messages this process remembers to join retries (WeChat retries within 15 s).
RECENT_TURNS = 4096
NOT_TEXT_TYPES = {"image", "voice", "video", "shortvideo", "location", "link", "miniprogrampage"}

# The bot's latest turn is found among this many recorded messages of the conversation.
HISTORY_FOR_CHOICES = 20


@dataclass
class _Turn:
    """One WeChat message being answered, shared by WeChat's retries of it in this process."""

    task: asyncio.Task[str]
    # The answer was handed to the customer-service API: a later delivery answers "success".
    pushed: bool = False


@dataclass
class WeChatChannel:
    """Answers WeChat messages through the gateway, passively or by the customer-service API."""

    settings: Settings
    gateway: Gateway
    service: CustomerService
    turns: OrderedDict[tuple[str, str], _Turn] = field(default_factory=OrderedDict)
    background: set[asyncio.Task[None]] = field(default_factory=set)

    async def answer(self, openid: str, text: str, external_id: str) -> str | None:
        """The text to reply passively, or None when the answer goes (or went) another way."""
        key = (openid, external_id)
        turn = self.turns.get(key)
        if turn is None:
            turn = _Turn(asyncio.create_task(self._prepare(openid, text, external_id)))
            self.turns[key] = turn
            while len(self.turns) > RECENT_TURNS:
                self.turns.popitem(last=False)
        elif turn.pushed:
            return None
        try:
            answer = await asyncio.wait_for(
                asyncio.shield(turn.task), timeout=self.settings.wechat_deadline_seconds
            )
        except TimeoutError:
            if not turn.pushed:
                turn.pushed = True
                self._spawn(self._push_when_ready(openid, turn))
                logger.info(
                    "answer for %s not ready in time: customer-service API", person_tag(openid)
                )
            return None
        if len(answer.encode()) > MAX_TEXT_BYTES and not turn.pushed:
            turn.pushed = True  # too long for one passive reply: sent in parts
            self._spawn(self._push_when_ready(openid, turn))
            return None
        return answer

    async def _prepare(self, openid: str, text: str, external_id: str) -> str:
        try:
            message = translate_choice(text, await self._offered(openid))
            replies = await self.gateway.receive(CHANNEL, openid, message, external_id=external_id)
        except Refused as exc:
            return exc.message
        except Exception as exc:
            # The person still gets an answer; the failure is logged without their words (an
            # exception's text may quote them, so only its type).
            logger.warning("no answer for %s: %s", person_tag(openid), type(exc).__name__)
            return texts.UNAVAILABLE
        return render(replies)

    async def _push_when_ready(self, openid: str, turn: _Turn) -> None:
        answer = await turn.task
        if answer:
            await self.service.send_text(openid, answer)

    async def _offered(self, openid: str) -> list[dict[str, str]]:
        """The choices of the bot's latest turn, from the gateway's record of the conversation."""
        conversation = await self.gateway.current_conversation(CHANNEL, openid)
        rows = await self.gateway.history(conversation.id, HISTORY_FOR_CHOICES)
        return last_offered([message_json(row) for row in rows])

    async def push(self, conversation: Conversation, replies: list[Reply]) -> bool:
        """The gateway's pusher for WeChat: out-of-band messages (an operator's words, "your
        ticket was answered"), already recorded, go out by the customer-service API — while
        its 48-hour window is open; after that WeChat refuses them, and a ticket's answer goes
        by the template outbox instead (queued when the notice was claimed)."""
        text = render(replies)
        if not text:
            return False
        openid = conversation.sender_key
        sessions = self.gateway.store.sessions
        if not await self.gateway.run(window_open_in, sessions, openid, utcnow()):
            logger.info("customer-service window closed for %s: not sent", person_tag(openid))
            return False
        return await self.service.send_text(openid, text)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def close(self) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        for turn in self.turns.values():
            turn.task.cancel()
        await asyncio.gather(*(t.task for t in self.turns.values()), return_exceptions=True)
        self.service.close()


CHANNEL_KEY = web.AppKey("wechat_channel", WeChatChannel)
AUTH_KEY = web.AppKey("wechat_auth", WeChatAuth)


def _channel(request: web.Request) -> WeChatChannel:
    return request.app[CHANNEL_KEY]


async def verify(request: web.Request) -> web.Response:
    """WeChat's server check when the URL is configured: echo `echostr` if the signature holds
    and is fresh (the echo is plain in every mode of a 公众号)."""
    try:
        request.app[AUTH_KEY].signed(request.query)
    except NotFromWeChat:
        raise web.HTTPForbidden() from None
    return web.Response(text=request.query.get("echostr", ""))


def _passive(auth: WeChatAuth, message: Any, text: str | None) -> web.Response:
    if not text:
        return web.Response(text="success")
    reply = TextReply(message=message, content=text)
    return web.Response(text=auth.reply(reply.render()), content_type="application/xml")


async def _authentic(request: web.Request) -> bytes:
    """The message's XML from a request WeChat sent now, for the first time; else 403 (before the
    body is read when the query already fails), 413 or 400."""
    auth = request.app[AUTH_KEY]
    try:
        signed = auth.signed(request.query)
    except NotFromWeChat:
        raise web.HTTPForbidden() from None
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_BODY_BYTES, request.content_length or 0)
    body = await request.read()
    if len(body) > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_BODY_BYTES, len(body))
    try:
        xml = auth.message(request.query, body, signed)
    except NotFromWeChat:
        raise web.HTTPForbidden() from None
    except Unreadable:
        raise web.HTTPBadRequest() from None
    gateway = request.app[GATEWAY]
    digest = hashlib.sha256(body).hexdigest()
    oldest = int(time.time()) - FRESH_SECONDS
    first = await gateway.run(
        claim_nonce, gateway.store.sessions, signed.timestamp, signed.nonce, digest, oldest
    )
    if not first:
        logger.warning("a replayed WeChat signature was refused")
        raise web.HTTPForbidden()
    return xml


async def receive(request: web.Request) -> web.Response:
    """One pushed message or event → a passive reply (XML) or "success"."""
    xml = await _authentic(request)
    try:
        message = parse_message(xml)
    except (ExpatError, KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError):
        raise web.HTTPBadRequest() from None
    if message is None or not message.source:
        raise web.HTTPBadRequest()
    channel = _channel(request)
    auth = request.app[AUTH_KEY]
    openid = str(message.source)
    if message.type == "text":
        text = await _text(channel, openid, str(message.content or ""), message)
        return _passive(auth, message, text)
    if message.type == "voice" and str(message.recognition or "").strip():
        # With 语音识别 on in the account, WeChat sends its transcript: answered as typed text.
        text = await _text(channel, openid, str(message.recognition), message)
        return _passive(auth, message, text)
    if message.type in NOT_TEXT_TYPES:
        return _passive(auth, message, texts.NOT_TEXT)
    if message.type == "event":
        return _passive(auth, message, await _event(channel, openid, message))
    return _passive(auth, message, texts.EVENT_HINT)


async def _text(channel: WeChatChannel, openid: str, content: str, message: Any) -> str | None:
    content = content.strip()
    if not content:
        return texts.EMPTY
    if len(content) > MAX_MESSAGE_CHARS:
        return texts.TOO_LONG.format(limit=MAX_MESSAGE_CHARS)
    return await channel.answer(openid, content, f"wechat:{message.id}")


async def _event(channel: WeChatChannel, openid: str, message: Any) -> str | None:
    """subscribe: the bot's own greeting (你好 through the gateway, so the welcome is the one the
    bot says everywhere, with its buttons as numbered choices); unsubscribe: nothing can reach
    the person any more; a menu click: how to start."""
    event = str(message.event).lower()
    if event in {"subscribe", "subscribe_scan"}:
        return await channel.answer(openid, "你好", f"wechat:subscribe:{openid}:{message.time}")
    if event == "unsubscribe":
        logger.info("%s unsubscribed", person_tag(openid))
        return None
    if event == "click":
        return texts.EVENT_HINT
    return None


def setup_wechat(app: web.Application) -> None:
    """Routes, and the channel's lifetime: after the gateway's (cleanup_ctx order), whose pusher
    for WeChat it registers."""
    app.router.add_get("/wechat", verify, name="wechat_verify")
    app.router.add_post("/wechat", receive, name="wechat_receive")

    # Built now, while the app is put together: a malformed AES key stops the start-up with its
    # sentence, before any background task or connection exists.
    app[AUTH_KEY] = _auth(app[SETTINGS])

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        gateway = app[GATEWAY]
        service = CustomerService(settings)
        channel = WeChatChannel(settings=settings, gateway=gateway, service=service)
        gateway.register_pusher(CHANNEL, channel.push)
        app[CHANNEL_KEY] = channel
        outbox = TemplateOutbox(settings, gateway.store.sessions, service)
        async with periodic(
            "wechat template messages", settings.notice_poll_seconds, outbox.send_due
        ):
            yield
        await channel.close()

    app.cleanup_ctx.append(lifetime)


def _auth(settings: Settings) -> WeChatAuth:
    """The request check for this account; a malformed AES key stops the start-up, and the
    production profile in plaintext mode says loudly what it risks."""
    if settings.wechat_aes_key:
        problem = aes_key_problem(settings.wechat_aes_key)
        if problem:
            raise SystemExit(problem)
    elif settings.profile == "production":
        logger.warning(
            "WeChat in plaintext mode: the signature does not cover the message; set"
            " HOTLINE_WECHAT_AES_KEY and the account's 安全模式 (docs/wechat.md)"
        )
    return WeChatAuth(settings.wechat_token, settings.wechat_appid, settings.wechat_aes_key)
