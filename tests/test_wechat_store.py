"""The WeChat channel's rows on SQLite and PostgreSQL: the replay window's (timestamp, nonce),
the 48-hour customer-service window, and the template outbox's states, leases and retries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select, update

from bot.tickets.conversations import ConversationStore
from bot.tickets.db import make_session_factory
from bot.tickets.models import ConversationMessage, WeChatNonce, WeChatTemplateMessage
from bot.tickets.notices import claim_answer_notices
from bot.tickets.service import TicketService
from bot.tickets.wechat_store import (
    FAILED,
    PENDING,
    SENT,
    claim_nonce,
    lease_due,
    mark_failed_attempt,
    mark_sent,
    window_open_in,
)
from bot.web.wechat_outbox import MAX_ATTEMPTS, retry_at, template_data
from tests.console_support import draft
from tests.gateway_support import answer_ticket


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
