"""Organisation rules and their merge with the CRF's spans."""

from __future__ import annotations

import pytest

from bot.domain.organizations import Span, merge, rule_spans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("市信访局回复说一个月内给结果", ["市信访局"]),
        ("我司与瀍河区政府于2022年签订合同", ["瀍河区政府"]),
        ("洛龙区某小学去年采购的课桌椅", ["洛龙区某小学"]),
        ("代课老师的工资被嵩县某乡镇中心小学拖了一学期", ["嵩县某乡镇中心小学"]),
        ("高新区某电子厂两个月没发钱了", ["高新区某电子厂"]),
        ("新安县教育局和宜阳县某建筑公司", ["新安县教育局", "宜阳县某建筑公司"]),
        # No anchor, no rule: the CRF decides.
        ("我在镇上开饭店，镇里吃饭打白条", []),
        ("住建局说要先去资规局", []),
    ],
)
def test_anchored_names_are_found_whole(text: str, expected: list[str]) -> None:
    assert [s.value for s in rule_spans(text)] == expected


def test_a_rule_extends_a_name_the_model_cut_short() -> None:
    text = "老城区某快递驿站欠我半个月工资"
    assert [s.value for s in merge(text, [Span(0, 6, "老城区某快递")])] == ["老城区某快递驿站"]


def test_a_repeated_short_mention_and_a_bare_place_are_dropped() -> None:
    text = "洛龙区住建局说要先去资规局，资规局说要先去住建局，洛阳市也不管"
    model = [Span(0, 6, "洛龙区住建局"), Span(21, 24, "住建局"), Span(25, 28, "洛阳市")]
    assert [s.value for s in merge(text, model)] == ["洛龙区住建局"]


def test_model_spans_the_rules_do_not_know_are_kept() -> None:
    text = "洛阳锦程物业没开业主大会就涨物业费"
    assert merge(text, [Span(0, 6, "洛阳锦程物业")]) == [Span(0, 6, "洛阳锦程物业")]
