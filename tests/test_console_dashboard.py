"""The dashboard's figures (三率, on-time shares, hot spots, counts over time) and the integrity
board: the definitions checked on hand-made histories, then the JSON and exports over HTTP."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.tickets import stats
from bot.tickets.service import TicketService
from bot.web.app import create_app
from tests.console_support import World, draft, populate, settings_for, sign_in

MONDAY = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # 10:00 in Luoyang, a working day
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def sessions(database_url: str) -> AsyncIterator[sessionmaker[Session]]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_the_three_rates_and_on_time_shares_follow_their_definitions(sessions) -> None:
    clock = [MONDAY]
    service = TicketService(sessions, clock=lambda: clock[0])

    def at(moment: dt.datetime) -> None:
        clock[0] = moment

    # A: signed and answered on time, closed, 满意.
    a = service.file(draft(sender_id="a")).number
    # B: never signed; its signing deadline (Tue 17:30) has passed by NOW.
    service.file(draft(sender_id="b"))
    # C: signed late (Wednesday), answered, closed, 不满意 → reopened.
    c = service.file(draft(sender_id="c")).number
    at(MONDAY + dt.timedelta(hours=1))
    service.act(a, "sign", actor="d")
    service.act(a, "answer", actor="d", note="ok")
    service.act(a, "close", actor="o")
    service.rate(a, "满意")
    at(MONDAY + dt.timedelta(days=2))
    service.act(c, "sign", actor="d")
    service.act(c, "answer", actor="d", note="ok")
    service.act(c, "close", actor="o")
    service.rate(c, "不满意", "没解决")
    # E: filed three weeks earlier, signed, its 13-working-day answer deadline lapsed unanswered.
    at(MONDAY - dt.timedelta(days=21))
    e = service.file(draft(sender_id="e")).number
    service.act(e, "sign", actor="d")
    # D: filed just before NOW: not due to be signed yet, in no denominator.
    at(NOW - dt.timedelta(hours=1))
    service.file(draft(sender_id="d"))

    facts = stats.load_facts(sessions, MONDAY - dt.timedelta(days=30), NOW)
    rates = stats.rates(facts, NOW)
    counts = rates["counts"]
    # 响应率: signed by the deadline / dispatched and due to be signed (A, B, C, E; D not yet due).
    assert (counts["signed_on_time"], counts["sign_due"]) == (2, 4)  # A and E on time
    assert rates["response"] == 0.5
    # 解决率: closed / answered or past the answer deadline (A closed; C reopened; E lapsed).
    assert (counts["resolved"], counts["answer_due"]) == (1, 3)
    # 满意率: 满意 + 基本满意 / rated (A 满意, C 不满意).
    assert rates["satisfaction"] == 0.5
    assert (counts["answered_on_time"], counts["answered"]) == (2, 2)
    assert counts["filed"] == 5


def test_hot_spots_and_the_integrity_board(sessions) -> None:
    service = TicketService(sessions, clock=lambda: NOW - dt.timedelta(days=1))
    for i in range(3):
        service.file(draft(sender_id=f"h{i}", organization="锦程物业", category="livelihood"))
    service.file(draft(sender_id="p", category="broken_promise"))
    service.file(draft(sender_id="q", category="contract_breach", amount=Decimal("5")))
    number = service.file(draft(sender_id="r")).number
    service.act(number, "supervise", actor="s", note="x")
    facts = stats.load_facts(sessions, NOW - dt.timedelta(days=7), NOW)
    spots = stats.hot_spots(facts, NOW, 3)
    assert {"kind": "被反映单位", "name": "锦程物业", "count": 3} in spots
    assert all(s["count"] >= 3 for s in spots)
    board = {r["department"]: r for r in stats.integrity(facts)}
    arrears = board["洛阳市工业和信息化局（市清欠办）"]
    assert (arrears["arrears"], arrears["amount_owed"], arrears["supervised"]) == (
        1,
        Decimal("380000.00"),
        1,
    )
    assert sum(r["broken_promise"] for r in board.values()) == 1
    assert sum(r["contract_breach"] for r in board.values()) == 1
    ordered = stats.sort_board(list(board.values()), "total", descending=False)
    assert [r["total"] for r in ordered] == sorted(r["total"] for r in board.values())


@pytest.fixture
async def supervisor(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[World, TestClient]]:
    upgrade(database_url)
    engine = make_engine(database_url)
    world = populate(make_session_factory(engine))
    client = TestClient(TestServer(create_app(settings_for(database_url, tmp_path))))
    await client.start_server()
    await sign_in(client, "sup")
    try:
        yield world, client
    finally:
        await client.close()
        engine.dispose()


async def test_the_dashboard_json_and_the_board_exports(supervisor) -> None:
    world, client = supervisor
    page = await (await client.get("/console/dashboard")).text()
    assert 'data-src="/console/api/dashboard.json?days=30"' in page
    assert '<script src="/static/vendor/echarts.min.js"' in page and "<script>" not in page
    data = await (await client.get("/console/api/dashboard.json?days=30")).json()
    assert sum(sum(s["data"]) for s in data["by_category"]["series"]) == 3
    names = {s["name"] for s in data["by_department"]["series"]}
    assert world.own.department in names and world.other.department in names
    assert data["rates"]["counts"]["filed"] == 3
    board_page = await (await client.get("/console/integrity?sort=arrears&order=desc")).text()
    assert "拖欠账款投诉 ↓" in board_page
    text = (await (await client.get("/console/integrity.csv")).read()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    own = next(r for r in rows if r["承办单位"] == world.own.department)
    assert own["拖欠账款投诉"] == "2" and own["反映欠款金额（元）"] == "760000.0"
    book = load_workbook(io.BytesIO(await (await client.get("/console/integrity.xlsx")).read()))
    assert [c.value for c in next(book.active.iter_rows())][0] == "承办单位"
    # Statistics are for supervision staff only.
    other = TestClient(client.server)
    await other.start_server()
    try:
        await sign_in(other, "op")
        assert (await other.get("/console/api/dashboard.json")).status == 403
        assert (await other.get("/console/integrity.csv")).status == 403
    finally:
        await other._session.close()
