"""With the real Rasa server: the gateway records what the NLU understood of each message, and
the 待复核 flags come out of real conversations — a ticket filed under a category the model
does not give its words, two fallbacks at the end, a caller who left the complaint form — on
SQLite and PostgreSQL (the record's database; Rasa keeps its own tracker store)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path

import aiohttp
import requests
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from bot.accounts.users import Accounts
from bot.config import Settings
from bot.conversations.record import ConversationStore
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import AuditEntry, CategoryCheck, Conversation, Ticket
from bot.tickets.service import TicketService
from bot.web.app import create_app
from bot.web.gateway import Gateway
from tests.conftest import RunningStack
from tests.console_support import PASSWORD, draft, sign_in
from tests.gateway_support import messages_of

ARREARS = "洛龙区住建局拖欠我们工程款三十八万元"
NOISE = "小区楼下广场舞天天放到夜里十一点，吵得孩子没法睡觉，物业也不管"


async def test_the_record_and_the_flags_from_real_conversations(
    stack: RunningStack, database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    store = ConversationStore(sessions)
    service = TicketService(sessions)
    rasa = stack.settings
    async with aiohttp.ClientSession() as http:
        gateway = Gateway(store, http, rasa.rasa_url, rasa.rasa_auth)
        await gateway.receive("web", "told-all", ARREARS)
        await gateway.receive("web", "gave-up", "我要投诉")
        await gateway.receive("web", "lost", "那个")
        await gateway.receive("web", "lost", "xyz")
        await gateway.receive("web", "filed", "我要投诉")
        await gateway.settle()
    told, gave_up, lost, filed = (
        store.current("web", k) for k in ("told-all", "gave-up", "lost", "filed")
    )
    # What the NLU made of the story is on the person's message; the bot's answer has none.
    inbound, *answers = messages_of(engine, told.id)
    assert (inbound.direction, inbound.intent) == ("in", "complain_arrears")
    assert inbound.confidence is not None and inbound.confidence > 0.5
    entities = {e["entity"]: e for e in json.loads(inbound.entities or "[]")}
    assert entities["organization"]["value"] == "洛龙区住建局"
    assert (
        entities["amount"]["value"] == 380000
        and ARREARS[entities["amount"]["start"] :] == "三十八万元"
    )
    assert answers and all(a.intent is None for a in answers)
    assert [m.intent for m in messages_of(engine, lost.id) if m.direction == "in"] == [
        "nlu_fallback",
        "nlu_fallback",
    ]
    # Two tickets: one filed under another category than its words say, one that agrees.
    wrong = service.file(draft(description=NOISE, category="arrears", sender_id="phone-1"))
    right = service.file(draft(description=ARREARS, category="arrears", sender_id="phone-2"))
    service.file(draft(description=ARREARS, sender_id=filed.rasa_sender_id))
    # Everybody went quiet an hour ago.
    with sessions.begin() as session:
        session.execute(
            update(Conversation).values(
                last_active_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
            )
        )
    accounts = Accounts(sessions)
    accounts.add("op", PASSWORD, "operator")
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path,
        sweep_seconds=0,
        notice_poll_seconds=0,
        rasa_url=rasa.rasa_url,
        rasa_token=rasa.rasa_token,
        review_every_seconds=0,  # the button, not the hourly round (tested below)
    )
    server = TestServer(create_app(settings))
    op = TestClient(server)
    await op.start_server()
    try:
        token = await sign_in(op, "op")
        before = await (await op.get("/console/review")).text()
        # Two fallbacks at the end are in the record already; the rest needs the model.
        assert _count(before, "fallback") == 1 and f"/console/conversations/{lost.id}" in before
        assert _count(before, "category") == 0 and _count(before, "gave-up") == 0
        refreshed = await op.post(
            "/console/review/refresh", data={"csrf_token": token}, allow_redirects=False
        )
        assert refreshed.status == 303
        after = await (await op.get("/console/review")).text()
        assert "已用当前模型检查 3 张工单" in after
        assert _count(after, "category") == 1 and f"/console/tickets/{wrong.number}" in after
        assert right.number not in after
        # Both callers the form was asking when they went quiet; not the one whose ticket was
        # filed, nor the one the bot never understood (no form open).
        gave_up_section = after.split('id="flag-gave-up"', 1)[1]
        assert _count(after, "gave-up") == 2
        assert f'/console/conversations/{gave_up.id}"' in gave_up_section
        assert f'/console/conversations/{told.id}"' in gave_up_section
        assert f'/console/conversations/{filed.id}"' not in gave_up_section
        assert f'/console/conversations/{lost.id}"' not in gave_up_section
        with sessions() as session:
            checks = {
                number: category
                for number, category in session.execute(
                    select(Ticket.number, CategoryCheck.category).join(
                        CategoryCheck, CategoryCheck.ticket_id == Ticket.id
                    )
                )
            }
            [entry] = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "review_refresh")
            ).all()
        assert checks[wrong.number] == "livelihood" and checks[right.number] == "arrears"
        assert entry.username == "op" and "hotline-" in entry.detail
        # A second round asks nothing again: same model, forms already known.
        again = await (await op.post("/console/review/refresh", data={"csrf_token": token})).text()
        assert "已用当前模型检查 0 张工单、0 个中断的对话" in again
        page = await (await op.get(f"/console/conversations/{told.id}")).text()
        assert "拖欠企业账款（complain_arrears）" in page
    finally:
        await op.close()
        engine.dispose()


async def test_the_hourly_round_rechecks_once_across_replicas(
    stack: RunningStack, database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    wrong = TicketService(sessions).file(
        draft(description=NOISE, category="arrears", sender_id="phone-1")
    )
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path,
        sweep_seconds=0,
        notice_poll_seconds=0,
        rasa_url=stack.settings.rasa_url,
        rasa_token=stack.settings.rasa_token,
        review_every_seconds=3600,
    )
    replicas = [TestClient(TestServer(create_app(settings))) for _ in range(2)]
    try:
        for replica in replicas:  # each runs its first round as it starts
            await replica.start_server()
        for _ in range(100):
            with sessions() as session:
                checked = session.scalars(
                    select(CategoryCheck.category)
                    .join(Ticket, CategoryCheck.ticket_id == Ticket.id)
                    .where(Ticket.number == wrong.number)
                ).all()
            if checked:
                break
            await asyncio.sleep(0.1)
        assert checked == ["livelihood"]
        with sessions() as session:
            entries = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "review_refresh")
            ).all()
        assert [(e.username, e.role) for e in entries] == [("（定时）", "system")]
    finally:
        for replica in replicas:
            await replica.close()
        engine.dispose()


def _count(html: str, flag: str) -> int:
    found = html.split(f'id="count-{flag}">', 1)[1].split("<", 1)[0]
    return int(found)


def test_the_web_service_records_what_the_nlu_understood(stack: RunningStack) -> None:
    """The same through the running web service (its own process, Rasa's API token from the
    environment): the intent arrives on the record shortly after the reply."""
    session = requests.Session()
    session.get(f"{stack.settings.web_url}/", timeout=10).raise_for_status()
    response = session.post(
        f"{stack.settings.web_url}/api/chat", json={"message": ARREARS}, timeout=60
    )
    response.raise_for_status()
    key = session.cookies["hotline_sid"]
    deadline = time.monotonic() + 15
    with make_session_factory(stack.engine)() as db:
        conversation = db.scalars(select(Conversation).where(Conversation.sender_key == key)).one()
    while time.monotonic() < deadline:
        [inbound] = [m for m in messages_of(stack.engine, conversation.id) if m.direction == "in"]
        if inbound.intent is not None:
            break
        time.sleep(0.2)
    assert (inbound.text, inbound.intent) == (ARREARS, "complain_arrears")
    assert "organization" in (inbound.entities or "")
