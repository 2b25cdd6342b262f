"""What a correction must pass before it becomes training data: no copy of an evaluation message
(exact after normalisation, or near: rapidfuzz ratio >= 90), no real phone or ID number — and the
annotated YAML Rasa reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.identifiers import find_id_numbers
from bot.domain.privacy import pseudonymise_text
from bot.nlu_data import annotate, nlu_yaml, read_nlu_file
from bot.review.leakage import EvalSetMissing, load_eval_sets
from tests.conftest import require_real_eval_set
from tools.eval.callers import load_conversations
from tools.eval.datasets import DEV_SET, REAL_SET, real_set


def test_copies_of_every_evaluation_set_are_caught_and_new_words_are_not() -> None:
    require_real_eval_set()
    sets = load_eval_sets()
    real = real_set()[0].text
    dev = read_nlu_file(DEV_SET)[1].text
    said = load_conversations()[0]["say"][0]
    exact = sets.copies(real)
    assert exact is not None and exact.exact and exact.source == REAL_SET.name
    # Normalisation: full-width digits and traditional characters are the same message.
    widened = dev.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    traditional = dev.replace("医", "醫").replace("务", "務")
    assert traditional != dev
    for variant in (widened, traditional, " ".join(dev)):
        found = sets.copies(variant)
        assert found is not None and found.exact and found.source == "tests/nlu/dev_set.yml"
    # A near copy: a few characters changed in a long message.
    near = sets.copies(said[:-2] + "行吗")
    assert near is not None and not near.exact and near.score >= 90
    assert near.source.startswith("tests/callers (")
    # A clause lifted out of a long evaluation message, and a long one inside a correction.
    long_real = max((m.text for m in real_set()), key=len)
    clause = long_real[len(long_real) // 3 : len(long_real) // 3 + 16]
    lifted = sets.copies(clause)
    assert lifted is not None and lifted.fragment and not lifted.exact
    assert lifted.source == REAL_SET.name
    wrapped = sets.copies("我再说一遍：" + long_real + "，就这些")
    assert wrapped is not None and wrapped.source == REAL_SET.name
    assert sets.copies("我想反映一下我们村口那座桥的护栏去年冬天被车撞坏了一直没修") is None
    assert sets.copies("   ") is None


def test_without_the_real_complaint_set_nothing_is_checked_or_exported(tmp_path: Path) -> None:
    with pytest.raises(EvalSetMissing, match="真实投诉评测集不在"):
        load_eval_sets(real=tmp_path / "missing.jsonl")


def test_fake_numbers_keep_the_shape_and_the_offsets() -> None:
    text = "电话138 1234 5678，身份证41030219900101123X，座机(0379)63331234，合同号0379123456789"
    fake = pseudonymise_text(text)
    assert len(fake) == len(text)
    assert "1234 5678" not in fake and "41030219900101123X" not in fake and "63331234" not in fake
    assert re.search(r"电话13\d \d{4} \d{4}，", fake)  # the same spacing
    [(start, end, number)] = list(find_id_numbers(fake))
    assert (start, end) == (
        text.index("4103"),
        text.index("4103") + 18,
    ) and number != "41030219900101123X"
    assert fake.endswith("合同号0379123456789")  # labelled as a contract number: not a phone
    assert re.search(r"\(0379\)\d{8}", fake)


def test_annotated_examples_are_rasa_nlu_yaml(tmp_path: Path) -> None:
    text = "西工区城管局罚了我五千块"
    example = annotate(text, [("amount", 9, 12), ("organization", 0, 6)])
    assert example == "[西工区城管局](organization)罚了我[五千块](amount)"
    path = tmp_path / "nlu.yml"
    path.write_text(
        nlu_yaml([("complain_enterprise_harassment", example), ("greet", "你好\n啊")], "两条"),
        encoding="utf-8",
    )
    content = path.read_text(encoding="utf-8")
    assert (
        content.startswith('# 两条\nversion: "3.1"') and "  examples: |\n    - 你好 啊" in content
    )
    first, second = read_nlu_file(path)
    assert (first.intent, first.text) == ("complain_enterprise_harassment", text)
    assert first.entities == (("organization", "西工区城管局"), ("amount", "五千块"))
    assert (second.intent, second.text) == ("greet", "你好 啊")
