"""The names a person gives in a conversation (bot/domain/callers.names_said), which the console
masks on every transcript and retention clears — also in chats that filed no ticket."""

from __future__ import annotations

import yaml

from bot.config import PROJECT_ROOT
from bot.domain.callers import mask_names, name_in_answer, names_said
from bot.domain.privacy import mask_name
from bot.domain.tables import load_table

ASK = "请问怎么称呼您？不愿留名可以回复「匿名」（匿名不影响受理，但承办单位可能无法向您反馈）。"


def test_self_introductions_and_answers_to_the_name_question_are_names() -> None:
    turns = [
        ("in", "我要投诉，小区门口路灯坏了两个月"),
        ("out", "您反映的是哪个单位或部门？"),
        ("in", "城管局"),  # an answer, but not to the name question
        ("out", ASK),
        ("in", "俺姓牛 牛大勇 跟老板一个姓"),
        ("in", "对了我是老王，住王城大道那边"),  # 老王 is a self-introduction
        ("out", ASK),
        ("in", "匿名"),
        ("out", ASK),
        ("in", "我姓王"),  # a bare surname: not masked (it would take 王城大道 with it)
        ("operator", "我是话务员小李"),  # not the person's
    ]
    assert names_said(turns) == ["牛大勇", "老王"]
    assert names_said([("in", "我叫张伟，电话13812345678")]) == ["张伟"]
    assert names_said([("out", ASK), ("in", "我们小区停水三天了" * 10)]) == []  # a story


def test_names_are_masked_everywhere_longest_first() -> None:
    text = "牛大勇说：牛大勇先生住王城大道，老王知道"
    assert mask_names(text, ["牛大勇", "老王"], mask_name) == "牛**说：牛**先生住王城大道，老*知道"
    assert mask_names(text, ["王"], mask_name) == text  # one character is never a name here


def test_the_intake_and_the_masking_read_an_answer_the_same_way() -> None:
    assert name_in_answer("俺姓牛 牛大勇 跟老板一个姓") == "牛大勇"
    assert name_in_answer("我是张女士") == "张女士"


def test_the_name_question_is_the_one_the_bot_asks() -> None:
    """callers.yml's name_questions must stay in step with domain.yml's utter_ask_caller_name."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    asked = [r["text"] for r in domain["responses"]["utter_ask_caller_name"]]
    questions = load_table("callers")["name_questions"]
    assert asked and all(any(q in text for q in questions) for text in asked)
