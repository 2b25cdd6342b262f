"""Retention for Rasa's tracker store: events older than N days are deleted.

Rasa's SQLTrackerStore keeps every event of every conversation — the person's words, slots,
the bot's answers — as one row of its table `events` (SQLite var/tracker.db by default,
PostgreSQL in production), with `timestamp` in Unix seconds. A row cannot be masked (its `data`
is the serialised event Rasa replays), so it goes. Rasa loads only the events since a
conversation's last session start, and a session ends after an hour of silence
(domain.yml session_config), so no conversation still being served loses anything it reads.

Our SQLAlchemy 2 talks to Rasa's table with plain SQL — no model of ours, no migration — and
leaves the file's journal mode alone (make_engine would switch it to WAL).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import column, create_engine, delete, inspect, select, table
from sqlalchemy.engine import Engine

from bot.domain.sql_errors import ENGINE_OPTIONS, protect

TABLE = "events"
# The two columns of Rasa's SQLEvent (rasa/core/tracker_store.py) this module reads.
_EVENTS = table(TABLE, column("id"), column("timestamp"))
# Small batches: Rasa writes this store on every message and must not wait long on the lock.
BATCH = 2000
SQLITE_BUSY_TIMEOUT_SECONDS = 15


def tracker_engine(url: str) -> Engine | None:
    """An engine on the tracker store, or None when it does not exist yet (Rasa never ran)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if not path or not Path(path).exists():
            return None
        return create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **ENGINE_OPTIONS
        )
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return protect(create_engine(url, pool_pre_ping=True, **ENGINE_OPTIONS))


def purge_tracker_events(url: str, before: dt.datetime, *, batch: int = BATCH) -> int:
    """Delete tracker events older than `before`; returns how many rows went."""
    engine = tracker_engine(url)
    if engine is None:
        return 0
    try:
        if not inspect(engine).has_table(TABLE):
            return 0
        # Oldest first by id (rows are appended in time order), so each batch finds its rows
        # at the start of the table instead of scanning it; `timestamp` has no index of Rasa's.
        statement = delete(_EVENTS).where(
            _EVENTS.c.id.in_(
                select(_EVENTS.c.id)
                .where(_EVENTS.c.timestamp < before.timestamp())
                .order_by(_EVENTS.c.id)
                .limit(batch)
            )
        )
        deleted = 0
        while True:
            with engine.begin() as connection:
                result = connection.execute(statement)
            count = int(result.rowcount or 0)
            deleted += count
            if count < batch:
                return deleted
    finally:
        engine.dispose()
