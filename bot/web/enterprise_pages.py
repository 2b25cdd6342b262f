"""The enterprise's web pages: registration, sign-in with the token, the one-click report form,
the ticket card, and the readable API document.

The session is a signed cookie (HttpOnly, SameSite=Lax) holding the enterprise id, when its
token was issued and an expiry: rotating the token ends every session at once, and nothing
about the session is kept on the server. CSRF: the form carries an HMAC of the session (or, on
the registration page, of a random cookie) that a cross-site page cannot read or forge.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.domain.clock import CHINA_TZ
from bot.enterprises.registry import EnterpriseProfile
from bot.enterprises.texts import PAGES, error_message
from bot.web.enterprise_api import (
    CONTEXT,
    file_for,
    openapi_document,
    register_enterprise,
)
from bot.web.enterprise_errors import ApiError
from bot.web.security import cookie_flags

SESSION_COOKIE = "ent_session"
CSRF_COOKIE = "ent_csrf"
SESSION_SECONDS = 8 * 3600


def setup_enterprise_pages(app: web.Application) -> None:
    app.router.add_get("/enterprise/register", register_page)
    app.router.add_post("/enterprise/register", register_submit)
    app.router.add_get("/enterprise/report", report_page)
    app.router.add_post("/enterprise/signin", sign_in)
    app.router.add_post("/enterprise/report", report_submit)
    app.router.add_get("/api/v1/docs", docs_page)


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        f"enterprise/{template}",
        request,
        {"texts": PAGES, "suspended_message": error_message("account_suspended"), **context},
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _local(moment: str | None) -> str:
    if not moment:
        return "—"
    return dt.datetime.fromisoformat(moment).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


async def _form(request: web.Request) -> dict[str, str]:
    try:
        data = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise
    return {k: v for k, v in data.items() if isinstance(v, str)}


# -- registration --------------------------------------------------------------------------------


def csrf_for_seed(request: web.Request, value: str) -> str:
    """The form token for a browser's random CSRF cookie (registration, sign-in, chat link)."""
    return _sign(request.app[CONTEXT].key, f"register:{value}")


async def register_page(request: web.Request) -> web.StreamResponse:
    seed = secrets.token_hex(16)
    response = render(request, "register.html", {"csrf": csrf_for_seed(request, seed)})
    response.set_cookie(CSRF_COOKIE, seed, path="/enterprise", **cookie_flags(request))
    return response


async def register_submit(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    seed = request.cookies.get(CSRF_COOKIE, "")
    if not seed or not hmac.compare_digest(
        form.get("csrf_token", ""), csrf_for_seed(request, seed)
    ):
        return render(request, "message.html", {"message": error_message("csrf")}, status=403)
    try:
        profile, token = await register_enterprise(request, form)
    except ApiError as exc:
        return render(
            request,
            "register.html",
            {
                "csrf": form.get("csrf_token", ""),
                "error": error_message(exc.code, exc.field),
                "values": form,
            },
            status=exc.status,
        )
    return render(request, "registered.html", {"profile": profile, "token": token}, status=202)


# -- session ---------------------------------------------------------------------------------------


def _issued(profile: EnterpriseProfile) -> int:
    """When the token was issued, in microseconds: a rotation within the same second as the
    sign-in still changes it."""
    return (profile.token_issued_at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(
        microseconds=1
    )


def _session_value(key: bytes, profile: EnterpriseProfile) -> str:
    payload = f"{profile.id}.{_issued(profile)}.{int(time.time()) + SESSION_SECONDS}"
    return f"{payload}.{_sign(key, payload)}"


async def _session_profile(request: web.Request) -> tuple[EnterpriseProfile, str] | None:
    """The signed-in enterprise and the CSRF token for its forms, or None."""
    value = request.cookies.get(SESSION_COOKIE, "")
    parts = value.split(".")
    context = request.app[CONTEXT]
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _sign(context.key, payload)):
        return None
    if int(parts[2]) < time.time():
        return None
    profile = await context.db(context.registry.profile, int(parts[0]))
    if profile is None or _issued(profile) != int(parts[1]):
        return None  # the token was rotated: the session ends with it
    return profile, _sign(context.key, f"csrf:{value}")


async def sign_in(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    seed = request.cookies.get(CSRF_COOKIE, "")
    if not seed or not hmac.compare_digest(
        form.get("csrf_token", ""), csrf_for_seed(request, seed)
    ):
        return render(request, "message.html", {"message": error_message("csrf")}, status=403)
    context = request.app[CONTEXT]
    token = form.get("token", "").strip()
    profile = await context.db(context.registry.profile_for_token, token)
    if profile is None:
        return await _signin_page(request, PAGES["bad_token"], status=401)
    response = web.HTTPSeeOther("/enterprise/report")
    response.set_cookie(
        SESSION_COOKIE,
        _session_value(context.key, profile),
        path="/enterprise",
        max_age=SESSION_SECONDS,
        **cookie_flags(request),
    )
    raise response


async def _signin_page(
    request: web.Request, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    seed = secrets.token_hex(16)
    response = render(
        request, "signin.html", {"csrf": csrf_for_seed(request, seed), "error": error}, status
    )
    response.set_cookie(CSRF_COOKIE, seed, path="/enterprise", **cookie_flags(request))
    return response


# -- the one-click form ----------------------------------------------------------------------------


async def report_page(request: web.Request) -> web.StreamResponse:
    session = await _session_profile(request)
    if session is None:
        return await _signin_page(request)
    profile, csrf = session
    return render(
        request,
        "report.html",
        {"profile": profile, "csrf": csrf, "form_key": secrets.token_hex(16), "values": {}},
    )


async def report_submit(request: web.Request) -> web.StreamResponse:
    session = await _session_profile(request)
    if session is None:
        return await _signin_page(request, PAGES["bad_token"], status=401)
    profile, csrf = session
    form = await _form(request)
    if not hmac.compare_digest(form.get("csrf_token", ""), csrf):
        return render(request, "message.html", {"message": error_message("csrf")}, status=403)
    body = {"description": form.get("description", "")}
    if form.get("respondent", "").strip():
        body["respondent"] = form["respondent"]
    raw = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    # The form's random key makes a double click or a resubmitted page file once.
    key = form.get("form_key", "")[:64] or None
    try:
        answer, _ = await file_for(request.app, profile, body, raw, f"form-{key}" if key else None)
    except ApiError as exc:
        return render(
            request,
            "report.html",
            {
                "profile": profile,
                "csrf": csrf,
                "form_key": secrets.token_hex(16),
                "values": form,
                "error": error_message(exc.code, exc.field),
            },
            status=exc.status,
        )
    deadlines = {k: _local(v) for k, v in answer["deadlines"].items()}
    return render(request, "filed.html", {"ticket": answer, "deadlines": deadlines})


async def docs_page(request: web.Request) -> web.StreamResponse:
    return render(request, "docs.html", {"doc": openapi_document()})
