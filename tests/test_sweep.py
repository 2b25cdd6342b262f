"""The deadline sweep in short batches (TicketService.sweep): concurrent sweeps urge each lapsed
ticket once, a ticket held by someone else is left for the next round instead of waited for, and
a sweep over many tickets commits batch by batch — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from dataclasses import replace

import pytest
from sqlalchemy import Engine, event, select

from bot.store.db import make_engine, make_session_factory
from bot.store.models import Ticket, TicketEvent
from bot.tickets.service import TicketDraft, TicketService

CHINA = dt.timezone(dt.timedelta(hours=8))
FILED = dt.datetime(2026, 11, 25, 10, 0, tzinfo=CHINA)  # a Wednesday
LAPSED = dt.datetime(2026, 11, 27, 9, 0, tzinfo=CHINA)  # past the one-day signing deadline

DRAFT = TicketDraft(
    description="小区门口的路灯坏了一个月，晚上出行很不方便，希望尽快修好。",
    organization="西工区城管局",
    district="西工区",
    phone="13800000000",
    sender_id="web:sweep",
    category="livelihood",
)


def _file(engine: Engine, count: int) -> list[str]:
    service = TicketService(make_session_factory(engine), clock=lambda: FILED)
    return [service.file(replace(DRAFT, sender_id=f"web:sweep-{i}")).number for i in range(count)]


def _urges(engine: Engine) -> Counter[int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(TicketEvent.ticket_id).where(TicketEvent.action == "urge")
        ).all()
    return Counter(row[0] for row in rows)


def test_two_sweeps_at_once_urge_each_lapsed_ticket_once(engine: Engine, database_url: str) -> None:
    """Two processes' sweeps (separate engines) over the same lapsed tickets at the same time,
    in small batches so they interleave: every ticket gets exactly one 催办."""
    numbers = _file(engine, 60)
    engines = [make_engine(database_url) for _ in range(2)]
    results = []
    barrier = threading.Barrier(2)

    def sweep(each: Engine) -> None:
        service = TicketService(make_session_factory(each), clock=lambda: LAPSED)
        barrier.wait()
        results.append(service.sweep(batch=5))

    try:
        threads = [threading.Thread(target=sweep, args=(each,)) for each in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for each in engines:
            each.dispose()
    assert len(results) == 2
    urged = [number for result in results for number in result.urged]
    assert sorted(urged) == sorted(numbers)  # none twice, none missed
    counts = _urges(engine)
    assert len(counts) == len(numbers) and set(counts.values()) == {1}


def test_a_sweep_commits_batch_by_batch(engine: Engine) -> None:
    numbers = _file(engine, 23)
    commits = []
    event.listen(engine, "commit", lambda connection: commits.append(time.monotonic()))
    service = TicketService(make_session_factory(engine), clock=lambda: LAPSED)
    assert sorted(service.sweep(batch=5).urged) == sorted(numbers)
    assert len(commits) == 5  # 5 + 5 + 5 + 5 + 3: one short transaction each
    assert service.sweep(batch=5).urged == []


def test_a_sweep_skips_a_ticket_held_by_another_transaction_on_postgres(
    postgres_url: str,
) -> None:
    """A department answering a ticket holds its row: the sweep does not wait for it (it used to
    wait inside its one transaction over every open ticket), and the next round urges it."""
    from bot.store.migrate import upgrade

    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        held, free = _file(engine, 2)
        service = TicketService(make_session_factory(engine), clock=lambda: LAPSED)
        with engine.connect() as holder:
            holder.execute(select(Ticket).where(Ticket.number == held).with_for_update())
            started = time.monotonic()
            assert service.sweep().urged == [free]
            assert time.monotonic() - started < 5
            holder.rollback()
        assert service.sweep().urged == [held]
        assert service.sweep().urged == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("state", ["received", "dispatched", "signed"])
def test_only_lapsed_tickets_are_read(engine: Engine, state: str) -> None:
    """The SQL filter (`_lapsed`) and the Python rule agree on each waiting step's deadline:
    not urged a minute before it, urged a minute after."""
    (number,) = _file(engine, 1)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        ticket.status = state
        due = dt.datetime(2026, 11, 30, 17, 30, tzinfo=CHINA)
        ticket.dispatch_due_at = ticket.sign_due_at = ticket.answer_due_at = due
    early = TicketService(sessions, clock=lambda: due - dt.timedelta(minutes=1))
    assert early.sweep().urged == []
    late = TicketService(sessions, clock=lambda: due + dt.timedelta(minutes=1))
    assert late.sweep().urged == [number]
