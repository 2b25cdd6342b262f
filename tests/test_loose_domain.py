"""The pure rules behind loose callers: self-introductions, corrections, questions about the
service, two matters in one message, and the one check of every intake value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from actions.intake_checks import Accepted, Refused, check
from bot.domain.callers import find_caller_name, find_own_company
from bot.domain.corrections import find_correction
from bot.domain.dates import parse_spoken_date
from bot.domain.matters import find_two_matters
from bot.domain.money import find_paid_amount, parse_spoken_amount
from bot.domain.service_questions import find_service_question


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我是老王，住在西工区", "老王"),
        ("我叫张伟，电话等会给你", "张伟"),
        ("俺叫梁天福", "梁天福"),
        ("免贵姓李", "李"),
        ("我是张女士", "张女士"),
        ("叫我老张就行", "老张"),
        ("我是个体户", None),
        ("我是小区业主", None),
    ],
)
def test_a_caller_who_introduces_themselves(text: str, name: str | None) -> None:
    assert find_caller_name(text) == name


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("我们是洛阳恒达机械有限公司的，城投欠我们钱", "洛阳恒达机械有限公司"),
        ("我司洛阳市鑫源建材有限公司", "洛阳市鑫源建材有限公司"),
        ("我们是汝阳县一家农业公司", None),
        ("我们公司被罚款", None),
        ("我们厂", None),
    ],
)
def test_the_company_a_caller_speaks_for(text: str, company: str | None) -> None:
    assert find_own_company(text) == company


@pytest.mark.parametrize(
    ("text", "new", "old"),
    [
        ("不对，是伊川县不是宜阳县", "伊川县", "宜阳县"),
        ("金额是四十万不是三十万", "四十万", "三十万"),
        ("不是宜阳县，是伊川县", "伊川县", "宜阳县"),
        ("电话错了，是13912345678", "13912345678", ""),
        ("姓名改成张伟", "张伟", ""),
        ("不对不对 应该是四十万", "四十万", ""),
    ],
)
def test_corrections_are_cut_into_new_and_old(text: str, new: str, old: str) -> None:
    correction = find_correction(text)
    assert correction is not None
    assert (correction.new_text, correction.old_text) == (new, old)


@pytest.mark.parametrize("text", ["我要投诉", "这事不对劲", "他说不是他的事", "是不是要很久"])
def test_not_every_不是_is_a_correction(text: str) -> None:
    assert find_correction(text) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("你们一般多久能答复？", "reply_time"),
        ("匿名会影响处理吗？", "anonymous"),
        ("你是真人吗？", "human"),
        ("你们几点下班", "hours"),
        ("这个要收费吗", "cost"),
        ("领导会不会报复我啊", "confidential"),
        ("多久了都没人管", None),  # a complaint, not a question
        ("物业乱收费怎么办", None),
        ("匿名", None),  # an answer to the name question
    ],
)
def test_questions_about_the_service(text: str, kind: str | None) -> None:
    found = find_service_question(text)
    assert (found.id if found else None) == kind


def test_spoken_amounts_and_dates() -> None:
    assert parse_spoken_amount("七千二") == 7200
    assert parse_spoken_amount("俺们仨一共一万五") == 15000
    assert parse_spoken_amount("这不涉及钱") is None
    assert find_paid_amount("一趟多掏了两千三") == 2300
    assert find_paid_amount("最后俩月工资七千二不给了") == 7200
    assert find_paid_amount("他们收了好多钱") is None
    today = dt.date(2026, 11, 28)
    assert parse_spoken_date("上个礼拜", today) == "2026-11"
    assert parse_spoken_date("2025年8月", today) == "2025-08"


def _fake_classifier(texts: Sequence[str]) -> list[dict[str, float]]:
    """Wages when a text speaks of 工钱, a promise when of 承诺, both halves for the whole."""
    out = []
    for text in texts:
        wages, promise = "工钱" in text, "承诺" in text
        if wages and promise:
            out.append({"complain_wage_arrears": 0.45, "complain_broken_promise": 0.4})
        elif wages:
            out.append({"complain_wage_arrears": 0.8, "complain_broken_promise": 0.05})
        elif promise:
            out.append({"complain_wage_arrears": 0.05, "complain_broken_promise": 0.7})
        else:
            out.append({"complain_livelihood": 0.9})
    return out


CATEGORIES = ["complain_wage_arrears", "complain_broken_promise", "complain_livelihood"]


def test_two_matters_need_two_confident_clauses() -> None:
    text = "包工头欠我八千块工钱半年了一直拖着不给。还有村委会去年写了承诺书说修路到现在也没动静"
    found = find_two_matters(text, _fake_classifier, CATEGORIES)
    assert found is not None
    first, second = found
    assert (first.intent, second.intent) == ("complain_wage_arrears", "complain_broken_promise")
    assert "工钱" in text[first.start : first.end] and "承诺" in text[second.start : second.end]
    one = "包工头欠我八千块工钱半年了一直拖着不给。找了好几次都说等等再说也不给个准话"
    assert find_two_matters(one, _fake_classifier, CATEGORIES) is None
    assert find_two_matters("工钱没给，承诺没兑现", _fake_classifier, CATEGORIES) is None  # short


@pytest.mark.parametrize(
    ("slot", "raw", "expected"),
    [
        ("amount", "13812345678", "utter_amount_is_phone"),
        ("amount", 13812345678.0, "utter_amount_too_big"),
        ("amount", "七千二", 7200),
        ("caller_name", "/affirm", "utter_payload_not_answer"),
        ("caller_name", "13912345678", "utter_caller_name_is_phone"),
        ("caller_name", "我姓王 叫王春生 电话13937906218", "王春生"),
        ("enterprise_name", "91410300MA44ABCD1R", "utter_enterprise_name_is_code"),
        ("enterprise_name", "ABC123", "utter_enterprise_name_is_code"),
        ("description", "西工区的", "utter_description_only_district"),
        ("uscc", "X", "utter_invalid_uscc"),
        ("uscc", "91410300MA44ABCD1R", "91410300MA44ABCD1R"),
        ("organization", "13812345678", "utter_organization_is_phone"),
        ("phone", "/affirm", "utter_invalid_phone"),
    ],
)
def test_every_value_passes_its_check(slot: str, raw: object, expected: object) -> None:
    checked = check(slot, raw)
    if isinstance(checked, Refused):
        assert checked.response == expected
    else:
        assert isinstance(checked, Accepted) and checked.value == expected


def test_an_amount_over_the_ceiling_is_taken_when_said_again() -> None:
    first = check("amount", "50亿")
    assert isinstance(first, Refused) and first.pending == 5_000_000_000
    assert check("amount", "50亿", first.pending) == Accepted(5_000_000_000)
