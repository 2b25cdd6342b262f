"""The client's address (bot/web/security.client_ip) over HTTP: X-Forwarded-For is believed only
from a proxy in HOTLINE_TRUSTED_PROXIES (an address or a network); from anyone else it is
ignored and logged as a warning, once per peer — behind a proxy nobody declared, every citizen
would share the proxy's address and its per-address limits."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import AuditEntry
from bot.web import security
from bot.web.app import create_app
from tests.console_support import csrf_of, populate, settings_for


@pytest.fixture
async def console_for(
    sqlite_url: str, tmp_path: Path
) -> AsyncIterator[Callable[[tuple[str, ...]], object]]:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    populate(make_session_factory(engine))
    clients: list[TestClient] = []

    async def make(trusted: tuple[str, ...]) -> TestClient:
        settings = dataclasses.replace(settings_for(sqlite_url, tmp_path), trusted_proxies=trusted)
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
    engine.dispose()


async def _failed_login_from(client: TestClient, forwarded: str) -> None:
    page = await client.get("/console/login")
    await client.post(
        "/console/login",
        data={"username": "op", "password": "wrong", "csrf_token": csrf_of(await page.text())},
        headers={"X-Forwarded-For": forwarded},
    )


def _recorded(sqlite_url: str) -> list[str]:
    engine = make_engine(sqlite_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(AuditEntry.remote).order_by(AuditEntry.id)))
    finally:
        engine.dispose()


async def test_a_forwarded_address_from_an_untrusted_peer_is_ignored_and_warned_about(
    console_for, sqlite_url: str, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    monkeypatch.setattr(security, "_warned", set())
    client = await console_for(())
    with caplog.at_level(logging.WARNING, logger="bot.web.security"):
        await _failed_login_from(client, "203.0.113.50")
        await _failed_login_from(client, "203.0.113.51")
    warnings = [r for r in caplog.records if "HOTLINE_TRUSTED_PROXIES" in r.getMessage()]
    assert len(warnings) == 1 and "127.0.0.1" in warnings[0].getMessage()
    assert _recorded(sqlite_url) == ["127.0.0.1", "127.0.0.1"]


async def test_a_trusted_network_forwards_the_clients_address(console_for, sqlite_url: str) -> None:
    client = await console_for(("127.0.0.0/8",))
    await _failed_login_from(client, "198.51.100.1, 203.0.113.60")
    assert _recorded(sqlite_url) == ["203.0.113.60"]  # the hop nginx appended, not the client's
