"""Admin pages: accounts (add, unlock, disable, reset password), departments, the routing table."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from bot.domain.tables import load_table
from bot.tickets.accounts import ROLES, AccountError
from bot.web.console.access import audit, requires
from bot.web.console.keys import ACCOUNTS
from bot.web.console.pages import categories, db, departments, districts, notify, render
from bot.web.console.texts import ROLE_LABELS


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/users", users_page, name="users")
    app.router.add_post("/users", add_user)
    app.router.add_post("/users/{id:\\d+}/{change:unlock|disable|enable|password}", change_user)
    app.router.add_get("/departments", departments_page, name="departments")
    app.router.add_get("/routing", routing_page, name="routing")


@requires("users.manage")
async def users_page(request: web.Request) -> web.Response:
    accounts = await db(request.app[ACCOUNTS].all)
    now = dt.datetime.now(dt.UTC)
    return await render(
        request,
        "users.html",
        {
            "accounts": accounts,
            "now": now,
            "roles": [(r, ROLE_LABELS[r]) for r in ROLES],
            "departments": departments(),
        },
    )


@requires("users.manage")
async def add_user(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = str(form.get("username", ""))
    role = str(form.get("role", ""))
    department = str(form.get("department", "")) or None
    if department is not None and department not in departments():
        department = None
    try:
        account = await db(
            request.app[ACCOUNTS].add, name, str(form.get("password", "")), role, department
        )
    except AccountError as exc:
        await notify(request, str(exc), error=True)
        raise web.HTTPSeeOther("/console/users") from None
    await audit(request, "user_add", detail=f"{account.username}（{role}）")
    await notify(request, f"已创建用户 {account.username}。")
    raise web.HTTPSeeOther("/console/users")


@requires("users.manage")
async def change_user(request: web.Request) -> web.StreamResponse:
    accounts = request.app[ACCOUNTS]
    user_id = int(request.match_info["id"])
    change = request.match_info["change"]
    try:
        if change == "unlock":
            account = await db(accounts.unlock, user_id)
        elif change in ("disable", "enable"):
            account = await db(accounts.set_active, user_id, change == "enable")
        else:
            form = await request.post()
            account = await db(accounts.set_password, user_id, str(form.get("password", "")))
    except AccountError as exc:
        await notify(request, str(exc), error=True)
        raise web.HTTPSeeOther("/console/users") from None
    await audit(request, f"user_{change}", detail=account.username)
    await notify(request, f"已更新用户 {account.username}。")
    raise web.HTTPSeeOther("/console/users")


@requires("routing.view")
async def departments_page(request: web.Request) -> web.Response:
    accounts = await db(request.app[ACCOUNTS].all)
    handlers: dict[str, list[str]] = {}
    for account in accounts:
        if account.role == "department" and account.department:
            handlers.setdefault(account.department, []).append(account.username)
    return await render(
        request,
        "departments.html",
        {"rows": [(d, handlers.get(d, [])) for d in departments()]},
    )


@requires("routing.view")
async def routing_page(request: web.Request) -> web.Response:
    from bot.tickets.routing import load_routing

    router = load_routing()
    rows = []
    for code, label in categories():
        for district in districts():
            route = router.route(code, district)
            rows.append((label, district, route.lead, "、".join(route.co_handlers), route.rule))
    table = load_table("routing")
    return await render(
        request, "routing.html", {"rows": rows, "overrides": len(table.get("overrides") or [])}
    )
