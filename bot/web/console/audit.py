"""The audit log as admins read it: newest first, filter by ticket or user, keyset paging."""

from __future__ import annotations

from aiohttp import web

from bot.web.console.access import requires
from bot.web.console.keys import AUDIT
from bot.web.console.pages import db, render
from bot.web.console.texts import AUDIT_LABELS
from bot.web.params import whole_number


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/audit", audit_page, name="audit")


@requires("audit.view")
async def audit_page(request: web.Request) -> web.Response:
    before = request.query.get("before", "")
    ticket = request.query.get("ticket", "").strip()[:32] or None
    username = request.query.get("user", "").strip()[:64] or None
    rows = await db(
        request.app[AUDIT].recent,
        before_id=whole_number(before),
        ticket_number=ticket,
        username=username,
    )
    return await render(
        request,
        "audit.html",
        {
            "rows": rows,
            "labels": AUDIT_LABELS,
            "ticket": ticket or "",
            "username": username or "",
            "next_id": rows[-1].id if len(rows) == 100 else None,
        },
    )
