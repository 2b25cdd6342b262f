"""The deterministic extractors: money, dates, checksummed identifiers, and their spans."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.domain.dates import find_dates, parse_date
from bot.domain.entities import extract
from bot.domain.identifiers import (
    id_check_char,
    is_valid_id_number,
    is_valid_uscc,
    uscc_check_char,
)
from bot.domain.money import find_amounts, parse_amount
from bot.domain.text import normalize

TODAY = dt.date(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("38万元", 380000),
        ("三十八万", 380000),
        ("1.2亿", 120000000),
        ("五千块", 5000),
        ("欠我们3万5", 35000),
        ("130多万工程款", 1300000),
        ("￥12,000", 12000),
        ("一亿两千万元", 120000000),
        ("十万零五百元", 100500),
        ("两百五十块钱", 250),
        ("欠款四十五万三千元", 453000),
        ("0.5万元", 5000),
        ("罚了两万", 20000),
        ("收了3000元", 3000),
        ("拖欠工程款項壹佰萬", 1000000),
        ("合同金额人民币叁拾伍万元整", 350000),
        ("小区有3万人", None),
        ("2万平方米的厂房", None),
        ("公司2015年成立", None),
        ("第三次来了", None),
        ("每回都罚同一块牌子", None),
        ("两块钱", 2),
        ("五块", 5),
    ],
)
def test_parse_amount(text: str, yuan: int | None) -> None:
    assert parse_amount(text) == yuan


@pytest.mark.parametrize(
    ("text", "span", "yuan"),
    [
        ("欠了3万5一直不给", "3万5", 35000),
        ("两万八一次都没给过", "两万八", 28000),
        ("一共欠了三万五一共就给了两千", "三万五", 35000),
        ("借了一万一一直没还", "一万一", 11000),
        ("三十一万", "三十一万", 310000),  # 一 after a unit is part of the number
        ("借了一万一千一", "一万一千一", 11100),
    ],
)
def test_a_colloquial_tail_never_swallows_the_next_word(text: str, span: str, yuan: int) -> None:
    start, end, value = next(find_amounts(text))
    assert (text[start:end], value) == (span, yuan)


def test_amounts_do_not_swallow_a_following_year() -> None:
    assert [v for _, _, v in find_amounts("2023年欠款30万2024年又欠了五万")] == [300000, 50000]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2023年3月15日签的合同", "2023-03-15"),
        ("2023年3月", "2023-03"),
        ("去年8月开始拖", "2025-08"),
        ("去年八月份", "2025-08"),
        ("前年就完工了", "2024"),
        ("上个月来检查了三次", "2026-10"),
        ("二〇二三年三月", "2023-03"),
        ("2024-05-06", "2024-05-06"),
        ("2024.5.6", "2024-05-06"),
        ("昨天又来罚款", "2026-11-24"),
        ("12月份的工资", "2025-12"),  # said in November: last December
        ("3月15号", "2026-03-15"),
        ("15年3月签的", "2015-03"),
        ("签了30年的特许经营协议", None),
        ("在这干了15年", None),
        ("2023年2月30日", None),
        ("干了12个月", None),
    ],
)
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text, TODAY) == iso


def test_date_spans_cover_the_words() -> None:
    text = "我们去年8月交的货"
    [(start, end, _)] = list(find_dates(text, TODAY))
    assert text[start:end] == "去年8月"


def _valid_uscc(first17: str) -> str:
    check = uscc_check_char(first17)
    assert check is not None
    return first17 + check


def test_uscc_checksum() -> None:
    assert is_valid_uscc("91350100M000100Y43")  # GB 32100's published example
    code = _valid_uscc("91410300MA9FGH1K2")
    assert is_valid_uscc(code) and is_valid_uscc(code.lower())
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert not is_valid_uscc(wrong)
    assert not is_valid_uscc("91410300MA9FGH1KI0")  # I is not in the alphabet
    assert not is_valid_uscc("914103")


def test_id_number_checksum_and_birth_date() -> None:
    assert is_valid_id_number("11010519491231002X")  # GB 11643's published example
    number = "41030219900101123" + id_check_char("41030219900101123")
    assert is_valid_id_number(number)
    assert not is_valid_id_number(number[:-1] + ("0" if number[-1] != "0" else "1"))
    bad_date = "41030219901301123"
    assert not is_valid_id_number(bad_date + id_check_char(bad_date))


def test_extract_finds_every_kind_with_exact_spans() -> None:
    uscc = _valid_uscc("91410300MA9FGH1K2")
    text = (
        f"我公司（统一社会信用代码{uscc}）2023年3月和洛龙区住建局签的合同，"
        "还欠三十八万元，联系电话13812345678，身份证11010519491231002X"
    )
    found = {(f.entity, f.value): text[f.start : f.end] for f in extract(text, TODAY)}
    assert found == {
        ("uscc", uscc): uscc,
        ("date", "2023-03"): "2023年3月",
        ("district", "洛龙区"): "洛龙区",
        ("amount", 380000): "三十八万元",
        ("phone", "13812345678"): "13812345678",
        ("id_number", "11010519491231002X"): "11010519491231002X",
    }


def test_an_invalid_checksum_is_not_an_entity() -> None:
    assert [f.entity for f in extract("信用代码91410300MA9FGH1K2Z", TODAY)] == []


def test_traditional_input_is_understood() -> None:
    assert normalize("我要投訴洛龍區住建局") == "我要投诉洛龙区住建局"
    assert [(f.entity, f.value) for f in extract("在瀍河區，欠款三十萬元", TODAY)] == [
        ("district", "瀍河回族区"),
        ("amount", 300000),
    ]
