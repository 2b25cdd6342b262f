"""The ticket store on SQLite and PostgreSQL: filing, lookup, idempotency, numbering, migrations."""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, inspect, select

from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import downgrade, upgrade
from bot.store.models import Ticket, TicketEvent
from bot.tickets.service import TicketDraft, TicketService

DRAFT = TicketDraft(
    description="小区门口的路灯坏了两个多月，晚上出门黑乎乎的，老人摔过好几次。",
    organization="洛龙区城市管理局",
    district="洛龙区",
    phone="13812345678",
    sender_id="web-abc",
)


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_file_writes_ticket_and_history(service: TicketService, engine: Engine) -> None:
    filed = service.file(DRAFT)
    assert filed.created
    assert re.fullmatch(r"LY\d{8}-\d{4}", filed.number)
    assert filed.access_code is not None and re.fullmatch(r"\d{6}", filed.access_code)
    with make_session_factory(engine)() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == filed.number)).one()
        assert ticket.description == DRAFT.description
        assert ticket.status == "received"
        assert ticket.category == "unclassified"
        assert filed.access_code not in ticket.access_code_hash
        assert ticket.created_at.tzinfo is not None
        assert [(e.action, e.to_status) for e in ticket.events] == [("file", "received")]


def test_lookup_needs_the_right_code(service: TicketService) -> None:
    filed = service.file(DRAFT)
    assert filed.access_code is not None
    view = service.lookup(filed.number, filed.access_code)
    assert view is not None
    assert (view.status, view.category, view.district) == ("已受理", "待分类", "洛龙区")
    assert service.lookup(filed.number.lower(), filed.access_code) is not None
    wrong = f"{(int(filed.access_code) + 1) % 10**6:06d}"
    assert service.lookup(filed.number, wrong) is None
    assert service.lookup("LY20000101-9999", filed.access_code) is None


def test_same_idempotency_key_files_once(service: TicketService, engine: Engine) -> None:
    first = service.file(DRAFT, idempotency_key="web-abc:msg-1")
    again = service.file(DRAFT, idempotency_key="web-abc:msg-1")
    other = service.file(DRAFT, idempotency_key="web-abc:msg-2")
    assert again.number == first.number and not again.created and again.access_code is None
    assert other.number != first.number
    assert _count(engine, Ticket) == 2


def test_concurrent_filings_get_distinct_numbers(service: TicketService, engine: Engine) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        numbers = list(pool.map(lambda i: service.file(DRAFT).number, range(50)))
    assert len(set(numbers)) == 50
    assert _count(engine, Ticket) == 50
    assert _count(engine, TicketEvent) == 50


def test_concurrent_retries_of_one_filing_make_one_ticket(
    service: TicketService, engine: Engine
) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: service.file(DRAFT, idempotency_key="k"), range(8)))
    assert len({r.number for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert _count(engine, Ticket) == 1


def test_numbers_follow_the_china_date(engine: Engine) -> None:
    # 2026-11-24 17:00 UTC is already 2026-11-25 01:00 in Luoyang.
    late = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
    service = TicketService(make_session_factory(engine), clock=lambda: late)
    assert service.file(DRAFT).number == "LY20261125-0001"
    assert service.file(DRAFT).number == "LY20261125-0002"


def test_migrations_stairway(database_url: str) -> None:
    """Every revision goes up, down and up again on both backends."""
    upgrade(database_url)
    downgrade(database_url, "base")
    engine = make_engine(database_url)
    assert not set(inspect(engine).get_table_names()) & {"tickets", "ticket_events"}
    engine.dispose()
    upgrade(database_url)
    engine = make_engine(database_url)
    assert {"tickets", "ticket_events", "ticket_sequences"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
