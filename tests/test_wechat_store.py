"""The WeChat channel's rows on SQLite and PostgreSQL: the replay window's (timestamp, nonce),
the 48-hour customer-service window, and the template outbox's states, leases and retries."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, select, update

from bot.config import Settings
from bot.conversations.record import ConversationStore
from bot.conversations.wechat_store import (
    FAILED,
    PENDING,
    SENT,
    claim_nonce,
    lease_due,
    mark_failed_attempt,
    mark_sent,
    window_open_in,
)
from bot.store.db import make_session_factory
from bot.store.models import ConversationMessage, WeChatNonce, WeChatTemplateMessage
from bot.tickets.notices import claim_answer_notices
from bot.tickets.service import TicketService
from bot.web.wechat_api import CustomerService
from bot.web.wechat_outbox import MAX_ATTEMPTS, TemplateOutbox, retry_at, template_data
from tests.console_support import draft
from tests.fake_wechat_api import FakeWeChatAPI
from tests.gateway_support import answer_ticket
from tests.wechat_harness import APPID, SECRET, TEMPLATE_ID


def test_a_nonce_is_taken_once_per_body_and_pruned_after_the_window(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    now = 1_900_000_000
    assert claim_nonce(sessions, now, "4815162342", "a" * 64, now - 300)
    assert claim_nonce(sessions, now, "4815162342", "a" * 64, now - 300)  # WeChat's retry
    assert not claim_nonce(sessions, now, "4815162342", "b" * 64, now - 300)  # another body
    assert claim_nonce(sessions, now, "other-nonce", "b" * 64, now - 300)
    assert claim_nonce(sessions, now + 1, "4815162342", "b" * 64, now - 300)
    # Ten minutes on, the pairs above are pruned (a request that old is refused by its age).
    later = now + 600
    assert claim_nonce(sessions, later, "n", "c" * 64, later - 300)
    with sessions() as session:
        kept = session.execute(select(WeChatNonce.timestamp, WeChatNonce.nonce)).all()
    assert kept == [(later, "n")]


def test_replicas_racing_on_one_nonce_take_it_once(engine: Engine) -> None:
    """Eight replicas shown the same signed URL with different bodies at the same moment: one
    body is taken, the others refused."""
    sessions = make_session_factory(engine)
    now = 1_900_000_000

    def claim(body: int) -> bool:
        return claim_nonce(sessions, now, "2718281828", f"{body:064d}", now - 300)

    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(claim, range(8)))
    assert taken.count(True) == 1


def _wechat_person(engine: Engine, openid: str, last_message_ago: dt.timedelta) -> str:
    """A WeChat conversation whose person last wrote `last_message_ago`; its Rasa sender id."""
    store = ConversationStore(make_session_factory(engine))
    conversation = store.current("wechat", openid)
    inbound = store.record_inbound(conversation.id, "我要投诉", f"wechat:{openid}")
    with engine.begin() as conn:
        conn.execute(
            update(ConversationMessage)
            .where(ConversationMessage.id == inbound.message_id)
            .values(at=dt.datetime.now(dt.UTC) - last_message_ago)
        )
    return conversation.rasa_sender_id


def _answered_ticket(engine: Engine, sender_id: str) -> str:
    filed = TicketService(make_session_factory(engine)).file(draft(sender_id=sender_id))
    answer_ticket(engine, filed.number)
    return filed.number


def _outbox(engine: Engine) -> list[WeChatTemplateMessage]:
    with make_session_factory(engine)() as session:
        return list(
            session.scalars(select(WeChatTemplateMessage).order_by(WeChatTemplateMessage.id))
        )


def test_an_answer_after_the_48_hour_window_queues_one_template_message(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    quiet = _wechat_person(engine, "o-quiet-person", dt.timedelta(hours=49))
    recent = _wechat_person(engine, "o-recent-person", dt.timedelta(hours=1))
    assert not window_open_in(sessions, "o-quiet-person", now)
    assert window_open_in(sessions, "o-recent-person", now)
    assert not window_open_in(sessions, "o-never-wrote", now)
    web = ConversationStore(sessions).current("web", "c" * 32).rasa_sender_id
    late = _answered_ticket(engine, quiet)
    _answered_ticket(engine, recent)
    _answered_ticket(engine, web)
    claimed = claim_answer_notices(sessions)
    assert len(claimed) == 3  # every answer is recorded in its conversation as before
    queued = _outbox(engine)
    assert [(m.ticket_number, m.state, m.attempts, m.kind) for m in queued] == [
        (late, PENDING, 0, "ticket_answered")
    ]
    assert claim_answer_notices(sessions) == [] and len(_outbox(engine)) == 1  # exactly once


def test_the_outbox_leases_retries_with_doubling_pauses_and_ends_sent_or_failed(
    engine: Engine,
) -> None:
    sessions = make_session_factory(engine)
    for openid in ("o-first", "o-second"):
        _answered_ticket(engine, _wechat_person(engine, openid, dt.timedelta(days=3)))
    claim_answer_notices(sessions)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    due = lease_due(sessions, now)
    assert [(m.openid, m.attempts) for m in due] == [("o-first", 1), ("o-second", 1)]
    assert lease_due(sessions, now) == []  # leased: another replica's round sends nothing
    first, second = due
    data = template_data(first)
    assert data["character_string1"] == {"value": first.ticket_number}
    china = first.event_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert data["time3"]["value"] == f"{china.year}年{china.month}月{china.day}日 {china:%H:%M}"
    assert all(len(v["value"]) <= 20 for k, v in data.items() if k.startswith("thing"))
    mark_sent(sessions, first.id, now)
    again = retry_at(second.attempts, 30, now)
    assert again == now + dt.timedelta(seconds=30)
    mark_failed_attempt(sessions, second.id, "errcode -1", again)
    assert lease_due(sessions, now + dt.timedelta(seconds=29)) == []
    assert again is not None
    retried = lease_due(sessions, again)
    assert [(m.id, m.attempts) for m in retried] == [(second.id, 2)]
    assert retry_at(2, 30, now) == now + dt.timedelta(seconds=60)
    assert retry_at(MAX_ATTEMPTS, 30, now) is None
    mark_failed_attempt(sessions, second.id, "errcode 43004", None)
    states = {m.id: (m.state, m.last_error, m.sent_at is not None) for m in _outbox(engine)}
    assert states == {first.id: (SENT, None, True), second.id: (FAILED, "errcode 43004", False)}
    assert lease_due(sessions, now + dt.timedelta(days=1)) == []


async def test_two_replicas_send_each_template_message_once(engine: Engine) -> None:
    """Two web replicas' outbox rounds at the same moment over the same rows: every person gets
    one template message, and every row ends sent."""
    sessions = make_session_factory(engine)
    people = [f"o-replica-{n}" for n in range(6)]
    for openid in people:
        _answered_ticket(engine, _wechat_person(engine, openid, dt.timedelta(days=3)))
    claim_answer_notices(sessions)
    api = FakeWeChatAPI(APPID, SECRET)
    api.template_ids.add(TEMPLATE_ID)
    await api.start()
    settings = Settings(
        wechat_appid=APPID,
        wechat_secret=SECRET,
        wechat_api_base=api.api_base,
        wechat_answer_template=TEMPLATE_ID,
    )
    services = [CustomerService(settings), CustomerService(settings)]
    try:
        replicas = [TemplateOutbox(settings, sessions, service) for service in services]
        await asyncio.gather(*(replica.send_due() for replica in replicas))
    finally:
        for service in services:
            service.close()
        await api.close()
    assert sorted(t["touser"] for t in api.templates) == people
    assert {m.state for m in _outbox(engine)} == {SENT}
