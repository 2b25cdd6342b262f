"""Action unit tests: rasa-sdk's CollectingDispatcher and trackers built from events."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clarify import ActionClarifyCategory
from actions.intake import ValidateComplaintForm


def _tracker(
    text: str, intent: str, confidence: float, ranking: list[tuple[str, float]], **slots: Any
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "entities": [],
    }
    return Tracker(
        sender_id="unit",
        slots={"requested_slot": None, **slots},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_unsure_message_gets_the_likeliest_categories_as_buttons() -> None:
    text = "他们那个钱的事一直拖着不给办，找谁都说等等，已经好几个月了"
    tracker = _tracker(
        text,
        "nlu_fallback",
        0.45,
        [
            ("nlu_fallback", 0.45),
            ("complain_arrears", 0.38),
            ("complain_dereliction", 0.31),
            ("greet", 0.2),
            ("complain_broken_promise", 0.12),
            ("complain_livelihood", 0.01),
        ],
    )
    dispatcher = CollectingDispatcher()
    events = await ActionClarifyCategory().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_choose_category"
    assert [(b["title"], b["payload"]) for b in message["buttons"]] == [
        ("拖欠企业账款", "/complain_arrears"),
        ("履职不到位", "/complain_dereliction"),
        ("承诺不兑现", "/complain_broken_promise"),
        ("都不是", "/complain"),
    ]
    # The caller's words are kept: choosing a button does not make them say it again.
    assert events == [SlotSet("description", text)]


async def test_unsure_without_any_complaint_candidate_says_what_the_bot_can_do() -> None:
    tracker = _tracker(
        "嗯嗯啊啊", "nlu_fallback", 0.45, [("nlu_fallback", 0.45), ("greet", 0.4), ("thanks", 0.3)]
    )
    dispatcher = CollectingDispatcher()
    assert await ActionClarifyCategory().run(dispatcher, tracker, {}) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_default"]


@pytest.mark.parametrize(
    ("intent", "text", "expected_category", "expects_description"),
    [
        ("complain_arrears", "洛龙区住建局拖欠我们工程款三十八万元两年了", "arrears", True),
        ("complain_livelihood", "楼下太吵了", "livelihood", False),  # too short to be the story
        ("complain", "我要投诉一个单位的问题可以吗", None, False),  # no category yet
    ],
)
async def test_first_turn_prefills_category_and_story(
    intent: str, text: str, expected_category: str | None, expects_description: bool
) -> None:
    tracker = _tracker(text, intent, 0.99, [(intent, 0.99)])
    slots = await _form_turn(tracker)
    assert slots.get("category") == expected_category
    assert ("description" in slots) is expects_description
    if expects_description:
        assert slots["description"] == text


async def _form_turn(tracker: Tracker) -> dict[str, Any]:
    """One turn of the complaint form: the slots it sets."""
    events = await ValidateComplaintForm().run(CollectingDispatcher(), tracker, {})
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_every_respondent_in_the_first_message_is_named_once() -> None:
    text = "翠微社区居委会和恒通物业互相踢皮球，顶楼漏水找恒通物业说不归他们管"
    tracker = _tracker(text, "complain_dereliction", 0.9, [("complain_dereliction", 0.9)])
    tracker.latest_message["entities"] = [
        {"entity": "organization", "value": "翠微社区居委会", "start": 0, "end": 7},
        {"entity": "organization", "value": "恒通物业", "start": 8, "end": 12},
        {"entity": "district", "value": "西工区", "start": 0, "end": 0},
        {"entity": "organization", "value": "恒通物业", "start": 24, "end": 28},
    ]
    slots = await _form_turn(tracker)
    assert slots["organization"] == "翠微社区居委会、恒通物业"
    assert slots["district"] == "西工区"


def test_the_filing_key_is_the_conversation_and_the_facts_not_the_message() -> None:
    """Confirming again after the first 已受理 was lost (a database restart between the commit
    and the answer) must find the first ticket: the key does not change with the message."""
    from actions._shared import filing_key
    from bot.tickets.service import TicketDraft

    draft = TicketDraft(
        description="小区门口路灯坏了一个月",
        organization="城市管理局",
        district="洛龙区",
        phone="13912345678",
        sender_id="unit",
    )
    first = _tracker("确认提交", "affirm", 0.9, [("affirm", 0.9)])
    again = _tracker("确认", "affirm", 0.8, [("affirm", 0.8)])
    again.events[0]["message_id"] = "another-message"
    assert filing_key(first, draft) == filing_key(again, draft)
    other = TicketDraft(**{**draft.__dict__, "district": "西工区"})
    assert filing_key(first, other) != filing_key(first, draft)
    assert filing_key(first, draft).startswith("unit:")
