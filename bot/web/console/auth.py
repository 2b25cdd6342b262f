"""Signing in and out. A successful sign-in gets a new session key (no fixation).

The password hash of a sign-in runs on a pool of its own (`PASSWORD_THREADS` threads): argon2
is deliberately slow, and on the shared executor a burst of sign-in attempts would make the
chat and every console page wait behind it. The throttle (bot/accounts/users.py) refuses an
address over its limit before it reaches the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from bot.accounts.users import LoginRefused, check_password
from bot.domain.validators import strip_unreadable
from bot.web.console.access import PUBLIC, audit, requires
from bot.web.console.keys import ACCOUNTS, AUDIT, USER
from bot.web.console.pages import db, render
from bot.web.console.session_store import DatabaseStorage, get_session, new_session
from bot.web.console.texts import LOGIN_LOCKED, LOGIN_WRONG
from bot.web.security import client_ip

STORAGE = web.AppKey("console_storage", DatabaseStorage)
PASSWORD_POOL = web.AppKey("console_password_pool", ThreadPoolExecutor)
PASSWORD_THREADS = 2


async def _password_pool(app: web.Application) -> AsyncIterator[None]:
    pool = ThreadPoolExecutor(PASSWORD_THREADS, thread_name_prefix="console-argon2")
    app[PASSWORD_POOL] = pool
    yield
    pool.shutdown(wait=True, cancel_futures=True)


def setup_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(_password_pool)
    app.router.add_get("/login", login_page, name="login")
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout, name="logout")
    app.router.add_get("/", home, name="home")


def _next(value: str) -> str:
    """Only a console path: never send a signed-in person to another site."""
    if value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/"


@requires(PUBLIC)
async def login_page(request: web.Request) -> web.Response:
    return await render(request, "login.html", {"next": _next(request.query.get("next", ""))})


@requires(PUBLIC)
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    # Shown back and written to the audit log: no control characters or overrides in either.
    username = strip_unreadable(str(form.get("username", "")))[:64]
    password = str(form.get("password", ""))[:256]
    accounts = request.app[ACCOUNTS]
    try:
        attempt = await db(accounts.begin_login, username, client_ip(request) or "")
        verified, new_hash = await asyncio.get_running_loop().run_in_executor(
            request.app[PASSWORD_POOL], check_password, attempt, password
        )
        account = await db(accounts.finish_login, attempt, verified, new_hash)
    except LoginRefused as refused:
        # Never the typed name unless it is an account's (it may be a password).
        detail = await db(request.app[AUDIT].failed_login_detail, username, refused.locked)
        await audit(request, "login_failed", detail=detail)
        message = LOGIN_LOCKED if refused.locked else LOGIN_WRONG
        context = {"next": _next(str(form.get("next", ""))), "error": message, "username": username}
        return await render(request, "login.html", context, status=401)
    old = await get_session(request)
    if old.identity is not None:
        await db(request.app[STORAGE].forget, str(old.identity))
    session = await new_session(request)
    session["user_id"] = account.id
    session["role"] = account.role
    request[USER] = account
    await audit(request, "login")
    raise web.HTTPSeeOther(_next(str(form.get("next", ""))))


@requires(PUBLIC)
async def logout(request: web.Request) -> web.StreamResponse:
    if request.get(USER) is not None:
        await audit(request, "logout")
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPSeeOther("/console/login")


@requires("home")
async def home(request: web.Request) -> web.StreamResponse:
    """Each role starts where its work is."""
    account = request[USER]
    if account.role == "admin":
        raise web.HTTPSeeOther("/console/users")
    raise web.HTTPSeeOther("/console/tickets")
