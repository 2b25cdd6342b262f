"""查询锁定: status look-ups locked after too many failed access codes, and lifting them.

The counts live in the ticket database (bot/tickets/lookup_guard.py), so a lock-out lifted
here is lifted for every action server and replica. Lifting is a POST (CSRF-checked by the
access middleware) and is written to the audit log with the key's masked label.
"""

from __future__ import annotations

from aiohttp import web

from bot.tickets.lookup_guard import SCOPES, LookupGuard
from bot.web.console.access import audit, requires
from bot.web.console.keys import SERVICE, SESSIONS
from bot.web.console.pages import db, notify, render

LOOKUP_GUARD = web.AppKey("console_lookup_guard", LookupGuard)
PERMISSION = "lookups.unlock"


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/lookups", lookups_page, name="lookups")
    app.router.add_post("/lookups/lift", lift)
    app[LOOKUP_GUARD] = LookupGuard(app[SESSIONS], app[SERVICE])


@requires(PERMISSION)
async def lookups_page(request: web.Request) -> web.Response:
    guard = request.app[LOOKUP_GUARD]
    locks = await db(guard.lock_outs)
    return await render(request, "lookups.html", {"locks": locks, "limits": guard.limits})


@requires(PERMISSION)
async def lift(request: web.Request) -> web.Response:
    form = await request.post()
    scope, key = str(form.get("scope", "")), str(form.get("key", ""))[:64]
    label = str(form.get("label", ""))[:64]
    if scope not in SCOPES or not key:
        await notify(request, "没有找到这条锁定。", error=True)
        raise web.HTTPSeeOther("/console/lookups")
    removed = await db(request.app[LOOKUP_GUARD].lift, scope, key)
    await audit(
        request,
        "lookup_unlock",
        ticket=key if scope == "ticket" else None,
        detail=f"{scope}:{label}，清除 {removed} 次失败记录",
    )
    await notify(request, f"已解除查询锁定：{label}。")
    raise web.HTTPSeeOther("/console/lookups")
