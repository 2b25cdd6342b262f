"""The access code (提取码) is shown to the person once and kept masked everywhere else: the
gateway's record (messages, cards, NLU entities), Rasa's events (tracker store and broker), the
rows recorded before (migration 0011); and a lost filing reply is made good with a fresh code.
The conversations through the real processes are in tests/test_access_codes_stack.py."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from sqlalchemy import Engine, insert, select

from bot.config import PROJECT_ROOT
from bot.conversations.record import ConversationStore, Understanding
from bot.domain.privacy import mask_text
from bot.domain.tickets import MASKED_CODE, mask_access_codes, mask_labelled_access_codes
from bot.privacy.masked_logs import mask_line
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import Conversation, ConversationMessage, Ticket, TicketEvent
from bot.tickets.service import TicketDraft, TicketService
from bot.training import RASA_VENV, rasa_env
from bot.web.gateway import Reply
from rasa_plugins.event_masking import masked_events
from tests.conftest import require
from tests.gateway_support import messages_of

NUMBER = "LY20261208-0007"
AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
FILED = f"已受理！您的工单号是 {NUMBER}，提取码 233667。请现在记下提取码。"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (f"查询工单 {NUMBER} 654321", f"查询工单 {NUMBER} {MASKED_CODE}"),
        (f"{NUMBER.lower()},654321", f"{NUMBER.lower()},{MASKED_CODE}"),
        ("我的提取码是 654321 谢谢", f"我的提取码是 {MASKED_CODE} 谢谢"),
        ("提取码：６５４３２１", f"提取码：{MASKED_CODE}"),
        # Not a code: no ticket, no label, not asked for.
        ("654321", "654321"),
        ("邮编471000", "邮编471000"),
        ("欠了我们123456元", "欠了我们123456元"),
    ],
)
def test_a_typed_code_is_masked_and_other_numbers_are_not(typed: str, kept: str) -> None:
    assert mask_access_codes(typed) == kept


def test_a_bare_code_is_masked_when_asked_for_or_taken_as_the_code() -> None:
    assert mask_access_codes("654321", asked=True) == MASKED_CODE
    assert mask_access_codes("是 654321 吧", known=("654321",)) == f"是 {MASKED_CODE} 吧"
    assert mask_access_codes("邮编471000", asked=True) == "邮编471000"


def test_the_bot_s_words_and_log_lines_lose_the_labelled_code() -> None:
    assert "233667" not in mask_labelled_access_codes(FILED) and NUMBER in FILED
    # Every log line goes through mask_text (bot/privacy/masked_logs.py): the code too.
    line = f'Bot utters "{FILED}" for sender web-1a2b3c123456d'
    masked = mask_text(line)
    assert "233667" not in masked and "web-1a2b3c123456d" in masked


def test_a_log_line_loses_every_six_digit_number_standing_alone() -> None:
    """Rasa's DEBUG lines quote a typed code and the slots with no label (bot/privacy/masked_logs.py)."""
    for line, kept in [
        ("Received user message '654321' with intent", "Received user message '******' with"),
        ("\taccess_code: 654321", "\taccess_code: ******"),
        ("sender web-1a2b123456cd /conversations/abc123456/tracker", "web-1a2b123456cd"),
        ("身份证410305********9251", "410305********9251"),
    ]:
        assert kept in mask_line(line.encode()).decode()


def test_a_turn_of_rasa_events_is_kept_masked() -> None:
    """The status form's turn: the code typed alone after the question, taken into the slot;
    the filing reply in the bot's words and a button payload. Nothing else changes."""
    turn = [
        {"event": "bot", "text": "请发一下6位提取码（受理时和工单号一起告诉您的）。", "data": {}},
        {
            "event": "user",
            "text": "654321",
            "parse_data": {
                "text": "654321",
                "intent": {"name": "inform", "confidence": 0.9},
                "entities": [{"entity": "access_code", "value": "654321", "start": 0, "end": 6}],
            },
            "metadata": {"hotline_sender": "web:0123456789abcdef0123456789abcdef"},
        },
        {"event": "slot", "name": "access_code", "value": "654321"},
        {"event": "slot", "name": "ticket_id", "value": NUMBER},
        {
            "event": "bot",
            "text": FILED,
            "data": {"buttons": [{"title": "复制", "payload": FILED}]},
            # Rasa keeps a response's template variables in the event's metadata.
            "metadata": {"ticket_id": NUMBER, "access_code": "233667", "utter_action": "x"},
        },
        {"event": "action", "name": "action_listen"},
    ]
    kept = masked_events(turn)
    dumped = json.dumps(kept, ensure_ascii=False)
    assert "654321" not in dumped and "233667" not in dumped
    assert kept[1]["text"] == MASKED_CODE and kept[1]["parse_data"]["text"] == MASKED_CODE
    assert kept[1]["parse_data"]["entities"][0]["value"] == MASKED_CODE
    assert kept[1]["metadata"] == turn[1]["metadata"]  # a sender key is not a code
    assert kept[2]["value"] == MASKED_CODE and kept[3] == turn[3] and kept[5] == turn[5]
    assert NUMBER in kept[4]["text"] and NUMBER in kept[4]["data"]["buttons"][0]["payload"]
    assert kept[4]["metadata"] == {**turn[4]["metadata"], "access_code": MASKED_CODE}
    assert turn[2]["value"] == "654321"  # copies: the turn itself is untouched


def test_the_record_keeps_the_code_masked_and_the_person_sees_it(engine: Engine) -> None:
    store = ConversationStore(make_session_factory(engine))
    conversation = store.current("web", "c" * 32)
    opening = store.record_inbound(conversation.id, "确认提交", None)
    reply = Reply.from_rasa({"text": FILED})
    assert reply.card == {"number": NUMBER, "access_code": "233667"}  # what the person gets
    store.record_replies(conversation.id, opening.message_id, [reply])
    asking = store.record_inbound(conversation.id, "查询工单", None)
    store.record_replies(conversation.id, asking.message_id, [Reply("请发一下6位提取码。")])
    typed = store.record_inbound(conversation.id, "233667", None)
    store.record_understanding(
        typed.message_id,
        Understanding.from_parse(
            {"entities": [{"entity": "access_code", "value": "233667", "start": 0, "end": 6}]}
        ),
    )
    rows = messages_of(engine, conversation.id)
    stored = json.dumps(
        [(r.text, r.card, r.entities) for r in rows], ensure_ascii=False
    )  # fmt: skip
    assert "233667" not in stored
    assert json.loads(rows[1].card or "{}") == {"number": NUMBER, "access_code": MASKED_CODE}
    assert rows[-1].text == MASKED_CODE
    assert json.loads(rows[-1].entities or "[]")[0]["value"] == MASKED_CODE
    store.record_replies(conversation.id, typed.message_id, [Reply("请问还有什么可以帮您？")])
    # A bare number nobody asked a code for stays as typed.
    plain = store.record_inbound(conversation.id, "654321", None)
    assert messages_of(engine, conversation.id)[-1].id == plain.message_id
    assert messages_of(engine, conversation.id)[-1].text == "654321"


def test_migration_0011_masks_what_was_recorded_in_clear(database_url: str) -> None:
    upgrade(database_url, "0010")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            ids = []
            for key in ("a", "b"):
                ids.append(
                    conn.execute(
                        insert(Conversation.__table__).values(
                            channel="web", sender_key=key * 32, rasa_sender_id=f"web-{key}",
                            state="bot", created_at=AT, last_active_at=AT,
                        )
                    ).inserted_primary_key[0]
                )  # fmt: skip
            a, b = ids
            rows = [
                (a, "out", FILED, json.dumps({"number": NUMBER, "access_code": "233667"}), None),
                (b, "out", "请发一下6位提取码。", None, None),
                (a, "in", f"查询 {NUMBER} 233667", None, None),
                (b, "in", "233667", None, json.dumps([{"entity": "access_code",
                 "value": "233667", "start": 0, "end": 6}])),
                (b, "out", "请问还有什么可以帮您？", None, None),
                (b, "in", "654321", None, None),  # the bot did not ask for a code: not one
            ]  # fmt: skip
            for conversation, direction, text, card, entities in rows:
                conn.execute(
                    insert(ConversationMessage.__table__).values(
                        conversation_id=conversation, direction=direction, text=text,
                        buttons="[]", card=card, entities=entities,
                        at=AT, pushed=False,
                    )
                )  # fmt: skip
        upgrade(database_url)
        with engine.connect() as conn:
            kept = conn.execute(
                select(
                    ConversationMessage.text, ConversationMessage.card, ConversationMessage.entities
                ).order_by(ConversationMessage.id)
            ).all()
    finally:
        engine.dispose()
    assert "233667" not in json.dumps([tuple(r) for r in kept], ensure_ascii=False)
    assert kept[0].text == mask_labelled_access_codes(FILED) and NUMBER in kept[0].card
    assert kept[2].text == f"查询 {NUMBER} {MASKED_CODE}" and kept[3].text == MASKED_CODE
    assert kept[5].text == "654321"


def test_a_fresh_code_replaces_the_lost_one_for_the_filing_conversation_only(
    service: TicketService, engine: Engine
) -> None:
    store = ConversationStore(make_session_factory(engine))
    conversation = store.current("web", "d" * 32)
    filed = service.file(
        TicketDraft("小区门口路灯坏了两个月", "洛阳市城市管理局", "洛龙区", "13812345678",
                    conversation.rasa_sender_id)
    )  # fmt: skip
    assert filed.access_code is not None
    assert not service.confirmation_recorded(filed.number, conversation.rasa_sender_id)
    # Rasa's REST channel used directly (no recorded conversation): no evidence of a loss.
    assert service.confirmation_recorded(filed.number, "rest-without-a-record")
    assert service.reissue_code(filed.number, "web-someone-else") is None
    fresh = service.reissue_code(filed.number, conversation.rasa_sender_id)
    assert fresh is not None and len(fresh) == 6
    assert service.lookup(filed.number, fresh) is not None
    if fresh != filed.access_code:
        assert service.lookup(filed.number, filed.access_code) is None
    with engine.connect() as conn:
        ticket_id = conn.execute(
            select(Ticket.id).where(Ticket.number == filed.number)
        ).scalar_one()
        actions = conn.execute(
            select(TicketEvent.action, TicketEvent.actor).where(TicketEvent.ticket_id == ticket_id)
        ).all()
    assert ("reissue_code", "citizen") in [tuple(a) for a in actions]
    inbound = store.record_inbound(conversation.id, "刚才提交成功了吗", None)
    store.record_replies(
        conversation.id,
        inbound.message_id,
        [Reply(f"工单号是 {filed.number}，提取码 {fresh}（新生成，原提取码作废）。")],
    )
    assert service.confirmation_recorded(filed.number, conversation.rasa_sender_id)


CHECK = r"""
import asyncio, json, sys
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa_plugins import event_masking, sql_tracker_store
event_masking.install()
if sys.argv[2] == "ours":
    sql_tracker_store.install()

class Recording(EventBroker):
    def __init__(self): self.published = []
    def publish(self, event): self.published.append(event)

async def main():
    broker = Recording()
    domain = Domain.from_dict({"slots": {"access_code": {
        "type": "text", "influence_conversation": False, "mappings": [{"type": "custom"}]}}})
    store = SQLTrackerStore(domain, dialect="sqlite", db=sys.argv[1], event_broker=broker)
    tracker = store.init_tracker("web-x")
    turns = [
        [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
        [UserUttered("确认提交", {"name": "affirm", "confidence": 1.0}),
         BotUttered("已受理！您的工单号是 LY20261208-0007，提取码 233667。",
                    metadata={"ticket_id": "LY20261208-0007", "access_code": "233667"}),
         ActionExecuted("action_listen")],
        [UserUttered("查询工单 LY20261208-0007 654321", {"name": "query_status", "confidence": 1.0},
                     [{"entity": "access_code", "value": "654321", "start": 21, "end": 27}]),
         SlotSet("access_code", "654321"), ActionExecuted("action_listen")],
        [UserUttered("112233", {"name": "inform", "confidence": 1.0}),
         SlotSet("access_code", "112233"), SlotSet("access_code", None),
         ActionExecuted("action_listen")],
    ]
    for events in turns:
        if sys.argv[2] == "ours":
            await store.retrieve(tracker.sender_id)  # as Rasa's processor reads before a turn
        for event in events:
            tracker.update(event)
        await store.save(tracker)
    with store.session_scope() as session:
        rows = [r.data for r in session.query(store.SQLEvent).all()]
    print(json.dumps({"rows": rows, "published": broker.published}, ensure_ascii=False))

asyncio.run(main())
"""


@pytest.mark.parametrize("save", ["ours", "rasa"])
def test_rasa_stores_and_publishes_every_turn_masked(save: str, tmp_path: object) -> None:
    """Both ways a turn reaches the tracker store (our save, Rasa's own) and the broker."""
    require(RASA_VENV.exists(), "scripts/setup.sh builds the Rasa environment")
    python = RASA_VENV / "bin" / "python"
    db = f"{tmp_path}/tracker.db"
    done = subprocess.run(
        [str(python), "-c", CHECK, db, save],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=rasa_env(), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    dumped = json.dumps(found, ensure_ascii=False)
    for code in ("233667", "654321", "112233"):
        assert code not in dumped, code
    # Every turn was stored and published (the number with it; only the codes are masked).
    for kept in (found["rows"], [json.dumps(e, ensure_ascii=False) for e in found["published"]]):
        assert sum(f"提取码 {MASKED_CODE}" in json.loads(e).get("text", "") for e in kept) == 1
        assert sum('"slot"' in e and "access_code" in e for e in kept) == 3
