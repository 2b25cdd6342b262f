"""The operator console under /console/: a sub-application with its own session store,
access middleware and templates. One module per area; the role table is in access.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.config import Settings
from bot.tickets.accounts import Accounts
from bot.tickets.audit import AuditLog
from bot.tickets.db import make_engine, make_session_factory
from bot.tickets.service import TicketService
from bot.web.console import (
    audit,
    auth,
    conversations,
    dashboard,
    exports,
    review,
    tickets,
    users,
)
from bot.web.console.access import access_middleware
from bot.web.console.errors import console_errors
from bot.web.console.keys import ACCOUNTS, AUDIT, CONSOLE_SETTINGS, SERVICE, SESSIONS
from bot.web.console.retention_task import retention_schedule
from bot.web.console.session_store import DatabaseStorage, session_middleware

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "console"


def create_console(settings: Settings) -> web.Application:
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    storage = DatabaseStorage(sessions)
    console = web.Application(
        middlewares=[console_errors, session_middleware(storage), access_middleware]
    )
    console[CONSOLE_SETTINGS] = settings
    console[SESSIONS] = sessions
    console[SERVICE] = TicketService(sessions)
    console[ACCOUNTS] = Accounts(sessions)
    console[AUDIT] = AuditLog(sessions)
    console[auth.STORAGE] = storage

    async def _engine(_app: web.Application) -> AsyncIterator[None]:
        yield
        engine.dispose()

    console.cleanup_ctx.append(_engine)
    console.on_response_prepare.append(_security_headers)
    console.cleanup_ctx.append(retention_schedule)
    aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    for module in (auth, tickets, conversations, exports, dashboard, users, audit, review):
        module.setup_routes(console)
    return console


# No inline script anywhere in the console (data comes in data- attributes and JSON), so the
# policy can forbid it; inline styles stay allowed because ECharts' tooltips carry style attributes.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def setup_console(app: web.Application, settings: Settings) -> None:
    app.add_subapp("/console/", create_console(settings))
