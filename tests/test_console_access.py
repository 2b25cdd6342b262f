"""The console's access rules over HTTP against the real app and a real database (SQLite and
PostgreSQL): sign-in, CSRF, lock-out, roles, department scope, identity protection, audit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.store.models import AuditEntry, ConsoleSession
from bot.web.console.texts import LOGIN_LOCKED
from tests.console_support import (
    PASSWORD,
    World,
    csrf_of,
    sign_in,
)


@pytest.fixture
async def client_factory(world: tuple[World, TestServer]) -> AsyncIterator[object]:
    clients: list[TestClient] = []

    async def make() -> TestClient:
        client = TestClient(world[1])
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client._session.close()


def audit_rows(w: World, action: str) -> list[AuditEntry]:
    with w.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_pages_need_a_sign_in_and_the_cookie_holds_only_a_key(world, client_factory) -> None:
    client = await client_factory()
    response = await client.get("/console/tickets", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/console/login")
    token = csrf_of(await (await client.get("/console/login")).text())
    signed_in = await client.post(
        "/console/login",
        data={"username": "op", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert signed_in.status == 303
    cookie = signed_in.cookies["hotline_console"]
    assert len(cookie.value) == 64 and "op" not in cookie.value
    header = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/console/" in header
    assert "Secure" not in header  # plain HTTP here; Secure over HTTPS (X-Forwarded-Proto)
    page = await client.get("/console/tickets")
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    with world[0].sessions() as session:
        row = session.get(ConsoleSession, cookie.value)
        assert row is not None and '"user_id"' in row.data
    # A new key at sign-in: the anonymous session's key (from the login page) is gone.
    assert cookie.value != token
    behind_tls = await client.post(
        "/console/logout",
        data={"csrf_token": csrf_of(await page.text())},
        headers={"X-Forwarded-Proto": "https"},
        allow_redirects=False,
    )
    assert behind_tls.status == 303 and "Secure" in behind_tls.headers["Set-Cookie"]


async def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(world, client_factory) -> None:
    w, _ = world
    client = await client_factory()
    no_token = await client.post(
        "/console/login", data={"username": "op", "password": PASSWORD}, allow_redirects=False
    )
    assert no_token.status == 403 and "CSRF" in await no_token.text()
    token = await sign_in(client, "op")
    target = f"/console/tickets/{w.own.number}/act"
    for data in ({"action": "urge"}, {"action": "urge", "csrf_token": token[:-2] + "xx"}):
        response = await client.post(target, data=data, allow_redirects=False)
        assert response.status == 403
    assert [e.action for e in w.service.history(w.own.number)] == ["file", "dispatch"]
    ok = await client.post(target, data={"action": "urge", "csrf_token": token})
    assert ok.status == 200 and "操作成功" in await ok.text()
    assert w.service.history(w.own.number)[-1].action == "urge"
    # Another session's token is not this session's token.
    other = await client_factory()
    await sign_in(other, "sup")
    stolen = await other.post(target, data={"action": "urge", "csrf_token": token})
    assert stolen.status == 403


async def test_five_wrong_passwords_lock_the_account_until_an_admin_unlocks(
    world, client_factory
) -> None:
    w, _ = world
    client = await client_factory()
    token = csrf_of(await (await client.get("/console/login")).text())
    for _ in range(5):
        wrong = await client.post(
            "/console/login",
            data={"username": "op", "password": "wrong password", "csrf_token": token},
        )
        assert wrong.status == 401
    right = await client.post(
        "/console/login", data={"username": "op", "password": PASSWORD, "csrf_token": token}
    )
    assert right.status == 401 and LOGIN_LOCKED in await right.text()
    assert len(audit_rows(w, "login_failed")) == 6
    admin = await client_factory()
    admin_token = await sign_in(admin, "admin")
    users = await (await admin.get("/console/users")).text()
    assert "已锁定至" in users
    op_id = next(a.id for a in w.accounts.all() if a.username == "op")
    await admin.post(f"/console/users/{op_id}/unlock", data={"csrf_token": admin_token})
    assert audit_rows(w, "user_unlock")
    await sign_in(client, "op")  # asserts the 303 into the console


async def test_each_role_reaches_only_its_own_pages(world, client_factory) -> None:
    w, _ = world
    expectations = {
        "op": {"/console/tickets": 200, "/console/handoffs": 200, "/console/users": 403,
               "/console/audit": 403, "/console/dashboard": 403},
        "dept": {"/console/tickets": 200, "/console/handoffs": 403, "/console/users": 403,
                 "/console/dashboard": 403, "/console/integrity": 403},
        "sup": {"/console/tickets": 200, "/console/dashboard": 200, "/console/users": 403},
        "admin": {"/console/users": 200, "/console/audit": 200, "/console/routing": 200,
                  "/console/departments": 200, "/console/tickets": 403,
                  f"/console/tickets/{w.own.number}": 403},
    }  # fmt: skip
    for username, pages in expectations.items():
        client = await client_factory()
        await sign_in(client, username)
        for path, status in pages.items():
            response = await client.get(path, allow_redirects=False)
            assert response.status == status, (username, path)


async def test_a_department_never_reads_another_departments_ticket(world, client_factory) -> None:
    w, _ = world
    client = await client_factory()
    token = await sign_in(client, "dept")
    listing = await (await client.get("/console/tickets")).text()
    assert w.own.number in listing and w.other.number not in listing
    for query in (f"department={w.other.department}", "q=停水", "district=涧西区", "handoff=1"):
        page = await (await client.get(f"/console/tickets?{query}")).text()
        assert w.other.number not in page, query
    for path in (
        f"/console/tickets/{w.other.number}",
        f"/console/tickets/{w.other.number.lower()}",
    ):
        assert (await client.get(path)).status == 404
    for action in ("reveal", "act"):
        response = await client.post(
            f"/console/tickets/{w.other.number}/{action}",
            data={"csrf_token": token, "action": "sign"},
        )
        assert response.status == 404, action
    for kind in ("csv", "xlsx"):
        exported = await client.get(f"/console/export.{kind}?department={w.other.department}")
        assert exported.status == 200
        body = await exported.read()
        assert w.other.number.encode() not in body
    assert [e.action for e in w.service.history(w.other.number)] == ["file", "dispatch"]


async def test_a_protected_complainant_is_never_shown_to_the_department(
    world, client_factory
) -> None:
    w, _ = world
    client = await client_factory()
    token = await sign_in(client, "dept")
    secrets = ("李秀兰", "李*", "13911112222", "139****2222", "恒达", "91410300MA44ABCD1X")
    page = await (await client.get(f"/console/tickets/{w.protected.number}")).text()
    assert "身份保护" in page and "区住建局不兑现承诺" in page
    assert not [s for s in secrets if s in page]
    reveal = await client.post(
        f"/console/tickets/{w.protected.number}/reveal", data={"csrf_token": token}
    )
    assert reveal.status == 403
    assert not [s for s in secrets if s in await reveal.text()]
    listing = await (await client.get("/console/tickets")).text()
    assert w.protected.number in listing and not [s for s in secrets if s in listing]
    exported = (await (await client.get("/console/export.csv")).read()).decode("utf-8-sig")
    assert w.protected.number in exported and not [s for s in secrets if s in exported]
    # Unprotected tickets of its own department: masked, and revealable (audited).
    own = await (await client.get(f"/console/tickets/{w.own.number}")).text()
    assert "138****5678" in own and "13812345678" not in own
    full = await client.post(f"/console/tickets/{w.own.number}/reveal", data={"csrf_token": token})
    assert "13812345678" in await full.text()
    # The supervisor sees who complained, after asking, and that is audited.
    sup = await client_factory()
    sup_token = await sign_in(sup, "sup")
    revealed = await sup.post(
        f"/console/tickets/{w.protected.number}/reveal", data={"csrf_token": sup_token}
    )
    assert "李秀兰" in await revealed.text()
    assert {(r.username, r.ticket_number) for r in audit_rows(w, "reveal")} == {
        ("dept", w.own.number),
        ("sup", w.protected.number),
    }


async def test_personal_data_is_masked_until_revealed_and_the_reveal_is_audited(
    world, client_factory
) -> None:
    w, _ = world
    client = await client_factory()
    token = await sign_in(client, "op")
    page = await (await client.get(f"/console/tickets/{w.own.number}")).text()
    for masked in ("138****5678", "张*", "410302********1234", "9141************1X"):
        assert masked in page, masked
    for full in ("13812345678", "张伟", "410302199001011234", "洛阳恒达机械有限公司"):
        assert full not in page, full
    assert not audit_rows(w, "reveal")
    revealed = await (
        await client.post(f"/console/tickets/{w.own.number}/reveal", data={"csrf_token": token})
    ).text()
    for full in ("13812345678", "张伟", "410302199001011234", "洛阳恒达机械有限公司"):
        assert full in revealed, full
    [entry] = audit_rows(w, "reveal")
    assert (entry.username, entry.role, entry.ticket_number) == ("op", "operator", w.own.number)
    assert entry.remote == "127.0.0.1" and "13812345678" not in entry.detail
    # Revealing is for that response only: the next view is masked again.
    again = await (await client.get(f"/console/tickets/{w.own.number}")).text()
    assert "13812345678" not in again
    admin = await client_factory()
    await sign_in(admin, "admin")
    log = await (await admin.get(f"/console/audit?ticket={w.own.number}")).text()
    assert "查看完整个人信息" in log and "op" in log


async def test_signing_out_ends_the_session_on_the_server(world, client_factory) -> None:
    client = await client_factory()
    token = await sign_in(client, "op")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/console/"))[
        "hotline_console"
    ].value
    await client.post("/console/logout", data={"csrf_token": token})
    with world[0].sessions() as session:
        assert session.get(ConsoleSession, cookie) is None
    replay = await client.get(
        "/console/tickets", headers={"Cookie": f"hotline_console={cookie}"}, allow_redirects=False
    )
    assert replay.status == 303


async def test_a_disabled_account_loses_its_session_at_once(world, client_factory) -> None:
    w, _ = world
    client = await client_factory()
    await sign_in(client, "op")
    op_id = next(a.id for a in w.accounts.all() if a.username == "op")
    w.accounts.set_active(op_id, False)
    response = await client.get("/console/tickets", allow_redirects=False)
    assert response.status == 303
