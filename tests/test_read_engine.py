"""The engine for plain reads (bot/store/db.make_read_engine) reads what the service wrote and
cannot write, on SQLite (query_only) and PostgreSQL (autocommit, read-only transactions)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from bot.store.db import make_engine, make_read_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import Ticket
from bot.tickets.service import TicketService
from tests.console_support import draft


def test_the_read_engine_reads_the_latest_commit_and_refuses_to_write(database_url: str) -> None:
    upgrade(database_url)
    engine, read = make_engine(database_url), make_read_engine(database_url)
    assert read is not None
    try:
        reads = make_session_factory(read)
        service = TicketService(make_session_factory(engine))
        service.file(draft())
        with reads() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        service.file(draft())  # committed after the read session above ended
        with reads() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 2
            with pytest.raises(SQLAlchemyError):
                session.execute(text("DELETE FROM tickets"))
                session.commit()
        with reads() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 2
    finally:
        read.dispose()
        engine.dispose()
