"""Background rounds that must run once per round across every replica of the web service.

The deadline sweep and the retention purge run inside the web service so a one-process install
needs no cron. With several web replicas (the production profile) each replica's timer fires
on its own schedule; a lock held during the round would still let two replicas sweep one after
the other within the same interval. So a round is *claimed*: one row per round name holds when
it last started, and one atomic upsert moves it forward only if the previous start is at least
an interval ago. Exactly one replica's claim succeeds per interval, on SQLite and PostgreSQL
alike, whatever the replicas' clocks of starting.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.store.models import Base, UTCDateTime

# A replica whose timer fires a little early (scheduling jitter) must not lose its round to
# the check: a round may start once this share of the interval has passed.
SLACK = 0.9


class PeriodicRound(Base):
    """When a named background round last started (any replica)."""

    __tablename__ = "periodic_rounds"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def claim_round(
    sessions: sessionmaker[Session], name: str, every_seconds: float, now: dt.datetime
) -> bool:
    """True when this caller may run round `name` now (and the round is recorded as started)."""
    cutoff = now - dt.timedelta(seconds=every_seconds * SLACK)
    with sessions.begin() as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(PeriodicRound)
            .values(name=name, started_at=now)
            .on_conflict_do_update(
                index_elements=[PeriodicRound.name],
                set_={"started_at": now},
                where=PeriodicRound.started_at <= cutoff,
            )
            .returning(PeriodicRound.name)
        )
        return session.execute(stmt).first() is not None


def claim_round_in(database_url: str, name: str, every_seconds: float) -> bool:
    """claim_round on a database by URL, now (for rounds that open their own engine)."""
    from bot.store.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        now = dt.datetime.now(dt.UTC)
        return claim_round(make_session_factory(engine), name, every_seconds, now)
    finally:
        engine.dispose()
