"""A failed statement names no person: every engine hides its bound parameters.

SQLAlchemy writes a failed statement's parameters into the exception's text (and its INFO log of
every statement), so an IntegrityError while filing or recording a message would carry the
caller's name, phone and story into var/logs and any error report. Each engine of ours — the
service's, the read engine, the tracker-retention engine, Alembic's (make_engine) — and the
engine Rasa's tracker store builds (rasa_plugins/sql_tracker_store.hide_parameters) is checked with a
real failing statement on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text
from sqlalchemy.exc import DBAPIError

from bot.config import PROJECT_ROOT
from bot.privacy.tracker_retention import tracker_engine
from bot.store.db import make_engine, make_read_engine
from bot.store.migrate import upgrade
from bot.store.models import Conversation, ConversationMessage
from bot.training import RASA_VENV, rasa_env

PHONE = "13812345678"
NAME = "张建军"
STORY = f"我叫{NAME}，电话{PHONE}，小区门口的路灯坏了一个月"


def _failing_insert(engine: Engine) -> str:
    """Record the same channel message twice (a unique constraint): the error's text."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        conversation_id = connection.execute(
            insert(Conversation).values(
                channel="web",
                sender_key="errors",
                rasa_sender_id="web:errors",
                state="bot",
                created_at=now,
                last_active_at=now,
            )
        ).inserted_primary_key[0]
    row = {
        "conversation_id": conversation_id,
        "direction": "in",
        "text": STORY,
        "buttons": "[]",
        "at": now,
        "external_id": PHONE,
        "pushed": False,
    }
    with pytest.raises(DBAPIError) as raised:
        with engine.begin() as connection:
            connection.execute(insert(ConversationMessage).values(**row))
            connection.execute(insert(ConversationMessage).values(**row))
    return str(raised.value)


def _assert_anonymous(message: str, caplog: pytest.LogCaptureFixture) -> None:
    everything = message + "\n" + caplog.text
    assert PHONE not in everything and NAME not in everything, everything
    assert "hidden due to hide_parameters" in everything  # the statement itself is still told


@pytest.fixture
def statement_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """SQLAlchemy's statement log on (the `echo` an operator turns on to debug), captured."""
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    return caplog


def test_the_service_engine_hides_parameters_of_a_failed_insert(
    database_url: str, statement_log: pytest.LogCaptureFixture
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        _assert_anonymous(_failing_insert(engine), statement_log)
    finally:
        engine.dispose()


def test_a_not_null_violation_quotes_no_row(
    database_url: str, statement_log: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL answers a NOT NULL violation with the whole row ("Failing row contains")."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with pytest.raises(DBAPIError) as raised:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO audit_log (at, username, role, action, detail, remote) "
                        "VALUES (:at, NULL, 'operator', 'login_failed', :detail, '')"
                    ),
                    {"at": dt.datetime.now(dt.UTC), "detail": STORY},
                )
        _assert_anonymous(str(raised.value), statement_log)
        assert "username" in str(raised.value)  # what failed is still told
    finally:
        engine.dispose()


def test_the_read_engine_hides_parameters_of_a_refused_write(
    database_url: str, statement_log: pytest.LogCaptureFixture
) -> None:
    upgrade(database_url)
    engine = make_read_engine(database_url)
    assert engine is not None
    try:
        with pytest.raises(DBAPIError) as raised:
            with engine.connect() as connection:
                connection.execute(
                    text(
                        "INSERT INTO audit_log (at, username, role, action, detail, remote) "
                        "VALUES (:at, :username, 'operator', 'login_failed', :detail, '')"
                    ),
                    {"at": dt.datetime.now(dt.UTC), "username": NAME, "detail": PHONE},
                )
        _assert_anonymous(str(raised.value), statement_log)
    finally:
        engine.dispose()


def test_the_tracker_retention_engine_hides_parameters(
    database_url: str, statement_log: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        Path(database_url.split("///", 1)[1]).touch()
    engine = tracker_engine(database_url)
    assert engine is not None
    try:
        with pytest.raises(DBAPIError) as raised:
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT)"))
                for _ in range(2):
                    connection.execute(
                        text("INSERT INTO events (id, data) VALUES (1, :data)"), {"data": STORY}
                    )
        _assert_anonymous(str(raised.value), statement_log)
    finally:
        engine.dispose()


RASA_CHECK = r"""
import json, logging, sys
from urllib.parse import urlsplit
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa_plugins import sql_tracker_store
if sys.argv[2] == "hidden":
    sql_tracker_store.hide_parameters()  # as rasa_plugins/serve.py does before Rasa starts
url = sys.argv[1]
if url.startswith("sqlite:///"):
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=url.removeprefix("sqlite:///"))
else:
    parts = urlsplit(url)
    store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=parts.hostname,
                            port=parts.port, db=parts.path.lstrip("/"), username=parts.username)
row = {"id": 1, "sender_id": "web:x", "type_name": "user", "timestamp": 1.0,
       "intent_name": "inform", "action_name": None, "data": sys.argv[3]}
try:
    with store.engine.begin() as connection:
        connection.execute(store.SQLEvent.__table__.insert(), row)
        connection.execute(store.SQLEvent.__table__.insert(), row)
except Exception as error:
    print(json.dumps({"error": str(error)}, ensure_ascii=False))
"""


@pytest.mark.parametrize("mode", ["hidden", "stock"])
def test_rasas_tracker_store_engine_hides_parameters(
    database_url: str, mode: str, tmp_path: Path
) -> None:
    """Rasa's own SQLTrackerStore, in the Rasa environment: with our plug-in its failed insert
    of an event does not quote the event; without it (stock) it does — the check can fail."""
    python = RASA_VENV / "bin" / "python"
    assert python.exists(), "the Rasa environment (.venv-rasa) is required"
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    done = subprocess.run(
        [str(python), "-c", RASA_CHECK, database_url, mode, STORY],
        env=rasa_env(),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    error = json.loads(done.stdout.strip().splitlines()[-1])["error"]
    assert "events" in error
    if mode == "hidden":
        assert PHONE not in error and NAME not in error, error
    else:
        assert PHONE in error
