"""Who may do what in the console — the one role table — and the middleware that enforces it.

Every console route declares a permission with `@requires(...)`; a route without one is refused
(deny by default), so a new page cannot be left open by forgetting a check. The middleware also
checks the CSRF token of every POST and refuses a signed-in session whose account was disabled.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from bot.accounts.users import Account
from bot.web.console.keys import ACCOUNTS, AUDIT, CSRF, USER
from bot.web.console.session_store import get_session
from bot.web.security import client_ip

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

PUBLIC = "public"  # the sign-in page and static checks: no account needed

# The role table. operator: every ticket, the conversation queue and the retraining review
# (review.*: transcripts with their NLU, corrections, flags, export); department: its own
# department's tickets, never a protected complainant's identity; supervisor: everything about
# tickets, escalation and statistics; admin: accounts (staff and enterprises), departments, the
# routing table, the audit log. Verifying an enterprise's registration (enterprises.verify) is
# the operators' daily work, as taking a call is; supervisors and admins may do it too.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "operator": frozenset(
        {
            "tickets.view",
            "tickets.reveal",
            "tickets.export",
            "handoffs.view",
            "handoffs.take",
            "lookups.unlock",
            "review.view",
            "review.mark",
            "enterprises.verify",
            "home",
        }
    ),
    "department": frozenset({"tickets.view", "tickets.reveal", "tickets.export", "home"}),
    "supervisor": frozenset(
        {
            "tickets.view",
            "tickets.reveal",
            "tickets.export",
            "handoffs.view",
            "handoffs.take",
            "stats.view",
            "lookups.unlock",
            "review.view",
            "review.mark",
            "enterprises.verify",
            "home",
        }
    ),
    "admin": frozenset(
        {"users.manage", "enterprises.manage", "enterprises.verify", "audit.view"}
        | {"routing.view", "home"}
    ),
}

# Lifecycle actions by role (checked again against the state machine by TicketService).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "dispatch": frozenset({"operator", "supervisor"}),
    "redispatch": frozenset({"operator", "supervisor"}),
    "sign": frozenset({"department", "supervisor"}),
    "return": frozenset({"department", "supervisor"}),
    "start": frozenset({"department", "supervisor"}),
    "answer": frozenset({"department", "supervisor"}),
    "urge": frozenset({"operator", "supervisor"}),
    "close": frozenset({"operator", "supervisor"}),
    "revisit": frozenset({"operator", "supervisor"}),
    "reopen": frozenset({"operator", "supervisor"}),
    "supervise": frozenset({"supervisor"}),
    "list_supervision": frozenset({"supervisor"}),
}


def may(account: Account | None, permission: str) -> bool:
    if permission == PUBLIC:
        return True
    return account is not None and permission in ROLE_PERMISSIONS.get(account.role, frozenset())


def may_act(account: Account, action: str) -> bool:
    return account.role in ACTION_ROLES.get(action, frozenset())


def actions_for(account: Account) -> list[str]:
    return [a for a, roles in ACTION_ROLES.items() if account.role in roles]


def requires(permission: str) -> Callable[[H], H]:
    """Mark a handler with the permission it needs; the middleware checks it."""

    def mark(handler: H) -> H:
        handler.console_permission = permission  # type: ignore[attr-defined]
        return handler

    return mark


def current_user(request: web.Request) -> Account:
    """The signed-in account (handlers behind a non-public permission always have one)."""
    account = request.get(USER)
    if account is None:
        raise web.HTTPForbidden()
    return account


def remote(request: web.Request) -> str:
    """The client's address as the audit log records it: behind nginx, the address nginx
    forwards (HOTLINE_TRUSTED_PROXIES), not nginx's own."""
    return client_ip(request) or ""


async def audit(
    request: web.Request, action: str, *, ticket: str | None = None, detail: str = ""
) -> None:
    """One audit row for what the signed-in user just saw or did."""
    account = request.get(USER)
    await asyncio.to_thread(
        request.app[AUDIT].write,
        username=account.username if account else "-",
        role=account.role if account else "-",
        action=action,
        ticket_number=ticket,
        detail=detail,
        remote=remote(request),
    )


class Forbidden(Exception):
    """Refused by the role table or the CSRF check; rendered as a 403 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route_handler: Any = request.match_info.handler
    permission = getattr(route_handler, "console_permission", None)
    if permission is None and request.match_info.http_exception is None:
        raise Forbidden("此页面未声明访问权限。")
    session = await get_session(request)
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    request[CSRF] = token
    account: Account | None = None
    user_id = session.get("user_id")
    if isinstance(user_id, int):
        account = await asyncio.to_thread(request.app[ACCOUNTS].get, user_id)
        if account is None or not account.active or account.role != session.get("role"):
            session.invalidate()
            account = None
    if account is not None:
        request[USER] = account
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            sent = str(form.get("csrf_token", ""))
        if not sent or not hmac.compare_digest(sent.encode(), token.encode()):
            raise Forbidden("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")
    if permission is None:
        return await handler(request)
    if permission != PUBLIC and account is None:
        raise web.HTTPSeeOther(f"/console/login?next={request.path}")
    if not may(account, permission):
        raise Forbidden("您的角色无权访问此页面。")
    return await handler(request)
