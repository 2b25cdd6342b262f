"""The citizens' web chat: the page, and a gateway that relays messages to Rasa's REST channel.

The browser never talks to Rasa directly: the gateway gives each browser an anonymous sender id
(cookie), checks the input, and turns Rasa being down into a polite Chinese answer.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from bot.domain.privacy import mask_text
from bot.web.errors import UserError
from bot.web.keys import HTTP_CLIENT, SETTINGS

logger = logging.getLogger("bot.web.chat")

SENDER_COOKIE = "hotline_sid"
MAX_MESSAGE_CHARS = 2000


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", chat_page, name="chat_page")
    app.router.add_post("/api/chat", chat_message, name="chat_message")


def _sender_id(request: web.Request) -> str | None:
    value = request.cookies.get(SENDER_COOKIE, "")
    # Only ids we issued: 32 hex characters.
    if len(value) == 32 and all(c in "0123456789abcdef" for c in value):
        return value
    return None


def _set_sender_cookie(response: web.StreamResponse, sender: str) -> None:
    response.set_cookie(SENDER_COOKIE, sender, httponly=True, samesite="Strict", max_age=86400 * 30)


async def chat_page(request: web.Request) -> web.Response:
    response = aiohttp_jinja2.render_template("chat.html", request, {})
    if _sender_id(request) is None:
        _set_sender_cookie(response, secrets.token_hex(16))
    return response


async def chat_message(request: web.Request) -> web.Response:
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(400, "消息格式不正确，请刷新页面后重试。") from None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        raise UserError(400, "请输入要发送的内容。")
    if len(message) > MAX_MESSAGE_CHARS:
        raise UserError(413, f"单条消息最多 {MAX_MESSAGE_CHARS} 个字，请分几次发送。")
    sender = _sender_id(request) or secrets.token_hex(16)
    replies = await _ask_rasa(request.app, sender, message.strip())
    response = web.json_response({"messages": replies})
    _set_sender_cookie(response, sender)
    return response


async def _ask_rasa(app: web.Application, sender: str, message: str) -> list[dict[str, Any]]:
    settings = app[SETTINGS]
    url = f"{settings.rasa_url}/webhooks/rest/webhook"
    try:
        async with app[HTTP_CLIENT].post(url, json={"sender": sender, "message": message}) as resp:
            if resp.status != 200:
                logger.warning("Rasa answered %s for sender %s", resp.status, sender)
                raise UserError(502, "智能助手暂时无法回复，请稍后再试，或直接拨打12345。")
            raw = await resp.json()
    except (aiohttp.ClientError, TimeoutError):
        logger.warning("Rasa unreachable for message %s", mask_text(message[:50]))
        raise UserError(503, "智能助手暂时无法回复，请稍后再试，或直接拨打12345。") from None
    return [_reply(item) for item in raw if isinstance(item, dict)]


def _reply(item: dict[str, Any]) -> dict[str, Any]:
    """Only what the page shows: text and buttons (title + payload)."""
    reply: dict[str, Any] = {"text": str(item.get("text") or "")}
    buttons = item.get("buttons") or []
    reply["buttons"] = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in buttons
        if isinstance(b, dict)
    ]
    return reply
