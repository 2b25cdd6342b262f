"""An admin edits accounts through HTTP: role and department, disable/enable, password reset
(typed, or made up and shown once) — every change CSRF-checked and audited, the account's
sessions ending where its rights change, and never the last admin taken away."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.store.models import AuditEntry
from tests.console_support import PASSWORD, World, csrf_of, sign_in

Clients = Callable[[], Awaitable[TestClient]]


@pytest.fixture
async def clients(world: tuple[World, TestServer]) -> AsyncIterator[Clients]:
    made: list[TestClient] = []

    async def make() -> TestClient:
        client = TestClient(world[1])
        await client.start_server()
        made.append(client)
        return client

    yield make
    for client in made:
        await client._session.close()


async def sign_in_admin(client: TestClient, username: str) -> str:
    """Like sign_in, for an admin not named admin (admins have no ticket queue)."""
    page = await client.get("/console/login")
    await client.post(
        "/console/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(await page.text())},
    )
    return csrf_of(await (await client.get("/console/users")).text())


def user_id(w: World, name: str) -> int:
    return next(a.id for a in w.accounts.all() if a.username == name)


def audit_details(w: World, action: str) -> list[str]:
    with w.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry.detail)
                .where(AuditEntry.action == action, AuditEntry.username == "admin")
                .order_by(AuditEntry.id)
            )
        )


async def test_an_admin_changes_a_role_and_a_department(world, clients: Clients) -> None:
    w, _ = world
    admin, op = await clients(), await clients()
    token = await sign_in(admin, "admin")
    await sign_in(op, "op")
    target = f"/console/users/{user_id(w, 'op')}/role"
    # Without the form's token nothing changes.
    forged = await admin.post(target, data={"role": "supervisor"})
    assert forged.status == 403
    assert w.accounts.get(user_id(w, "op")).role == "operator"  # type: ignore[union-attr]
    # A department handler needs a department of the routing table.
    refused = await admin.post(
        target, data={"csrf_token": token, "role": "department", "department": "不存在的局"}
    )
    assert "必须绑定一个单位" in await refused.text()
    department = w.other.department
    moved = await admin.post(
        target, data={"csrf_token": token, "role": "department", "department": department}
    )
    page = await moved.text()
    assert "已更新用户 op" in page
    account = w.accounts.get(user_id(w, "op"))
    assert account is not None and (account.role, account.department) == ("department", department)
    # The changed role ends op's session at once: the next request is sent to sign in.
    assert (await op.get("/console/tickets", allow_redirects=False)).status == 303
    await sign_in(op, "op")
    queue = await (await op.get("/console/tickets")).text()
    assert w.other.number in queue and w.own.number not in queue  # the new department's scope
    assert audit_details(w, "user_role") == [f"op：承办单位（{department}）"]
    assert audit_details(w, "user_refused")


async def test_the_last_admin_cannot_be_disabled_or_demoted(world, clients: Clients) -> None:
    w, _ = world
    admin = await clients()
    token = await sign_in(admin, "admin")
    me = user_id(w, "admin")
    for step, data in (("disable", {}), ("role", {"role": "operator"})):
        page = await (
            await admin.post(f"/console/users/{me}/{step}", data={"csrf_token": token, **data})
        ).text()
        assert "最后一位在用的系统管理员" in page
    assert w.accounts.get(me).role == "admin" and w.accounts.get(me).active  # type: ignore[union-attr]
    # With a second admin the first may step down; the second is then the last one.
    await admin.post(
        "/console/users",
        data={"csrf_token": token, "username": "admin2", "password": PASSWORD, "role": "admin"},
    )
    second = await clients()
    token2 = await sign_in_admin(second, "admin2")
    page = await (
        await second.post(
            f"/console/users/{me}/role", data={"csrf_token": token2, "role": "supervisor"}
        )
    ).text()
    assert "已更新用户 admin" in page
    refused = await second.post(
        f"/console/users/{user_id(w, 'admin2')}/disable", data={"csrf_token": token2}
    )
    assert "最后一位在用的系统管理员" in await refused.text()
    # A disabled admin does not count either.
    await second.post(f"/console/users/{me}/role", data={"csrf_token": token2, "role": "admin"})
    await second.post(f"/console/users/{me}/disable", data={"csrf_token": token2})
    assert not w.accounts.get(me).active  # type: ignore[union-attr]
    last = await second.post(
        f"/console/users/{user_id(w, 'admin2')}/role",
        data={"csrf_token": token2, "role": "operator"},
    )
    assert "最后一位在用的系统管理员" in await last.text()
    await second.post(f"/console/users/{me}/enable", data={"csrf_token": token2})
    assert w.accounts.get(me).active  # type: ignore[union-attr]


async def test_a_reset_password_is_shown_once_and_ends_the_sessions(
    world, clients: Clients
) -> None:
    w, _ = world
    admin, sup = await clients(), await clients()
    token = await sign_in(admin, "admin")
    await sign_in(sup, "sup")
    target = f"/console/users/{user_id(w, 'sup')}/password"
    assert (await admin.post(target, data={"generate": "1"})).status == 403  # no CSRF token
    shown = await admin.post(target, data={"csrf_token": token, "generate": "1"})
    assert shown.status == 200 and shown.headers["Cache-Control"] == "no-store"
    found = re.search(r'id="new-password-value">([^<]+)<', await shown.text())
    assert found and len(found.group(1)) == 14
    new_password = found.group(1)
    # Shown on that response only: the next page view does not carry it.
    assert new_password not in await (await admin.get("/console/users")).text()
    assert (await sup.get("/console/tickets", allow_redirects=False)).status == 303
    await sign_in(sup, "sup", new_password)
    # Typed by the admin: too short is refused, a good one works, the old one does not.
    short = await admin.post(target, data={"csrf_token": token, "password": "kurz"})
    assert "密码至少 10 位" in await short.text()
    await admin.post(target, data={"csrf_token": token, "password": "another good password"})
    assert (await sup.get("/console/tickets", allow_redirects=False)).status == 303
    await sign_in(sup, "sup", "another good password")
    details = audit_details(w, "user_password")
    assert details[0].startswith("sup（系统生成，结束 1 个会话") and new_password not in details[0]
    assert details[1].startswith("sup（管理员输入，结束 1 个会话")
    log = await (await admin.get("/console/audit")).text()
    assert "重置密码" in log


async def test_only_admins_edit_accounts(world, clients: Clients) -> None:
    w, _ = world
    for name in ("op", "sup", "dept"):
        client = await clients()
        token = await sign_in(client, name)
        for step, data in (("role", {"role": "admin"}), ("password", {"generate": "1"})):
            response = await client.post(
                f"/console/users/{user_id(w, name)}/{step}", data={"csrf_token": token, **data}
            )
            assert response.status == 403
        assert w.accounts.get(user_id(w, name)).role != "admin"  # type: ignore[union-attr]
