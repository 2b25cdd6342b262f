"""Our web service over HTTP (the real stack): security headers on every page — the console
signed in as each role, the chat, the enterprise pages, static files, errors —, no inline script
anywhere, Secure cookies behind HTTPS, 413 for big bodies, and the per-sender message rate."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from pathlib import Path

import pytest
import requests

from bot.accounts.users import Accounts
from bot.config import Settings
from bot.conversations.message_rate import load_message_limits
from bot.store.db import make_engine, make_session_factory
from bot.web.app import create_app
from tests.conftest import RunningStack
from tests.console_support import PASSWORD, csrf_of
from tests.enterprise_support import Service as EnterpriseService
from tests.gateway_support import conversations_of, messages_of
from tests.wechat_harness import running_wechat

pytestmark = pytest.mark.stack

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style|<[^>]+\sstyle\s*=", re.I)


def _get_paths(tmp_path: Path) -> list[str]:
    """Every GET route of the app without a path parameter (WeChat on, to list its route)."""
    settings = Settings(var_dir=tmp_path, wechat_token="t", wechat_appid="a", wechat_secret="s")
    paths = []
    for route in create_app(settings).router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path")
        if route.method == "GET" and path:
            paths.append(path)
    return paths


def _check_headers(response: requests.Response) -> None:
    where = f"{response.request.method} {response.url} → {response.status_code}"
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives.get("script-src") == "'self'", where
    assert directives.get("frame-ancestors") == "'none'", where
    assert directives.get("object-src") == "'none'", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "same-origin", where
    assert response.headers.get("X-Frame-Options") == "DENY", where


def _check_page(response: requests.Response, *, console: bool) -> None:
    _check_headers(response)
    if "text/html" not in response.headers.get("Content-Type", ""):
        return
    assert not INLINE_SCRIPT.search(response.text), response.url
    assert not HANDLER.search(response.text), response.url
    if not console:  # the public pages' policy has no 'unsafe-inline' for styles either
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert not INLINE_STYLE.search(response.text), response.url


def _signed_in(stack: RunningStack, role: str) -> requests.Session:
    name = f"{role[:4]}-{uuid.uuid4().hex[:8]}"
    department = "洛阳市城市管理局" if role == "department" else None
    Accounts(make_session_factory(stack.engine)).add(name, PASSWORD, role, department)
    session = requests.Session()
    base = f"{stack.settings.web_url}/console"
    token = csrf_of(session.get(f"{base}/login", timeout=10).text)
    response = session.post(
        f"{base}/login",
        data={"username": name, "password": PASSWORD, "csrf_token": token, "next": ""},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303
    return session


def test_every_page_carries_the_security_headers(stack: RunningStack, tmp_path: Path) -> None:
    web = stack.settings.web_url
    paths = _get_paths(tmp_path)
    assert "/" in paths and "/console/lookups" in paths and "/enterprise/register" in paths
    visitors = {
        "anonymous": requests.Session(),
        **{role: _signed_in(stack, role) for role in ("operator", "supervisor", "admin")},
    }
    seen = 0
    for who, session in visitors.items():
        for path in paths:
            if who != "anonymous" and not path.startswith("/console/"):
                continue  # signed-in visitors: the console's pages as each role sees them
            with session.get(f"{web}{path}", timeout=30, stream=True, allow_redirects=False) as r:
                if path == "/api/chat/events":  # a stream: its headers are what counts
                    _check_headers(r)
                    continue
                r.content  # noqa: B018 - read the page
                _check_page(r, console=path.startswith("/console/"))
                seen += 1
    for extra in ("/static/chat.js", "/static/vendor/echarts.min.js", "/no-such-page"):
        _check_page(requests.get(f"{web}{extra}", timeout=10), console=False)
    assert seen > 40


def test_cookies_are_secure_behind_https_and_only_then(stack: RunningStack) -> None:
    web = stack.settings.web_url
    plain = requests.get(f"{web}/", timeout=10)
    assert "hotline_sid=" in plain.headers["Set-Cookie"]
    assert "secure" not in plain.headers["Set-Cookie"].lower()
    assert "Strict-Transport-Security" not in plain.headers
    proxied = requests.get(f"{web}/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert "; Secure" in proxied.headers["Set-Cookie"]
    assert "HttpOnly" in proxied.headers["Set-Cookie"]
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
    login = requests.get(f"{web}/console/login", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert all("; Secure" in c for c in login.raw.headers.getlist("Set-Cookie"))


def test_a_body_over_64_kib_is_refused_with_413_in_chinese(stack: RunningStack) -> None:
    web = stack.settings.web_url
    big = {"message": "投诉" * 40_000}
    chat = requests.post(f"{web}/api/chat", json=big, timeout=10)
    assert chat.status_code == 413
    assert chat.json()["error"] == "内容太长了，请精简后再发送。"
    _, token = EnterpriseService(web, stack.settings).register(secrets.randbelow(10**9))
    api = requests.post(
        f"{web}/api/v1/enterprise/reports",
        json={"description": "x" * 70_000},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"
    assert not api.json()["error"]["message"].isascii()
    console = requests.post(f"{web}/console/login", data={"username": "x" * 70_000}, timeout=10)
    assert console.status_code == 413 and "内容太长" in console.text
    assert "Maximum" not in console.text and "Traceback" not in console.text


def test_the_web_chat_answers_a_fast_sender_politely(stack: RunningStack) -> None:
    limits = load_message_limits()
    person = requests.Session()
    web = stack.settings.web_url
    started = time.monotonic()
    for i in range(limits.per_minute):
        reply = person.post(f"{web}/api/chat", json={"message": f"你好{i}"}, timeout=60)
        assert reply.status_code == 200, reply.text
    over = person.post(f"{web}/api/chat", json={"message": "你好"}, timeout=60)
    elapsed = time.monotonic() - started
    assert elapsed < 55, f"{limits.per_minute} messages took {elapsed:.0f} s: the test needs < 60"
    assert over.status_code == 429
    assert over.json()["error"] == limits.refused
    # Not recorded, not relayed; another person is not slowed down.
    [conversation] = conversations_of(stack.engine, person.cookies["hotline_sid"])
    inbound = sum(m.direction == "in" for m in messages_of(stack.engine, conversation.id))
    assert inbound == limits.per_minute
    assert requests.post(f"{web}/api/chat", json={"message": "你好"}, timeout=60).ok


async def test_wechat_answers_a_fast_sender_politely(stack: RunningStack, tmp_path: Path) -> None:
    limits = load_message_limits()
    openid = f"o-rate-{uuid.uuid4().hex[:8]}"
    async with running_wechat(stack, tmp_path) as wechat:
        for i in range(limits.per_minute):
            assert await wechat.answer(openid, f"你好{i}") != limits.refused
        assert await wechat.say(openid, "你好") == limits.refused
    [conversation] = conversations_of(stack.engine, openid)
    inbound = sum(m.direction == "in" for m in messages_of(stack.engine, conversation.id))
    assert inbound == limits.per_minute


def test_the_access_log_names_each_request_without_its_query(stack: RunningStack) -> None:
    """One-time chat codes and WeChat openids travel in query strings: the web service's access
    log keeps method, path, status and time, never the query."""
    web = stack.settings.web_url
    secret = "qs" + secrets.token_hex(6)
    assert requests.get(f"{web}/enterprise/chat?code={secret}", timeout=10).status_code < 500
    log = stack.settings.var_dir / "logs" / "web.log"
    deadline = time.monotonic() + 10
    while "GET /enterprise/chat " not in log.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "the request never reached the access log"
        time.sleep(0.1)
    text = log.read_text(encoding="utf-8")
    assert secret not in text
    assert re.search(r"GET /enterprise/chat \d{3} \d+\.\dms", text)


def test_a_script_that_drops_its_cookie_is_slowed_down_by_its_address(
    stack: RunningStack, sqlite_url: str, tmp_path: Path
) -> None:
    """Every message a new sender (no cookie kept): the per-sender count never trips, the
    per-address one does (limits.yml `per_ip_per_minute`), for that address only. Behind a
    trusted proxy the address is the one it forwards; loopback itself is never counted."""
    from bot.store.migrate import upgrade
    from tests.enterprise_support import running_service

    limits = load_message_limits()
    assert 0 < limits.per_ip_per_minute < 200  # the test sends that many, keep it quick
    upgrade(sqlite_url)
    with running_service(
        sqlite_url, stack.settings, tmp_path, trusted_proxies=("127.0.0.1",)
    ) as web:

        def send(address: str | None, text: str = "你好") -> requests.Response:
            headers = {"X-Forwarded-For": address} if address else {}
            return requests.post(
                f"{web.url}/api/chat", json={"message": text}, headers=headers, timeout=60
            )

        # A token bucket: the burst is the per-minute figure, refilled at per-minute / 60 a
        # second while the burst is being sent.
        started = time.monotonic()
        accepted = 0
        over = send("203.0.113.9", "你好0")
        while over.status_code == 200 and accepted < 2 * limits.per_ip_per_minute:
            accepted += 1
            over = send("203.0.113.9", f"你好{accepted}")
        refill = (time.monotonic() - started) * limits.per_ip_per_minute / 60
        assert over.status_code == 429 and over.json()["error"] == limits.refused
        assert limits.per_ip_per_minute <= accepted <= limits.per_ip_per_minute + refill + 1
        assert send("203.0.113.10").status_code == 200  # another address
        assert send("2001:db8::1").status_code == 200
        assert send(None).status_code == 200  # loopback, not counted
    with make_session_factory(make_engine(sqlite_url))() as session:
        from sqlalchemy import func, select

        from bot.store.models import ConversationMessage

        inbound = session.scalar(
            select(func.count(ConversationMessage.id)).where(ConversationMessage.direction == "in")
        )
    assert inbound == accepted + 3  # the refused one was not recorded
