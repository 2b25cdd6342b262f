"""Console sign-in throttling over HTTP, on SQLite and PostgreSQL: failures lock a name for one
address only, an address over its limit is refused before any password is hashed, a locked
name and an unknown one answer alike, and the hash runs on the console's own thread pool."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.accounts import users as accounts_module
from bot.accounts.users import MAX_ADDRESS_FAILURES, MAX_FAILURES
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import AuditEntry
from bot.web.app import create_app
from bot.web.console.texts import LOGIN_LOCKED, LOGIN_WRONG
from tests.console_support import PASSWORD, World, csrf_of, populate, settings_for

A = "203.0.113.7"
B = "198.51.100.20"


@dataclasses.dataclass
class Hashes:
    """Every argon2 verification the console runs, with the thread that ran it."""

    threads: list[str] = dataclasses.field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.threads)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Hashes:
    seen = Hashes()
    verify: Callable[[str, str], bool] = accounts_module._verify

    def counted(hashed: str, password: str) -> bool:
        seen.threads.append(threading.current_thread().name)
        return verify(hashed, password)

    monkeypatch.setattr(accounts_module, "_verify", counted)
    return seen


@pytest.fixture
async def behind_proxy(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[World, TestClient]]:
    """The console behind a trusted proxy (loopback, as nginx in the production profile): each
    request's address is the X-Forwarded-For it sends."""
    upgrade(database_url)
    engine = make_engine(database_url)
    world = populate(make_session_factory(engine))
    settings = dataclasses.replace(
        settings_for(database_url, tmp_path), trusted_proxies=("127.0.0.1",)
    )
    server = TestServer(create_app(settings))
    client = TestClient(server)
    await client.start_server()
    try:
        yield world, client
    finally:
        await client.close()
        engine.dispose()


async def _try(client: TestClient, username: str, password: str, address: str) -> tuple[int, str]:
    page = await client.get("/console/login", headers={"X-Forwarded-For": address})
    response = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(await page.text())},
        headers={"X-Forwarded-For": address},
        allow_redirects=False,
    )
    return response.status, await response.text()


def _message(html: str) -> str:
    for text in (LOGIN_LOCKED, LOGIN_WRONG):
        if text in html:
            return text
    return ""


async def test_wrong_passwords_from_one_address_do_not_lock_the_operator_out_elsewhere(
    behind_proxy: tuple[World, TestClient], hashes: Hashes
) -> None:
    w, client = behind_proxy
    for _ in range(MAX_FAILURES - 1):
        assert _message((await _try(client, "op", "wrong password", A))[1]) == LOGIN_WRONG
    status, html = await _try(client, "op", "wrong password", A)
    assert status == 401 and _message(html) == LOGIN_LOCKED  # the failure that locked it
    # Locked from A: there even the right password is refused, and not hashed.
    before = hashes.count
    status, html = await _try(client, "op", PASSWORD, A)
    assert (status, _message(html)) == (401, LOGIN_LOCKED) and hashes.count == before
    # The operator at the office (address B) signs in as usual.
    status, _ = await _try(client, "op", PASSWORD, B)
    assert status == 303
    # The admin sees the lock and lifts it, for every address.
    op = next(a for a in w.accounts.all() if a.username == "op")
    assert op.locked_until is not None
    w.accounts.unlock(op.id)
    assert (await _try(client, "op", PASSWORD, A))[0] == 303


async def test_an_ipv6_client_is_counted_by_its_64(
    behind_proxy: tuple[World, TestClient], hashes: Hashes
) -> None:
    _, client = behind_proxy
    for n in range(MAX_FAILURES):
        await _try(client, "op", "wrong password", f"2001:db8:7:7::{n + 1:x}")
    status, html = await _try(client, "op", PASSWORD, "2001:db8:7:7:ffff::9")
    assert (status, _message(html)) == (401, LOGIN_LOCKED)
    assert (await _try(client, "op", PASSWORD, "2001:db8:7:8::1"))[0] == 303


async def test_a_locked_name_and_an_unknown_name_answer_alike(
    behind_proxy: tuple[World, TestClient], hashes: Hashes
) -> None:
    _, client = behind_proxy
    answers: dict[str, list[tuple[int, str]]] = {"op": [], "ghost": []}
    work: dict[str, int] = {}
    for name, seen in answers.items():
        before = hashes.count
        for _ in range(MAX_FAILURES + 2):
            status, html = await _try(client, name, "wrong password", A)
            seen.append((status, _message(html)))
        work[name] = hashes.count - before
    assert answers["op"] == answers["ghost"]
    assert answers["op"][-1] == (401, LOGIN_LOCKED) and answers["op"][0] == (401, LOGIN_WRONG)
    assert work["op"] == work["ghost"] == MAX_FAILURES


async def test_an_address_over_its_limit_is_refused_before_any_hash_on_its_own_pool(
    behind_proxy: tuple[World, TestClient], hashes: Hashes
) -> None:
    w, client = behind_proxy
    # A different name each time: no (name, address) pair is locked, only the address counts.
    for n in range(MAX_ADDRESS_FAILURES):
        status, html = await _try(client, f"guess{n}", "wrong password", A)
        assert (status, _message(html)) == (401, LOGIN_WRONG), n
    assert hashes.count == MAX_ADDRESS_FAILURES
    assert {name.split("_")[0] for name in hashes.threads} == {"console-argon2"}
    for name, password in (("guess-new", "wrong password"), ("op", PASSWORD)):
        status, html = await _try(client, name, password, A)
        assert (status, _message(html)) == (401, LOGIN_LOCKED)
    assert hashes.count == MAX_ADDRESS_FAILURES  # refused without a hash
    assert (await _try(client, "op", PASSWORD, B))[0] == 303
    assert hashes.count == MAX_ADDRESS_FAILURES + 1


async def test_the_audit_log_records_the_clients_address_not_the_proxys(
    behind_proxy: tuple[World, TestClient],
) -> None:
    w, client = behind_proxy
    assert (await _try(client, "op", "wrong password", A))[0] == 401
    assert (await _try(client, "op", PASSWORD, B))[0] == 303
    with w.sessions() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.remote).order_by(AuditEntry.id)
        ).all()
    assert [tuple(r) for r in rows] == [("login_failed", A), ("login", B)]
