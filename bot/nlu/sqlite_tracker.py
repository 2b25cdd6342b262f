"""Rasa's SQL tracker store on SQLite in write-ahead-log mode, so a commit is not two fsyncs.

Rasa's SQLTrackerStore commits at least once per message, and SQLAlchemy 1.4 opens a new SQLite
connection for every session on a file database. In SQLite's default rollback-journal mode
with synchronous=FULL every commit waits for fsyncs: 10.9 ms per commit on this machine's ext4
(docs/bench.md), spent blocking Rasa's only event loop — invisible in a CPU profile, but it
halved our messages/s against Rasa's in-memory store. In WAL mode with synchronous=NORMAL a
commit is an append to the log (0.01 ms), and the log is fsynced at checkpoints.

What it keeps: every event is still written to var/tracker.db, and the database survives a
crash of Rasa itself intact and complete. What it gives up: after a power loss or OS crash the
last transactions before the last checkpoint may be rolled back (the file stays consistent). For
conversation state that is acceptable; the tickets are in their own database, which keeps
synchronous=FULL. Production uses PostgreSQL (docs/architecture.md), which this does not touch.

Imported with our NLU components (bot/nlu/stateless.py), so it applies in the Rasa process that
loads our model; it only touches sqlite3 connections, and Rasa opens none but the tracker's.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

# Set to 1 to keep SQLite's defaults (to measure the difference: `hotline bench --variant`).
DISABLE_ENV = "HOTLINE_RASA_STOCK_SQLITE"
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=15000")
_installed = False


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def install() -> None:
    """Every new SQLite connection of any SQLAlchemy engine in this process gets PRAGMAS."""
    global _installed
    if _installed:
        return
    if os.environ.get(DISABLE_ENV, "") == "1":
        logger.info("%s=1: SQLite's default journal and synchronous settings are kept", DISABLE_ENV)
        return
    event.listen(Engine, "connect", _on_connect)
    _installed = True
    logger.info("SQLite connections use WAL, synchronous=NORMAL (bot.nlu.sqlite_tracker)")


def is_installed() -> bool:
    return _installed
