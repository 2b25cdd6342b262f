"""The gateway's record on SQLite and PostgreSQL: duplicates count once, 「新的对话」 keeps the old
transcript, and an answered ticket's notice is recorded exactly once however many pollers race."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select

from bot.conversations.record import ConversationStore
from bot.store.db import make_engine, make_session_factory
from bot.store.models import TicketNotice
from bot.tickets.notices import claim_answer_notices
from bot.tickets.service import TicketDraft, TicketService
from bot.web.gateway import Reply, ticket_card
from tests.gateway_support import ANSWER, answer_ticket, messages_of


def test_a_repeated_external_id_is_recorded_once(engine: Engine) -> None:
    store = ConversationStore(make_session_factory(engine))
    conversation = store.current("wechat", "openid-1")
    first = store.record_inbound(conversation.id, "我要投诉", "msg-1")
    assert store.replies_to(first.message_id) is None  # still being answered
    store.record_replies(conversation.id, first.message_id, [Reply("请描述一下", [])])
    again = store.record_inbound(conversation.id, "我要投诉", "msg-1")
    assert again == type(again)(first.message_id, duplicate=True)
    replies = store.replies_to(first.message_id)
    assert replies is not None and [r.text for r in replies] == ["请描述一下"]
    # The same channel id in another person's conversation is another message.
    other = store.current("wechat", "openid-2")
    assert not store.record_inbound(other.id, "你好", "msg-1").duplicate
    assert [m.direction for m in messages_of(engine, conversation.id)] == ["in", "out"]


def test_a_new_conversation_keeps_the_old_transcript(engine: Engine) -> None:
    store = ConversationStore(make_session_factory(engine))
    old = store.current("web", "k" * 32)
    store.record_inbound(old.id, "你好", None)
    fresh = store.open_new("web", "k" * 32)
    assert fresh.id != old.id and fresh.rasa_sender_id != old.rasa_sender_id
    assert store.current("web", "k" * 32).id == fresh.id
    assert [m.text for m in store.history(old.id)] == ["你好"] and store.history(fresh.id) == []
    closed = store.get(old.id)
    assert closed is not None and closed.state == "closed"


def test_an_answer_is_noticed_exactly_once_across_pollers(
    database_url: str, engine: Engine
) -> None:
    sessions = make_session_factory(engine)
    store = ConversationStore(sessions)
    conversation = store.current("web", "p" * 32)
    filed = TicketService(sessions).file(
        TicketDraft("小区门口路灯坏了两个月", "洛阳市城市管理局", "洛龙区", "13812345678",
                    conversation.rasa_sender_id)
    )  # fmt: skip
    answer_ticket(engine, filed.number)
    # Four "replicas", each with its own engine, poll at the same moment.
    claimed: list[int] = []
    barrier = threading.Barrier(4)

    def poll() -> None:
        own = make_engine(database_url)
        try:
            barrier.wait()
            claimed.extend(len(c.messages) for c in claim_answer_notices(make_session_factory(own)))
        finally:
            own.dispose()

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert claimed == [1]
    assert claim_answer_notices(sessions) == []  # later rounds find nothing new
    texts = [m.text for m in messages_of(engine, conversation.id)]
    assert texts == [f"您的工单 {filed.number} 已有答复：{ANSWER}"]


def test_a_ticket_filed_outside_a_conversation_is_claimed_but_not_pushed(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    filed = TicketService(sessions).file(
        TicketDraft("路灯坏了", "洛阳市城市管理局", "洛龙区", "13812345679", "phone-call-1")
    )
    answer_ticket(engine, filed.number)
    assert claim_answer_notices(sessions) == []
    with engine.connect() as conn:
        notices = conn.execute(select(TicketNotice.conversation_id)).all()
    assert notices == [(None,)]  # claimed, so the next round does not look at it again


def test_the_filing_reply_becomes_a_card() -> None:
    text = "已受理！您的工单号是 LY20261129-0007，提取码 804512。请妥善保存。"
    assert ticket_card(text) == {"number": "LY20261129-0007", "access_code": "804512"}
    assert ticket_card("请问是哪个单位？") is None
