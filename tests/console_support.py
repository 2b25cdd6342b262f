"""Helpers for the console tests: a real app on a real database, signed-in clients, seed tickets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.orm import Session, sessionmaker

from bot.accounts.users import Accounts
from bot.config import Settings
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.tickets.service import FiledTicket, TicketDraft, TicketService
from bot.web.app import create_app

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def settings_for(database_url: str, var_dir: Path) -> Settings:
    """The web app for console tests: no deadline sweep, no answered-ticket notifier. (The
    notifier's thread can still hold a database connection when its task is cancelled at
    shutdown; the engine is disposed under it and the connection is garbage-collected open.)"""
    return Settings(
        database_url=database_url, var_dir=var_dir, sweep_seconds=0, notice_poll_seconds=0
    )


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "every form carries a CSRF token"
    return found.group(1)


async def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns a CSRF token of the signed-in session."""
    page = await client.get("/console/login")
    token = csrf_of(await page.text())
    response = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token, "next": ""},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    page = await client.get("/console/tickets" if username != "admin" else "/console/users")
    return csrf_of(await page.text())


def draft(**overrides: object) -> TicketDraft:
    values: dict[str, object] = {
        "description": "洛龙区住建局拖欠我们工程款三十八万元，我电话13812345678，身份证410302199001011234",
        "organization": "洛龙区住房和城乡建设局",
        "district": "洛龙区",
        "phone": "13812345678",
        "sender_id": "web-1",
        "category": "arrears",
        "caller_type": "enterprise",
        "caller_name": "张伟",
        "enterprise_name": "洛阳恒达机械有限公司",
        "uscc": "91410300MA44ABCD1X",
        "amount": Decimal("380000"),
    }
    values.update(overrides)
    return TicketDraft(**values)  # type: ignore[arg-type]


@dataclass
class World:
    """Users of every role and two departments' tickets (one with a protected complainant)."""

    service: TicketService
    accounts: Accounts
    sessions: sessionmaker[Session]
    own: FiledTicket  # dispatched to the department user's department
    protected: FiledTicket  # same department, identity protected
    other: FiledTicket  # another department


def populate(sessions: sessionmaker[Session]) -> World:
    service = TicketService(sessions)
    accounts = Accounts(sessions)
    own = service.file(draft())
    protected = service.file(
        draft(
            identity_protected=True,
            caller_name="李秀兰",
            phone="13911112222",
            description="区住建局不兑现承诺，我是李秀兰，电话13911112222",
        )
    )
    other = service.file(
        draft(
            category="livelihood",
            district="涧西区",
            organization="某小区物业",
            description="小区停水三天了",
            caller_name="王芳",
            phone="13700001111",
            caller_type="citizen",
            enterprise_name=None,
            uscc=None,
            amount=None,
        )
    )
    assert own.department and other.department and own.department != other.department
    accounts.add("op", PASSWORD, "operator")
    accounts.add("dept", PASSWORD, "department", own.department)
    accounts.add("sup", PASSWORD, "supervisor")
    accounts.add("admin", PASSWORD, "admin")
    return World(service, accounts, sessions, own, protected, other)


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[World, TestServer]]:
    """A migrated database with the console's people and tickets, and the web app serving it."""
    upgrade(database_url)
    engine = make_engine(database_url)
    built = populate(make_session_factory(engine))
    server = TestServer(create_app(settings_for(database_url, tmp_path)))
    await server.start_server()
    try:
        yield built, server
    finally:
        await server.close()
        engine.dispose()
