"""One set of cookie flags for the whole web service (bot/web/security.cookie_flags), over HTTP
against the real app: SameSite=Lax everywhere (a person arriving from a link keeps their
conversation or console session), Secure and HSTS behind HTTPS — and in the production profile
always, whatever the terminator in front said, except to a loopback client (our own tools)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.web.app import create_app
from tests.console_support import settings_for

PAGES = ("/", "/console/login", "/enterprise/register")


@pytest.fixture
async def client_for(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    from bot.store.migrate import upgrade

    upgrade(sqlite_url)
    clients: list[TestClient] = []

    async def make(profile: str) -> TestClient:
        settings: Settings = dataclasses.replace(
            settings_for(sqlite_url, tmp_path), profile=profile, trusted_proxies=("127.0.0.1",)
        )
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def _cookies(client: TestClient, headers: dict[str, str]) -> tuple[list[str], bool]:
    """Every Set-Cookie line of the pages that set one (for a new visitor), and whether each
    page sent HSTS."""
    client.session.cookie_jar.clear()
    lines: list[str] = []
    hsts = []
    for path in PAGES:
        response = await client.get(path, headers=headers)
        assert response.status == 200, path
        found = response.headers.getall("Set-Cookie", [])
        assert found, path
        lines += found
        hsts.append("Strict-Transport-Security" in response.headers)
    assert len(set(hsts)) == 1
    return lines, hsts[0]


async def test_cookies_are_lax_and_secure_only_behind_https_by_default(client_for) -> None:
    client = await client_for("default")
    plain, hsts = await _cookies(client, {"X-Forwarded-For": "203.0.113.5"})
    assert all("SameSite=Lax" in c and "HttpOnly" in c for c in plain), plain
    assert not any("secure" in c.lower() for c in plain) and not hsts
    behind_tls, hsts = await _cookies(
        client, {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}
    )
    assert all("Secure" in c and "SameSite=Lax" in c for c in behind_tls) and hsts


async def test_the_production_profile_marks_cookies_secure_always(client_for) -> None:
    client = await client_for("production")
    # The terminator in front forgot (or nginx overwrote) X-Forwarded-Proto: Secure all the same.
    public, hsts = await _cookies(client, {"X-Forwarded-For": "203.0.113.5"})
    assert all("Secure" in c and "SameSite=Lax" in c for c in public), public
    assert hsts
    ipv6, hsts = await _cookies(client, {"X-Forwarded-For": "2001:db8::5"})
    assert all("Secure" in c for c in ipv6) and hsts
    # The machine's own tools on plain HTTP (loopback): cookies they can send back.
    local, hsts = await _cookies(client, {})
    assert not any("secure" in c.lower() for c in local) and not hsts
