"""Retention: personal data of old tickets is blanked or masked — by `hotline purge`, and on the
web service's schedule — while every figure of the dashboard and the integrity board stays."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot import cli
from bot.privacy import retention
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import AuditEntry, Handoff, Ticket
from bot.tickets import stats
from bot.tickets.service import TicketService
from bot.web.app import create_app
from tests.console_support import draft

NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
SECRETS = (
    "张伟",
    "13812345678",
    "410302199001011234",
    "洛阳恒达机械有限公司",
    "91410300MA44ABCD1X",
)


def seed(database_url: str) -> tuple[list[str], str]:
    """Two old tickets (one worked through the loop, with personal data in its notes) and a new one."""
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    clock = [NOW - dt.timedelta(days=400)]
    service = TicketService(sessions, clock=lambda: clock[0])
    old = [
        service.file(draft(sender_id="old-1")).number,
        service.file(draft(sender_id="old-2")).number,
    ]
    service.supplement(old[0], "我是张伟，另一个电话13812345678")
    clock[0] += dt.timedelta(days=1)
    service.act(old[0], "sign", actor="dept")
    service.act(old[0], "answer", actor="dept", note="已联系张伟（13812345678）")
    service.request_handoff("old-1", "我要人工，我电话13812345678")
    clock[0] = NOW
    new = service.file(draft(sender_id="new-1")).number
    engine.dispose()
    return old, new


def snapshot(
    database_url: str,
) -> tuple[list[tuple[object, ...]], list[dict[str, object]], dict[str, object]]:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        rows = [
            (t.number, t.status, t.category, t.district, t.department, t.organization, t.amount,
             t.sign_due_at, t.answer_due_at, t.created_at, len(t.events), t.rating)
            for t in session.scalars(select(Ticket).order_by(Ticket.id))
        ]  # fmt: skip
    facts = stats.load_facts(sessions, NOW - dt.timedelta(days=800), NOW + dt.timedelta(days=1))
    engine.dispose()
    return rows, stats.integrity(facts), stats.rates(facts, NOW)


def personal_text(database_url: str, number: str) -> str:
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        t = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        parts = [t.caller_name, t.phone, t.enterprise_name, t.uscc, t.description, t.reply,
                 t.sender_id, t.idempotency_key, *(e.note for e in t.events)]  # fmt: skip
        parts += [h.reason + h.sender_id for h in session.scalars(select(Handoff))]
    engine.dispose()
    return " ".join(str(p) for p in parts if p)


def test_purge_blanks_personal_data_and_keeps_the_statistics(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = seed(database_url)
    before = snapshot(database_url)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))  # its tracker.db, not the install's
    assert cli.main(["purge", "--days", "365"]) == 0
    assert "2 件" in capsys.readouterr().out
    for number in old:
        text = personal_text(database_url, number)
        assert not [s for s in SECRETS if s in text], text
        assert "old-1" not in text and "old-2" not in text
    assert "13812345678" in personal_text(database_url, new)  # newer than N days: untouched
    assert snapshot(database_url) == before  # counts, categories, departments, deadlines, 三率
    # A second round finds nothing left to do; both rounds are in the audit log.
    assert cli.main(["purge", "--days", "365"]) == 0
    assert "0 件" in capsys.readouterr().out
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        purges = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "purge")
        ).all()
    engine.dispose()
    assert purges == [
        "365 天前：2 件工单，0 条对话消息，0 条 Rasa 对话事件，0 条登录失败记录",
        "365 天前：0 件工单，0 条对话消息，0 条 Rasa 对话事件，0 条登录失败记录",
    ]


def test_purge_refuses_a_retention_of_zero_days(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with pytest.raises(ValueError, match="至少为 1 天"):
        retention.purge_tickets(make_session_factory(engine), 0)
    engine.dispose()


async def test_the_web_service_purges_on_its_schedule(sqlite_url: str, tmp_path: Path) -> None:
    from bot.config import Settings

    old, new = seed(sqlite_url)
    settings = Settings(
        database_url=sqlite_url,
        var_dir=tmp_path,
        sweep_seconds=0,
        notice_poll_seconds=0,
        retention_days=365,
    )
    server = TestServer(create_app(settings))
    await server.start_server()
    try:
        for _ in range(100):
            if "13812345678" not in personal_text(sqlite_url, old[0]):
                break
            await asyncio.sleep(0.1)
    finally:
        await server.close()
    assert not [s for s in SECRETS if s in personal_text(sqlite_url, old[0])]
    assert "13812345678" in personal_text(sqlite_url, new)
