"""Admin pages: accounts (add, unlock, disable/enable, role and department, reset password),
departments, the routing table. Every change is a CSRF-checked POST and audited; the last
active admin cannot be disabled or demoted (bot/accounts/users.py)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from bot.accounts.users import ROLES, AccountError, generate_password
from bot.domain.tables import load_table
from bot.web.console.access import audit, requires
from bot.web.console.auth import STORAGE
from bot.web.console.keys import ACCOUNTS
from bot.web.console.pages import categories, db, departments, districts, notify, render
from bot.web.console.texts import ROLE_LABELS
from bot.web.params import ID_PATTERN


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/users", users_page, name="users")
    app.router.add_post("/users", add_user)
    app.router.add_post(
        f"/users/{{id:{ID_PATTERN}}}/{{change:unlock|disable|enable|role}}", change_user
    )
    app.router.add_post(f"/users/{{id:{ID_PATTERN}}}/password", reset_password)
    app.router.add_get("/departments", departments_page, name="departments")
    app.router.add_get("/routing", routing_page, name="routing")


@requires("users.manage")
async def users_page(request: web.Request) -> web.Response:
    return await _users(request)


async def _users(request: web.Request, **extra: object) -> web.Response:
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
            **extra,
        },
    )


def _department(value: object) -> str | None:
    """Only a department of the routing table; anything else is no department."""
    name = str(value or "")
    return name if name in departments() else None


@requires("users.manage")
async def add_user(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = str(form.get("username", ""))
    role = str(form.get("role", ""))
    department = _department(form.get("department"))
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
            role = str(form.get("role", ""))
            account = await db(
                accounts.set_role, user_id, role, _department(form.get("department"))
            )
    except AccountError as exc:
        await audit(request, "user_refused", detail=f"{change} 用户 {user_id}：{exc}")
        await notify(request, str(exc), error=True)
        raise web.HTTPSeeOther("/console/users") from None
    detail = account.username
    if change == "role":
        detail += f"：{ROLE_LABELS[account.role]}{f'（{account.department}）' if account.department else ''}"
    await audit(request, f"user_{change}", detail=detail)
    await notify(request, f"已更新用户 {account.username}。")
    raise web.HTTPSeeOther("/console/users")


@requires("users.manage")
async def reset_password(request: web.Request) -> web.StreamResponse:
    """A password the admin types, or one made up here and shown once on this response only
    (never stored in the session or a log). Every session of that account ends."""
    form = await request.post()
    user_id = int(request.match_info["id"])
    generated = form.get("generate") == "1"
    password = generate_password() if generated else str(form.get("password", ""))
    try:
        account = await db(request.app[ACCOUNTS].set_password, user_id, password)
    except AccountError as exc:
        await notify(request, str(exc), error=True)
        raise web.HTTPSeeOther("/console/users") from None
    ended = await db(request.app[STORAGE].forget_user, user_id)
    await audit(
        request,
        "user_password",
        detail=f"{account.username}（{'系统生成' if generated else '管理员输入'}，结束 {ended} 个会话）",
    )
    if generated:
        return await _users(request, new_password=(account.username, password))
    await notify(request, f"已重置 {account.username} 的密码，其已登录的会话均已结束。")
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
