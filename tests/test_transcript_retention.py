"""Retention reaches the conversations too: `hotline purge --days N` masks the gateway's
messages older than N days (the person's own identifiers, phone and ID numbers, access codes),
forgets the channel sender key of a conversation quiet that long, and deletes Rasa's tracker
events as old — written and read back by Rasa's own SQLTrackerStore — on SQLite and PostgreSQL.
Messages stay countable: the same rows, directions and intents."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot import cli
from bot.config import PROJECT_ROOT
from bot.conversations.record import ConversationStore
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import AuditEntry, Conversation, ConversationMessage
from bot.tickets.service import TicketService
from bot.web.gateway import Reply
from tests.conftest import require
from tests.console_support import draft

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
OLD = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
SECRETS = ("张伟", "13812345678", "410302199001011234", "233667", "13700001111", "李秀兰")


def rasa_tracker(*args: str) -> str:
    """Rasa's own tracker store, run in the Rasa environment (tests/rasa_tracker_store.py)."""
    done = subprocess.run(
        [str(RASA_PYTHON), str(PROJECT_ROOT / "tests" / "rasa_tracker_store.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def age(sessions, conversation_id: int, *, whole: bool) -> None:  # type: ignore[no-untyped-def]
    """Move a conversation's messages (and, if whole, its last activity) 400 days back."""
    with sessions.begin() as session:
        session.execute(
            update(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation_id)
            .values(at=OLD)
        )
        if whole:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(last_active_at=OLD)
            )


def test_purge_masks_old_transcripts_and_deletes_old_tracker_events(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    require(RASA_PYTHON.exists(), "the Rasa environment is needed: run `make setup`")
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    store = ConversationStore(sessions)

    # A conversation that filed a ticket 400 days ago and has been quiet since.
    quiet = store.current("web", "cookie-quiet")
    said = store.record_inbound(
        quiet.id, "我叫张伟，电话13812345678，身份证410302199001011234", None
    )
    store.record_replies(
        quiet.id,
        said.message_id,
        [Reply("已受理！您的工单号是 LY20251020-0001，提取码 233667。", card={"number": "x"})],
    )
    TicketService(sessions, clock=lambda: OLD).file(draft(sender_id=quiet.rasa_sender_id))
    age(sessions, quiet.id, whole=True)
    # A WeChat conversation still in use: one message from 400 days ago, one from today.
    live = store.current("wechat", "openid-live")
    said = store.record_inbound(live.id, "停水了，我电话13700001111", None)
    # It filed nothing, but the person answered the bot's name question: that name goes too.
    store.record_replies(
        live.id, said.message_id, [Reply("请问怎么称呼您？不愿留名可以回复「匿名」。")]
    )
    store.record_inbound(live.id, "李秀兰", None)
    age(sessions, live.id, whole=False)
    store.record_inbound(live.id, "又停水了，我电话13700001111", None)
    fresh = store.current("web", "cookie-fresh")
    store.record_inbound(fresh.id, "我电话13911112222", None)

    tracker_url = (
        f"sqlite:///{tmp_path / 'tracker.db'}"
        if database_url.startswith("sqlite")
        else database_url
    )
    old_ts, now_ts = str(OLD.timestamp()), str(dt.datetime.now(dt.UTC).timestamp())
    rasa_tracker("write", tracker_url, "quiet", old_ts, "我叫张伟，电话13812345678")
    rasa_tracker("write", tracker_url, "live", old_ts, "停水了，我电话13700001111")
    rasa_tracker("write", tracker_url, "live", now_ts, "又停水了")

    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))
    assert cli.main(["purge", "--days", "365", "--tracker-url", tracker_url]) == 0
    out = capsys.readouterr().out
    # The quiet conversation's 2 messages and the live one's 2 old messages with something to
    # mask (the question itself has none); 4 + 4 tracker rows.
    assert "4 条对话消息，8 条 Rasa 对话事件" in out, out

    with sessions() as session:
        rows = {
            c.id: session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == c.id)
                .order_by(ConversationMessage.id)
            ).all()
            for c in (quiet, live, fresh)
        }
        purged_quiet = session.get(Conversation, quiet.id)
        kept_live = session.get(Conversation, live.id)
    masked = " ".join(m.text for m in [*rows[quiet.id], *rows[live.id][:3]])
    assert not [s for s in SECRETS if s in masked], masked
    assert (
        "我叫" in masked
        and "已清除" in masked
        and "提取码 ******" in masked
        and "137****1111" in masked
    )
    assert [m.direction for m in rows[quiet.id]] == ["in", "out"]  # still countable
    assert all(m.card is None for m in rows[quiet.id])
    assert purged_quiet is not None and purged_quiet.sender_key == "purged"
    assert purged_quiet.state == "closed"
    # Newer than N days: untouched, and the live conversation keeps its WeChat sender.
    assert rows[live.id][2].text.strip("()（）") == "已清除"
    assert rows[live.id][3].text == "又停水了，我电话13700001111"
    assert kept_live is not None and kept_live.sender_key == "openid-live"
    assert rows[fresh.id][0].text == "我电话13911112222"
    # Rasa reads what is left: nothing of the quiet one, the live one's current session.
    assert json.loads(rasa_tracker("read", tracker_url, "quiet")) == []
    assert json.loads(rasa_tracker("read", tracker_url, "live")) == ["又停水了"]

    assert cli.main(["purge", "--days", "365", "--tracker-url", tracker_url]) == 0
    assert "0 件工单，0 条对话消息，0 条 Rasa 对话事件" in capsys.readouterr().out
    with sessions() as session:
        details = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "purge").order_by(AuditEntry.id)
        ).all()
    assert details == [
        "365 天前：1 件工单，4 条对话消息，8 条 Rasa 对话事件，0 条登录失败记录",
        "365 天前：0 件工单，0 条对话消息，0 条 Rasa 对话事件，0 条登录失败记录",
    ]
    engine.dispose()


def test_a_tracker_store_rasa_never_created_is_left_alone(tmp_path: Path) -> None:
    from bot.privacy.tracker_retention import purge_tracker_events

    missing = f"sqlite:///{tmp_path / 'no-tracker.db'}"
    assert purge_tracker_events(missing, dt.datetime.now(dt.UTC)) == 0
    assert not (tmp_path / "no-tracker.db").exists()
