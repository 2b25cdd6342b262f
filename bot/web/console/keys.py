"""Typed keys of the console sub-application and of its requests."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from bot.accounts.users import Account, Accounts
from bot.config import Settings
from bot.store.audit import AuditLog
from bot.tickets.service import TicketService

SESSIONS = web.AppKey("console_sessions", sessionmaker[Session])
SERVICE = web.AppKey("console_service", TicketService)
ACCOUNTS = web.AppKey("console_accounts", Accounts)
AUDIT = web.AppKey("console_audit", AuditLog)
CONSOLE_SETTINGS = web.AppKey("console_settings", Settings)

# Set by the access middleware on every request that passed it.
USER = web.RequestKey("console_user", Account)  # absent: nobody signed in
CSRF = web.RequestKey("console_csrf", str)

__all__ = [
    "ACCOUNTS",
    "AUDIT",
    "CONSOLE_SETTINGS",
    "CSRF",
    "SERVICE",
    "SESSIONS",
    "USER",
    "Account",
]
