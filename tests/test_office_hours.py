"""When a human web-chat seat is there (data/hotline/office_hours.yml on the 2026 holiday
calendar), what a person asking for one is told, and when two misunderstood messages in a row
hand a conversation over — with the moment injected, never read from the machine's clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rasa_sdk import Tracker

from actions.handoff import fallback_reason, not_understood_in_a_row, queued_reply
from bot.domain.office_hours import load_office_hours, when_phrase
from bot.domain.service_questions import answer_text, find_service_question
from bot.domain.workdays import LOCAL_TZ, load_calendar


def at(m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, m, d, hh, mm, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    ("moment", "opening", "said"),
    [
        (at(11, 27, 9), at(11, 27, 9), "今天9:00"),  # Friday morning: open now
        (at(11, 27, 12, 0), at(11, 27, 14, 30), "今天14:30"),  # lunch break starts at 12:00
        (at(11, 27, 8, 29), at(11, 27, 8, 30), "今天8:30"),
        (at(11, 26, 18, 0), at(11, 27, 8, 30), "明天（周五）8:30"),  # closes at 18:00
        (at(11, 27, 18, 30), at(11, 30, 8, 30), "11月30日（周一）8:30"),  # Friday night
        (at(11, 28, 10), at(11, 30, 8, 30), "后天（周一）8:30"),  # Saturday
        (at(9, 30, 19), at(10, 8, 8, 30), "10月8日（周四）8:30"),  # before 国庆节
        (at(10, 10, 9), at(10, 10, 9), "今天9:00"),  # a 调休 Saturday is a working day
        (at(10, 9, 23), at(10, 10, 8, 30), "明天（周六）8:30"),
    ],
)
def test_the_next_opening_follows_periods_and_the_holiday_calendar(
    moment: dt.datetime, opening: dt.datetime, said: str
) -> None:
    hours = load_office_hours()
    assert hours.is_open(moment) == (opening == moment)
    assert hours.next_opening(moment) == opening
    assert when_phrase(hours.next_opening(moment), moment) == said


def test_utc_moments_are_read_in_beijing_time() -> None:
    hours = load_office_hours()
    # 01:00 UTC is 09:00 in Luoyang, a Friday.
    assert hours.is_open(dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        hours.is_open(dt.datetime(2026, 11, 27, 9, 0))


def test_a_broken_hours_file_fails_at_load_time(tmp_path: Path) -> None:
    path = tmp_path / "office_hours.yml"
    path.write_text('periods:\n  - {from: "14:30", to: "12:00"}\ndescribe: x\n', encoding="utf-8")
    with pytest.raises(ValueError, match="before it starts"):
        load_office_hours(path, load_calendar())
    path.write_text('periods:\n  - {from: "8点半", to: "12:00"}\ndescribe: x\n', encoding="utf-8")
    with pytest.raises(ValueError, match="HH:MM"):
        load_office_hours(path, load_calendar())


def test_the_person_is_told_their_place_and_when_a_human_will_be_there() -> None:
    assert queued_reply(2, at(11, 27, 10)) == ("utter_handoff_queued", {"position": 2})
    response, values = queued_reply(1, at(11, 27, 22).astimezone(dt.UTC))
    assert response == "utter_handoff_queued_after_hours"
    assert values == {
        "position": 1,
        "hours": "工作日 8:30–12:00、14:30–18:00",
        "opens": "11月30日（周一）8:30",
    }


def test_asking_when_the_seats_work_answers_from_the_same_file() -> None:
    question = find_service_question("你们几点下班？")
    assert question is not None
    answer = answer_text(question, sign_days=1, answer_days=13)
    assert "工作日 8:30–12:00、14:30–18:00" in answer and "24小时" in answer


def _tracker(*turns: tuple[str, str, str]) -> Tracker:
    """(text, intent, the bot's action after it) per user turn; the last turn is being answered."""
    events: list[dict] = [{"event": "session_started"}]
    for number, (text, intent, action) in enumerate(turns):
        events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}})
        if number < len(turns) - 1:
            events += [
                {"event": "action", "name": action},
                {"event": "action", "name": "action_listen"},
            ]
    return Tracker(
        sender_id="unit",
        slots={},
        latest_message=events[-1]["parse_data"],
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def _never(text: str) -> bool:
    return False


def test_two_misunderstood_messages_in_a_row_are_counted_and_nothing_else() -> None:
    clarify = "action_clarify_category"
    two = _tracker(
        ("你好", "greet", "utter_greet"),
        ("阿巴阿巴", "nlu_fallback", clarify),
        ("咕噜咕噜", "nlu_fallback", ""),
    )
    assert not_understood_in_a_row(two, _never) == ["阿巴阿巴", "咕噜咕噜"]
    assert fallback_reason(["阿巴阿巴", "咕噜咕噜"]) == "连续2次未能理解：阿巴阿巴 / 咕噜咕噜"
    # Something understood in between breaks the run.
    broken = _tracker(
        ("阿巴阿巴", "nlu_fallback", clarify),
        ("你好", "greet", "utter_greet"),
        ("咕噜咕噜", "nlu_fallback", ""),
    )
    assert not_understood_in_a_row(broken, _never) == ["咕噜咕噜"]
    # A form that took the first message as its answer understood it.
    in_form = _tracker(
        ("王二麻", "nlu_fallback", "complaint_form"), ("咕噜咕噜", "nlu_fallback", "")
    )
    assert not_understood_in_a_row(in_form, _never) == ["咕噜咕噜"]
    # A question about the service answered from the table was understood.
    asked = _tracker(("几点下班", "nlu_fallback", clarify), ("咕噜咕噜", "nlu_fallback", ""))
    assert not_understood_in_a_row(asked, lambda text: "下班" in text) == ["咕噜咕噜"]
