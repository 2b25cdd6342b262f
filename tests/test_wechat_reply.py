"""Buttons as numbered choices and typed numbers back into payloads (no stack needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.web.wechat_reply import (
    chosen_number,
    last_offered,
    render,
    split_for_wechat,
    translate_choice,
)

SUMMARY_BUTTONS = [
    {"title": "确认提交", "payload": "/affirm"},
    {"title": "修改", "payload": "修改"},
    {"title": "取消", "payload": "/deny"},
]


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


def test_buttons_are_written_as_numbered_choices() -> None:
    text = render([Reply("请核对您的工单信息：……", SUMMARY_BUTTONS)])
    assert text == "请核对您的工单信息：……\n\n1. 确认提交 2. 修改 3. 取消 — 回复数字选择"


def test_several_replies_make_one_text_and_choices_run_on() -> None:
    text = render(
        [Reply("好的。"), Reply("您是以个人身份，还是代表企业反映？", SUMMARY_BUTTONS[:2])]
    )
    assert text.splitlines()[0] == "好的。"
    assert text.endswith("1. 确认提交 2. 修改 — 回复数字选择")
    assert render([Reply("只有文字")]) == "只有文字"


@pytest.mark.parametrize(
    ("typed", "number"),
    [("1", 1), ("１", 1), (" 2 ", 2), ("3.", 3), ("３。", 3), ("10", 10)],
)
def test_typed_numbers_are_read_half_or_full_width(typed: str, number: int) -> None:
    assert chosen_number(typed) == number


@pytest.mark.parametrize("typed", ["一", "1个", "138", "", "第1个", "1 2"])
def test_other_text_is_not_a_choice(typed: str) -> None:
    assert chosen_number(typed) is None


def test_a_number_becomes_the_payload_only_when_offered() -> None:
    assert translate_choice("１", SUMMARY_BUTTONS) == "/affirm"
    assert translate_choice("3", SUMMARY_BUTTONS) == "/deny"
    assert translate_choice("4", SUMMARY_BUTTONS) == "4"
    assert translate_choice("0", SUMMARY_BUTTONS) == "0"
    assert translate_choice("1", []) == "1"


def test_long_texts_are_cut_under_wechats_limit() -> None:
    text = "\n".join(["投诉内容" * 60] * 5)  # 5 lines of 720 bytes
    parts = split_for_wechat(text, limit=2000)
    assert len(parts) == 3 and all(len(p.encode()) <= 2000 for p in parts)  # 2 + 2 + 1 lines
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    one_line = "长" * 1500  # 4,500 bytes without a line end
    parts = split_for_wechat(one_line, limit=2000)
    assert all(len(p.encode()) <= 2000 for p in parts) and "".join(parts) == one_line


def test_the_choices_are_those_of_the_bots_latest_turn() -> None:
    def out(text: str, buttons: list[dict[str, str]]) -> dict[str, object]:
        return {"direction": "out", "text": text, "buttons": buttons}

    summary = out("请核对……", SUMMARY_BUTTONS)
    history = [
        {"direction": "in", "text": "我要投诉", "buttons": []},
        out("您是以个人身份，还是代表企业反映？", [{"title": "个人", "payload": "个人"}]),
        {"direction": "in", "text": "1", "buttons": []},
        out("好的。", []),
        summary,
    ]
    assert last_offered(history) == SUMMARY_BUTTONS
    # The person answered since: what the bot offered before is no longer a choice.
    assert last_offered([*history, {"direction": "in", "text": "1", "buttons": []}]) == []
    # An operator's message after the bot's turn belongs to the same turn.
    operator = {"direction": "operator", "text": "您好，我是话务员小李", "buttons": []}
    assert last_offered([*history, operator]) == SUMMARY_BUTTONS
    assert last_offered([]) == []
