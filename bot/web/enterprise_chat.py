"""An enterprise that opened the web chat from its own page: its profile goes into the conversation.

The enterprise page issues a one-time chat link (`EnterpriseRegistry.issue_chat_link`, valid ten
minutes, single use). Opening `/enterprise/chat?code=…` shows a page that names the enterprise and
asks to confirm; only that page's POST redeems the code (a GET changes nothing: nginx repeats a GET
whose upstream failed, a browser may prefetch it, and a link that someone else opened would bind
their browser to the enterprise unasked). The POST starts a fresh web conversation and tells
Rasa, through its tracker API, who is speaking: caller_type, enterprise_name, uscc, the contact
person and phone, and `enterprise_verified`. The complaint form then asks none of them, and offers
「一键报送」 to file from the facts said so far (actions/intake.py). The values come from the
registry (checked at registration), never from the person's messages.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from bot.domain.privacy import mask_uscc
from bot.enterprises.registry import EnterpriseProfile
from bot.enterprises.texts import error_message
from bot.web.chat import _new_sender_key, _sender_key, _set_sender_cookie
from bot.web.enterprise_api import CONTEXT
from bot.web.errors import UserError
from bot.web.keys import GATEWAY, HTTP_CLIENT, SETTINGS
from bot.web.security import cookie_flags

logger = logging.getLogger("bot.web.enterprise_chat")

UNAVAILABLE = "智能助手暂时无法接入，请稍后再试，或使用一键报送页面。"
LINK_EXPIRED = (
    "这个对话链接已失效（10分钟内有效，只能用一次）。请回到企业一键报送页面重新打开对话。"
)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/enterprise/chat", confirm_page, name="enterprise_chat")
    app.router.add_post("/enterprise/chat", open_chat)
    app.router.add_post("/enterprise/chat-link", new_chat_link, name="enterprise_chat_link")


async def new_chat_link(request: web.Request) -> web.StreamResponse:
    """「在对话中反映」 on the signed-in enterprise page: a one-time link, followed at once."""
    from bot.web.enterprise_pages import _session_profile

    session = await _session_profile(request)
    if session is None:
        raise web.HTTPSeeOther("/enterprise/report")
    profile, csrf = session
    form = await request.post()
    if not hmac.compare_digest(str(form.get("csrf_token", "")), csrf):
        raise UserError(403, "页面已过期，请刷新后再试。")
    if _stopped(profile):
        raise UserError(403, error_message(_stopped(profile)))
    registry = request.app[CONTEXT].registry
    code = await request.app[GATEWAY].run(registry.issue_chat_link, profile.id)
    raise web.HTTPSeeOther(f"/enterprise/chat?code={code}")


def profile_events(profile: EnterpriseProfile) -> list[dict[str, Any]]:
    """The slot events that tell the bot who is speaking."""
    values = {
        "caller_type": "enterprise",
        "enterprise_name": profile.name,
        "uscc": profile.uscc,
        "caller_name": profile.contact_name,
        "phone": profile.phone,
        "enterprise_verified": profile.verified,
    }
    return [{"event": "slot", "name": name, "value": value} for name, value in values.items()]


async def bind(app: web.Application, rasa_sender_id: str, profile: EnterpriseProfile) -> None:
    """Two posts: the first opens the conversation's session, so the profile's slot events are
    stamped after its start (Rasa's SQL tracker store loads only events stamped at or after the
    latest session start, and events posted to a new conversation are stamped before it)."""
    url = f"{app[SETTINGS].rasa_url}/conversations/{rasa_sender_id}/tracker/events"
    opening = [{"event": "action", "name": "action_listen"}]
    for events in (opening, profile_events(profile)):
        try:
            async with app[HTTP_CLIENT].post(
                url, params=app[SETTINGS].rasa_auth, json=events
            ) as resp:
                if resp.status != 200:
                    logger.warning("Rasa refused the enterprise profile: %s", resp.status)
                    raise UserError(502, UNAVAILABLE)
        except (aiohttp.ClientError, TimeoutError):
            raise UserError(503, UNAVAILABLE) from None


def _stopped(profile: EnterpriseProfile) -> str:
    """Why this account cannot speak for the company in the chat (an error code), or "". Only a
    verified account can: the chat fills in the company's profile and takes it as the caller."""
    if profile.suspended:
        return "account_suspended"
    if profile.refused:
        return "account_refused"
    return "" if profile.verified else "account_pending"


def _refused(request: web.Request, profile: EnterpriseProfile | None) -> web.StreamResponse:
    """A page a person can read (the link is opened in a browser), not a JSON error."""
    message = error_message(_stopped(profile)) if profile else LINK_EXPIRED
    return aiohttp_jinja2.render_template(
        "enterprise_link_expired.html",
        request,
        {"message": message},
        status=403 if profile else 400,
    )


def _link_code(value: object) -> str:
    return value if isinstance(value, str) and 0 < len(value) <= 100 else ""


async def confirm_page(request: web.Request) -> web.StreamResponse:
    """Which enterprise the link speaks for, and a button (POST) to go on; nothing is used up."""
    from bot.web.enterprise_pages import CSRF_COOKIE, csrf_for_seed, render

    code = _link_code(request.query.get("code"))
    registry = request.app[CONTEXT].registry
    profile = await request.app[GATEWAY].run(registry.chat_link_profile, code) if code else None
    if profile is None or _stopped(profile):
        return _refused(request, profile)
    seed = secrets.token_hex(16)
    response = render(
        request,
        "chat_confirm.html",
        {
            "name": profile.name,
            "uscc": mask_uscc(profile.uscc),
            "code": code,
            "csrf": csrf_for_seed(request, seed),
        },
    )
    response.set_cookie(CSRF_COOKIE, seed, path="/enterprise", **cookie_flags(request))
    return response


async def open_chat(request: web.Request) -> web.StreamResponse:
    """The confirmation: redeem the code (once), open the conversation, go to the chat."""
    from bot.web.enterprise_pages import CSRF_COOKIE, csrf_for_seed

    form = await request.post()
    seed = request.cookies.get(CSRF_COOKIE, "")
    if not seed or not hmac.compare_digest(
        str(form.get("csrf_token", "")), csrf_for_seed(request, seed)
    ):
        raise UserError(403, error_message("csrf"))
    code = _link_code(form.get("code"))
    gateway = request.app[GATEWAY]
    profile = None
    if code:
        profile = await gateway.run(request.app[CONTEXT].registry.redeem_chat_link, code)
    if profile is None or _stopped(profile):
        return _refused(request, profile)
    sender_key = _sender_key(request) or _new_sender_key(request)
    conversation = await gateway.new_conversation("web", sender_key)
    await bind(request.app, conversation.rasa_sender_id, profile)
    response = web.HTTPSeeOther("/")
    _set_sender_cookie(request, response, sender_key)
    return response
