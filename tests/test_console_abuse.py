"""Small abuses of the console over HTTP, on SQLite and PostgreSQL: a department's search is no
oracle on a protected complainant's text, and numbers no handler can use (5,000 digits, wider
than an id column, superscript digits) get a 4xx page in Chinese, never a 500."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.console_support import World, sign_in

HAN = re.compile(r"[\u4e00-\u9fff]")
NUMBERS = ["9" * 5000, "9" * 20, "99999999999", "²", "１２", "-1"]


async def _client(server: TestServer, username: str) -> tuple[TestClient, str]:
    client = TestClient(server)
    await client.start_server()
    return client, await sign_in(client, username)


async def test_a_departments_search_does_not_look_into_protected_tickets(
    world: tuple[World, TestServer],
) -> None:
    w, server = world
    dept, _ = await _client(server, "dept")
    op, _ = await _client(server, "op")
    try:
        # The protected complainant's own name and words are in the stored text.
        for words in ("李秀兰", "13911112222", "不兑现承诺"):
            found = await (await dept.get("/console/tickets", params={"q": words})).text()
            assert w.protected.number not in found, words
            seen = await (await op.get("/console/tickets", params={"q": words})).text()
            assert w.protected.number in seen, words  # operators may reveal: they find it
        # The department still searches its own unprotected tickets.
        found = await (await dept.get("/console/tickets", params={"q": "住建局"})).text()
        assert w.own.number in found and w.protected.number not in found
        export = await (await dept.get("/console/export.csv", params={"q": "李秀兰"})).read()
        assert w.protected.number.encode() not in export
    finally:
        await dept.close()
        await op.close()


@pytest.mark.parametrize(
    ("username", "method", "template"),
    [
        ("op", "get", "/console/tickets?after={n}"),
        ("op", "get", "/console/handoffs/{n}"),
        ("op", "get", "/console/handoffs/1/messages?after={n}"),
        ("op", "get", "/console/review/messages/{n}"),
        ("op", "get", "/console/conversations/{n}"),
        ("sup", "get", "/console/api/dashboard.json?days={n}"),
        ("sup", "get", "/console/api/dashboard.json?n={n}"),
        ("sup", "get", "/console/dashboard?days={n}"),
        ("admin", "get", "/console/audit?before={n}"),
        ("admin", "post", "/console/users/{n}/unlock"),
        ("admin", "post", "/console/enterprises/{n}/suspend"),
    ],
)
async def test_numbers_nobody_can_use_get_a_polite_answer(
    world: tuple[World, TestServer], username: str, method: str, template: str
) -> None:
    _, server = world
    client, token = await _client(server, username)
    try:
        for number in NUMBERS:
            path = template.format(n=number)
            data = {"csrf_token": token, "reason": "核实"} if method == "post" else None
            response = await client.request(method, path, data=data, allow_redirects=False)
            assert response.status < 500, (path[:80], response.status)
            if response.status >= 400:
                assert HAN.search(await response.text()), path[:80]
    finally:
        await client.close()
