"""Engine and session factory for the ticket database (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

# Every engine keeps bound parameters, and PostgreSQL's quoted values, out of its errors and
# logs: a failed INSERT would otherwise carry a caller's name, phone and story into var/logs.
from bot.domain.sql_errors import ENGINE_OPTIONS, protect

SQLITE_BUSY_TIMEOUT_MS = 15_000

# One writer lock per SQLite file per process, shared by every engine on that file (the web
# service has several). See _WriterQueue.
_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: str) -> threading.Lock | None:
    if not path or path == ":memory:":
        return None  # every in-memory connection is a database of its own
    key = str(Path(path).resolve())
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


class _WriterQueue(sqlite3.Connection):
    """A sqlite3 connection whose write transactions queue on an in-process lock.

    Why: SQLite lets one writer in at a time, and a second writer waits in SQLite's busy handler,
    which sleeps in steps of up to 100 ms and does not wake when the lock is freed. Threads of one
    process (the web service files and records in a thread pool) then spend most of a burst
    asleep with the database idle: 50 concurrent enterprise reports took ~500 ms at p95 where
    the work is ~2 ms each. Waiting on a threading.Lock instead wakes the next writer the moment
    the previous one commits. Other processes (the action server) still meet the busy handler.
    """

    writer_lock: threading.Lock | None = None
    holds_lock = False

    def begin_immediate(self) -> None:
        lock = self.writer_lock
        if lock is not None and not lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            # The same bounded wait as the busy timeout; never a silent deadlock.
            raise sqlite3.OperationalError("database is locked (writer queue timeout)")
        self.holds_lock = lock is not None
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _release(self) -> None:
        if self.holds_lock and self.writer_lock is not None:
            self.holds_lock = False
            self.writer_lock.release()


def make_engine(url: str) -> Engine:
    """An engine ready for several processes writing at once.

    SQLite: WAL so readers never block the writer, a busy timeout so writers queue instead of
    failing, foreign keys on, and every transaction opened with BEGIN IMMEDIATE — a deferred
    transaction that reads and then writes can fail at once with "database is locked" when another
    process wrote in between, and the busy timeout does not help there.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        lock = _writer_lock(path)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "factory": _WriterQueue},
            **ENGINE_OPTIONS,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            dbapi_connection.writer_lock = lock
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection):  # type: ignore[no-untyped-def]
            dbapi_connection = connection.connection.dbapi_connection
            try:
                dbapi_connection.begin_immediate()
            except sqlite3.OperationalError as error:
                raise OperationalError("BEGIN IMMEDIATE", None, error) from error

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return protect(create_engine(url, pool_pre_ping=True, **ENGINE_OPTIONS))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_engine(url: str) -> Engine | None:
    """An engine for plain reads, that cannot write.

    SQLite: deferred transactions. The service's engine opens every transaction with BEGIN
    IMMEDIATE (right for read-then-write), which also makes every read wait for the write lock;
    in WAL mode a reader needs no lock at all.
    PostgreSQL: autocommit, so a read is its statement alone — no BEGIN and ROLLBACK round trips
    around it (with the pool's ping, four round trips became two for a token look-up); every
    statement is its own read-only transaction (`default_transaction_read_only`).
    None for other databases."""
    if url.startswith("postgresql://") or url.startswith("postgresql+psycopg://"):
        return protect(
            create_engine(
                "postgresql+psycopg://" + url.split("://", 1)[1],
                pool_pre_ping=True,
                isolation_level="AUTOCOMMIT",
                connect_args={"options": "-c default_transaction_read_only=on"},
                **ENGINE_OPTIONS,
            )
        )
    if not url.startswith("sqlite"):
        return None
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **ENGINE_OPTIONS
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return engine
