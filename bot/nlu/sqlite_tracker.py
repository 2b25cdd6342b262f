"""Rasa's SQL tracker store on SQLite in write-ahead-log mode: a commit is one fsync, not two.

Rasa's SQLTrackerStore commits at least once per message, and SQLAlchemy 1.4 opens a new SQLite
connection for every session on a file database. In SQLite's default rollback-journal mode a
commit waits for two fsyncs (journal, then database), blocking Rasa's only event loop; on this
machine 0.7–0.9 ms per commit when the disk is quiet and 10.9 ms while other jobs wrote to it
(WAL: 0.2–0.4 ms and 1.4 ms; docs/bench.md). At the bench's load the gain is within the noise
when the disk is quiet; it is kept because it removes the loop's worst stalls on a busy disk
and costs nothing: synchronous stays FULL (SQLite's default), so a committed event survives a
crash or power loss as before, and the ticket database already uses WAL the same way.

Imported with our NLU components (bot/nlu/stateless.py), so it applies in the Rasa process that
loads our model; it only touches sqlite3 connections, and Rasa opens none but the tracker's.
Production uses PostgreSQL (docs/architecture.md), which this does not touch.
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
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=15000")
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
    logger.info("SQLite connections use WAL (bot.nlu.sqlite_tracker)")


def is_installed() -> bool:
    return _installed
