"""Validators, recognisers and masking in bot.domain (shared by NLU and actions)."""

from __future__ import annotations

import pytest

from bot.domain.districts import find_district, official_names
from bot.domain.entities import extract
from bot.domain.privacy import mask_name, mask_phone, mask_text
from bot.domain.text import normalize
from bot.domain.tickets import (
    check_access_code,
    find_access_code,
    find_ticket_id,
    format_ticket_id,
    hash_access_code,
    new_access_code,
)
from bot.domain.validators import find_phone, is_mobile


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("我的电话是138 1234 5678，白天都在", "13812345678"),
        ("+86-139-0379-1234", "13903791234"),
        ("１３８１２３４５６７８", "13812345678"),
        ("0379-63331234", "0379-63331234"),
        ("座机037963331234", "0379-63331234"),
        ("店家留的电话是(0379)62345678", "0379-62345678"),
        ("（0379）62345678", "0379-62345678"),
        ("1381234567", None),  # 10 digits
        ("138123456789", None),  # 12 digits
        ("12812345678", None),  # no mobile number starts with 12
        ("没有电话", None),
        ("", None),
    ],
)
def test_find_phone(text: str, expected: str | None) -> None:
    assert find_phone(text) == expected


def test_is_mobile_is_strict() -> None:
    assert is_mobile("15937912345")
    assert not is_mobile("1593791234")
    assert not is_mobile("25937912345")
    assert not is_mobile("1593791234x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("洛龙区", "洛龙区"),
        ("在涧西那边", "涧西区"),
        ("瀍河回族区", "瀍河回族区"),
        ("瀍河", "瀍河回族区"),
        ("吉利区", "孟津区"),  # merged into 孟津区 in 2021
        ("嵩县城关镇", "嵩县"),
        ("高新区", "洛阳高新区"),
        ("郑州市金水区", None),
        ("", None),
    ],
)
def test_find_district(text: str, expected: str | None) -> None:
    assert find_district(text) == expected


def test_district_table_lists_all_counties() -> None:
    names = official_names()
    for county in ["新安县", "宜阳县", "洛宁县", "伊川县", "嵩县", "栾川县", "汝阳县"]:
        assert county in names


def test_normalize_keeps_length_and_maps_fullwidth() -> None:
    text = "ＬＹ２０２６１１２５－０００７\u3000提取码：６５４３２１"
    assert normalize(text) == "LY20261125-0007 提取码:654321"
    assert len(normalize(text)) == len(text)


def test_ticket_id_and_access_code() -> None:
    assert format_ticket_id(__import__("datetime").date(2026, 1, 5), 7) == "LY20260105-0007"
    assert find_ticket_id("查询工单 ly20261125-0012 583920") == "LY20261125-0012"
    assert find_access_code("查询工单 LY20261125-0012 583920") == "583920"
    assert find_access_code("LY20261125-0012") is None
    assert find_access_code("欠了我们300000元") is None
    assert find_access_code("提取码１２３４５６") == "123456"
    # A label that makes six digits something else.
    assert find_access_code("邮编471000，地址是西工区唐宫中路") is None
    assert find_access_code("我的工号是 100234") is None
    assert find_access_code("邮编471000，提取码 654321") == "654321"


def test_access_code_hash_round_trip() -> None:
    key = b"k" * 32
    code = new_access_code()
    assert len(code) == 6 and code.isdigit()
    stored = hash_access_code(code, key)
    assert code not in stored and stored.startswith("h1$")
    assert check_access_code(code, stored, key)
    assert not check_access_code("999999" if code != "999999" else "000000", stored, key)
    assert not check_access_code(code, stored, b"another key")
    assert not check_access_code(code, "not-a-hash", key)
    assert not check_access_code(code, "h1$zz$00", key)
    # The same code hashes differently on two tickets (the salt).
    assert hash_access_code(code, key) != hash_access_code(code, key)


def test_legacy_pbkdf2_access_code_hashes_still_open_their_ticket() -> None:
    """Tickets filed before keyed hashes keep their PBKDF2 'salt$hash' and still check."""
    import hashlib

    salt = bytes(range(16))
    legacy = f"{salt.hex()}${hashlib.pbkdf2_hmac('sha256', b'314159', salt, 20_000).hex()}"
    assert check_access_code("314159", legacy, b"any key")
    assert not check_access_code("314158", legacy, b"any key")


def test_rule_entities_have_exact_spans() -> None:
    text = "查询工单 LY20261125-0007 654321，我在洛龙区，电话 13812345678"
    found = {(f.entity, f.value): text[f.start : f.end] for f in extract(text)}
    assert found == {
        ("ticket_id", "LY20261125-0007"): "LY20261125-0007",
        ("access_code", "654321"): "654321",
        ("district", "洛龙区"): "洛龙区",
        ("phone", "13812345678"): "13812345678",
    }


def test_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0379-63331234") == "0379-****1234"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    masked = mask_text("电话13812345678，身份证410302199001011234")
    assert "13812345678" not in masked and "138****5678" in masked
    assert "410302199001011234" not in masked and "410302********1234" in masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("手机138 1234 5678，白天打", "手机138 **** 5678，白天打"),
        ("电话：138-1234-5678", "电话：138-****-5678"),
        ("+86 13812345678", "+86 138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("座机(0379)62345678", "座机(0379)****5678"),
        ("0379-63331234转分机", "0379-****1234转分机"),
        ("037963331234", "0379****1234"),
        # Money and counts are not phone numbers.
        ("欠款380000元，工人35个", "欠款380000元，工人35个"),
        # Contract, invoice and account numbers that start with 0 are not landlines.
        ("合同编号0120230456，欠款未付", "合同编号0120230456，欠款未付"),
        ("发票号码：03791234567", "发票号码：03791234567"),
        ("协议号HT037962345678", "协议号HT037962345678"),
        # … but a landline after other words still is.
        ("合同签了，电话0379-63331234", "合同签了，电话0379-****1234"),
    ],
)
def test_phone_numbers_inside_text_are_masked_however_typed(text: str, expected: str) -> None:
    assert mask_text(text) == expected
