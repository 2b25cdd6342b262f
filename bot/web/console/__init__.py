"""The operator console under /console/: a sub-application with its own session store,
access middleware and templates. One module per area; the role table is in access.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.accounts.users import Accounts
from bot.config import Settings
from bot.store.audit import AuditLog
from bot.store.db import make_engine, make_session_factory
from bot.tickets.service import TicketService
from bot.web.console import (
    audit,
    auth,
    conversations,
    dashboard,
    enterprises,
    exports,
    lookups,
    review,
    tickets,
    users,
)
from bot.web.console.access import access_middleware
from bot.web.console.errors import console_errors
from bot.web.console.keys import ACCOUNTS, AUDIT, CONSOLE_SETTINGS, SERVICE, SESSIONS
from bot.web.console.retention_task import retention_schedule
from bot.web.console.review_task import review_schedule
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
    console.cleanup_ctx.append(retention_schedule)
    console.cleanup_ctx.append(review_schedule)
    aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    # Security headers: bot/web/security.py, on the main app (it covers this sub-app too).
    for module in (
        auth,
        tickets,
        conversations,
        exports,
        dashboard,
        users,
        enterprises,
        audit,
        lookups,
        review,
    ):
        module.setup_routes(console)
    return console


def setup_console(app: web.Application, settings: Settings) -> None:
    app.add_subapp("/console/", create_console(settings))
