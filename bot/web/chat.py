"""The citizens' web chat: the page and its JSON endpoints, all through the gateway.

The browser never talks to Rasa directly: it holds an anonymous sender key (cookie), the gateway
keeps its conversation (and 「新的对话」 a fresh one), and pushed messages arrive over SSE.

The sender key is a random id and its HMAC (the deployment's enterprise key, bot/tickets/
secret_keys.py, under a label of its own): only keys this service issued are taken, so a script
cannot open streams or conversations for keys it made up — it has to fetch each one, and the
per-address limits count those fetches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.conversations.record import message_json
from bot.privacy.keys import load_or_create_key
from bot.web.errors import UserError
from bot.web.keys import GATEWAY, SETTINGS
from bot.web.push import WEB_CHANNEL, stream_pushed
from bot.web.security import client_ip, cookie_flags

SENDER_COOKIE = "hotline_sid"
MAX_MESSAGE_CHARS = 2000
HISTORY_LIMIT = 200
NO_SESSION = "会话已失效，请刷新页面后重试。"
SIGNING_KEY = web.AppKey("chat_sender_signing_key", bytes)
_ID_CHARS = 32  # hex of the random id
_SIGNATURE_CHARS = 32  # hex of the HMAC, 128 bits


async def _signing_key(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[SIGNING_KEY] = load_or_create_key(settings.var_dir, settings.enterprise_key)
    yield


def setup_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(_signing_key)
    app.router.add_get("/", chat_page, name="chat_page")
    app.router.add_post("/api/chat", chat_message, name="chat_message")
    app.router.add_get("/api/chat/history", chat_history, name="chat_history")
    app.router.add_post("/api/chat/new", chat_new, name="chat_new")
    app.router.add_get("/api/chat/events", chat_events, name="chat_events")


def _signature(key: bytes, sender_id: str) -> str:
    digest = hmac.new(key, f"web-chat-sender:{sender_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:_SIGNATURE_CHARS]


def _new_sender_key(request: web.Request) -> str:
    sender_id = secrets.token_hex(_ID_CHARS // 2)
    return f"{sender_id}.{_signature(request.app[SIGNING_KEY], sender_id)}"


def _sender_key(request: web.Request) -> str | None:
    """The cookie's sender key when this service signed it, else None."""
    value = request.cookies.get(SENDER_COOKIE, "")
    sender_id, dot, signature = value.partition(".")
    if (
        not dot
        or len(sender_id) != _ID_CHARS
        or len(signature) != _SIGNATURE_CHARS
        or not all(c in "0123456789abcdef" for c in sender_id)
    ):
        return None
    expected = _signature(request.app[SIGNING_KEY], sender_id)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    return value


def _required_sender_key(request: web.Request) -> str:
    key = _sender_key(request)
    if key is None:
        raise UserError(400, NO_SESSION)
    return key


def _set_sender_cookie(request: web.Request, response: web.StreamResponse, sender: str) -> None:
    response.set_cookie(SENDER_COOKIE, sender, max_age=86400 * 30, **cookie_flags(request))


async def chat_page(request: web.Request) -> web.Response:
    response = aiohttp_jinja2.render_template("chat.html", request, {})
    if _sender_key(request) is None:
        _set_sender_cookie(request, response, _new_sender_key(request))
    return response


async def _message_of(request: web.Request) -> str:
    """The `message` field, checked before anything is stored or relayed. Only a JSON body
    (the page sends one): another site's form can post text/plain without asking first."""
    if request.content_type != "application/json":
        raise UserError(415, "消息格式不正确，请刷新页面后重试。")
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(400, "消息格式不正确，请刷新页面后重试。") from None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        raise UserError(400, "请输入要发送的内容。")
    if len(message) > MAX_MESSAGE_CHARS:
        raise UserError(413, f"单条消息最多 {MAX_MESSAGE_CHARS} 个字，请分几次发送。")
    return message.strip()


def _external_id(request: web.Request) -> str | None:
    """The page's own id for a message (a double click or a retry sends it twice)."""
    raw = request.headers.get("X-Message-Id", "")
    if not raw:
        return None
    if len(raw) > 64 or not raw.replace("-", "").isalnum():
        raise UserError(400, "消息编号格式不正确，请刷新页面后重试。")
    return raw


async def chat_message(request: web.Request) -> web.Response:
    message = await _message_of(request)
    external_id = _external_id(request)
    sender = _sender_key(request) or _new_sender_key(request)
    replies = await request.app[GATEWAY].receive(
        WEB_CHANNEL, sender, message, external_id=external_id, client_ip=client_ip(request)
    )
    response = web.json_response({"messages": [r.as_json() for r in replies]})
    _set_sender_cookie(request, response, sender)
    return response


async def chat_history(request: web.Request) -> web.Response:
    """Reloading the page: the current conversation so far (nothing is opened for a stranger)."""
    sender = _sender_key(request)
    if sender is None:
        return web.json_response({"messages": [], "last_id": 0})
    gateway = request.app[GATEWAY]
    conversation = await gateway.current_conversation(WEB_CHANNEL, sender)
    rows = await gateway.history(conversation.id, HISTORY_LIMIT)
    messages = _shown_as_clicked([message_json(r) for r in rows])
    last_id = await gateway.run(gateway.store.last_message_id)
    return web.json_response({"messages": messages, "last_id": last_id})


def _shown_as_clicked(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A clicked button was sent as its payload (/affirm); the page shows its title (确认提交),
    as it did when the person clicked it."""
    titles: dict[str, str] = {}
    for message in messages:
        if message["direction"] == "in":
            message["shown"] = titles.get(message["text"], message["text"])
            titles = {}
        else:
            titles.update((b["payload"], b["title"]) for b in message["buttons"])
    return messages


async def chat_new(request: web.Request) -> web.Response:
    """「新的对话」: a fresh Rasa conversation; the old transcript stays recorded."""
    sender = _required_sender_key(request)
    await request.app[GATEWAY].new_conversation(WEB_CHANNEL, sender)
    return web.json_response({"messages": []})


async def chat_events(request: web.Request) -> web.StreamResponse:
    return await stream_pushed(request, _required_sender_key(request), client_ip(request))
