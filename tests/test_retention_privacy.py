"""Retention reaches every copy of what a person said: the stored NLU results of old messages
(entity values), the names in reviewers' corrections of them, and what was typed at failed
console sign-ins; a failed sign-in's row never holds a typed name that is no account's (it may
be a password); the production profile does not start without a retention period. On SQLite
and PostgreSQL, the sign-in over HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from bot.config import PROJECT_ROOT, Settings
from bot.conversations.record import ConversationStore, Understanding
from bot.ops.production import ProfileError, prepare
from bot.privacy.retention import purge_database
from bot.review import corrections
from bot.store.audit import NOT_AN_ACCOUNT, AuditLog
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import (
    AuditEntry,
    Conversation,
    ConversationMessage,
    NluCorrection,
)

OLD = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
NAME = "张建军"
PHONE = "13812345678"
ID_NUMBER = "410302199001011234"
USCC = "91410300MA44XXXX0X"
TYPED_PASSWORD = "Hunter2-秘密口令"


def test_purge_clears_entity_values_correction_names_and_typed_names(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    store = ConversationStore(sessions)
    try:
        conversation = store.current("web", "cookie-retention")
        said = f"我叫{NAME}，电话{PHONE}，身份证{ID_NUMBER}，信用代码{USCC}"
        inbound = store.record_inbound(conversation.id, said, None)
        entities = [
            {"entity": "phone", "value": PHONE, "start": said.index(PHONE), "end": 0},
            {"entity": "id_number", "value": ID_NUMBER, "start": said.index(ID_NUMBER), "end": 0},
            {"entity": "uscc", "value": USCC, "start": said.index(USCC), "end": 0},
            {"entity": "organization", "value": f"{NAME}的店", "start": 0, "end": 0},
        ]
        store.record_understanding(inbound.message_id, Understanding("inform", 0.93, entities))
        correction = corrections.mark(
            sessions,
            inbound.message_id,
            "inform",
            [corrections.SpanInput("phone", PHONE)],
            reviewer="reviewer-1",
            role="supervisor",
            intents=["inform"],
            entity_types=["phone"],
        )
        assert NAME in correction.text  # numbers are faked when a correction is made, names not
        spans_before = corrections.spans_of(correction)
        audit = AuditLog(sessions)
        for typed in (TYPED_PASSWORD, "op"):
            audit.write(
                username="-", role="-", action="login_failed", detail=f"用户名 {typed}", remote="x"
            )
        with sessions.begin() as session:
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation.id)
                .values(at=OLD)
            )
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(last_active_at=OLD)
            )
            session.execute(update(AuditEntry).values(at=OLD))
        # A failed sign-in inside the period keeps its detail (an account's name, here).
        audit.write(username="-", role="-", action="login_failed", detail="用户名 op", remote="x")

        done = purge_database(database_url, 30, actor="test")
        assert done.failed_logins == 2 and done.messages == 1

        with sessions() as session:
            message = session.get(ConversationMessage, inbound.message_id)
            assert message is not None
            stored = json.loads(message.entities or "[]")
            assert message.intent == "inform" and message.confidence == pytest.approx(0.93)
            assert [e["entity"] for e in stored] == ["phone", "id_number", "uscc", "organization"]
            kept = session.scalars(select(NluCorrection)).one()
            details = [
                e.detail
                for e in session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.action == "login_failed")
                    .order_by(AuditEntry.id)
                )
            ]
        everything = json.dumps(stored, ensure_ascii=False) + kept.text + "".join(details)
        for secret in (NAME, PHONE, ID_NUMBER, USCC, TYPED_PASSWORD):
            assert secret not in everything, secret
        assert details == ["用户名 （已清除）", "用户名 （已清除）", "用户名 op"]
        # The correction is still training data: same length, its spans on the same words.
        assert len(kept.text) == len(correction.text) and "某某某" in kept.text
        assert corrections.spans_of(kept) == spans_before
        start, end = spans_before[0][1:]
        assert kept.text[start:end] == correction.text[start:end]  # the faked phone
        # A second round changes nothing.
        again = purge_database(database_url, 30, actor="test")
        assert (again.messages, again.failed_logins) == (0, 0)
    finally:
        engine.dispose()


async def test_a_failed_sign_in_records_only_an_accounts_name(world) -> None:  # type: ignore[no-untyped-def]
    """Over HTTP: a password typed into the name field is not written down; a wrong password
    for a real account names the account."""
    from aiohttp.test_utils import TestClient

    from tests.console_support import csrf_of

    w, server = world
    client = TestClient(server)
    await client.start_server()
    try:
        token = csrf_of(await (await client.get("/console/login")).text())
        for name in (TYPED_PASSWORD, "op"):
            wrong = await client.post(
                "/console/login",
                data={"username": name, "password": "wrong password", "csrf_token": token},
            )
            assert wrong.status == 401
    finally:
        await client._session.close()
    rows = [r for r in AuditLog(w.sessions).recent(limit=10) if r.action == "login_failed"]
    details = [r.detail for r in reversed(rows)]
    assert details == [f"用户名 {NOT_AN_ACCOUNT}", "用户名 op"]
    with w.sessions() as session:
        dumped = " ".join(
            str(value) for row in session.execute(text("SELECT * FROM audit_log")) for value in row
        )
    assert TYPED_PASSWORD not in dumped


def test_the_migration_rewrites_failed_sign_ins_written_before(database_url: str) -> None:
    upgrade(database_url, "0013")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO console_users (username, password_hash, role, active, created_at) "
                    "VALUES ('op', 'x', 'operator', :t, :at)"
                ),
                {"t": True, "at": OLD},
            )
            for detail in (f"用户名 {TYPED_PASSWORD}（已锁定）", "用户名 op", "用户名 "):
                connection.execute(
                    text(
                        "INSERT INTO audit_log (at, username, role, action, detail, remote) "
                        "VALUES (:at, '-', '-', 'login_failed', :detail, '')"
                    ),
                    {"at": OLD, "detail": detail},
                )
        upgrade(database_url)
        with engine.connect() as connection:
            details = list(
                connection.execute(text("SELECT detail FROM audit_log ORDER BY id")).scalars()
            )
    finally:
        engine.dispose()
    assert details == [
        f"用户名 {NOT_AN_ACCOUNT}（已锁定）",
        "用户名 op",
        f"用户名 {NOT_AN_ACCOUNT}",
    ]


def test_the_production_profile_refuses_to_start_without_a_retention_period(
    tmp_path: Path,
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        profile="production",
        database_url="postgresql://postgres@127.0.0.1:5432/never_created",
    )
    with pytest.raises(ProfileError, match="HOTLINE_RETENTION_DAYS"):
        prepare(settings)
    env = {
        **os.environ,
        "HOTLINE_VAR_DIR": str(tmp_path),
        "HOTLINE_DATABASE_URL": settings.database_url,
        "HOTLINE_RETENTION_DAYS": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--profile", "production"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "HOTLINE_RETENTION_DAYS" in done.stderr and "Traceback" not in done.stderr
    # With a period the refusal is gone (the next check is the database itself).
    with pytest.raises(ProfileError) as later:
        prepare(dataclasses.replace(settings, retention_days=180, database_url="sqlite:///x"))
    assert "HOTLINE_RETENTION_DAYS" not in str(later.value)
