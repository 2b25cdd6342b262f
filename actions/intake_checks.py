"""The one check of each complaint-form value, whatever path it came by.

A typed answer, a fact read out of the opening story, a correction, a value in a payload: each
goes through `check(slot, raw)` before it may fill a slot. A refusal names the response that says
*what* is wrong (a phone number where the amount was asked, a code where the company name was
asked …) and can carry facts worth keeping from the refused answer (`salvage`: the phone number
that was typed as a name is still the caller's phone number).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actions._shared import MAX_DESCRIPTION_CHARS
from actions.heard import PAYLOAD_RE
from actions.intake_rules import (
    amount_ceiling,
    give_up_value,
    says_anonymous,
    says_unknown,
)
from bot.domain.callers import find_own_company, name_in_answer
from bot.domain.dates import parse_spoken_date
from bot.domain.districts import find_all, find_district, official_names
from bot.domain.entities import china_today
from bot.domain.identifiers import find_uscc
from bot.domain.money import parse_spoken_amount
from bot.domain.text import normalize
from bot.domain.validators import clean_free_text, find_mobile, find_phone

MIN_DESCRIPTION_CHARS = 4
ENTERPRISE_WORDS = ("企业", "公司", "单位", "厂", "商户", "个体户", "个体工商户", "合作社", "门店")
CITIZEN_WORDS = ("个人", "市民", "群众", "居民", "本人", "自己", "私人", "老百姓", "业主", "村民")
YES_WORDS = ("需要", "要", "是", "好", "对", "可以", "保密", "保护")
NO_WORDS = ("不需要", "不用", "不要", "否", "无所谓", "没关系", "不必")
_FILLER = re.compile(r"[\s,，。.!！?？~～、的吧呀啊呢嘛哈哦噢]+")


@dataclass(frozen=True)
class Accepted:
    value: Any


@dataclass(frozen=True)
class Refused:
    response: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    salvage: dict[str, str] = field(default_factory=dict)  # slot → text to check for that slot
    pending: Any = None  # a value to accept if the caller says it again (amount over the ceiling)


Checked = Accepted | Refused


def _is_payload(text: str) -> bool:
    return bool(PAYLOAD_RE.match(text))


def _only(text: str, spans: list[tuple[int, int, Any]]) -> bool:
    """True when the spans cover everything in text but filler (「西工区的」 is only a district)."""
    cleaned = normalize(text)
    rest = "".join(ch for i, ch in enumerate(cleaned) if not any(s <= i < e for s, e, *_ in spans))
    return bool(spans) and not _FILLER.sub("", rest)


def _mobile_spans(text: str) -> list[tuple[int, int, Any]]:
    from bot.domain.validators import MOBILE_RE

    return [(m.start(), m.end(), None) for m in MOBILE_RE.finditer(normalize(text))]


def check_description(raw: Any, pending: Any = None) -> Checked:
    text = clean_free_text(str(raw or ""), MAX_DESCRIPTION_CHARS)
    if _is_payload(text):
        return Refused("utter_payload_not_answer", {"field": "问题描述"})
    if _only(text, find_all(text)):
        return Refused("utter_description_only_district", salvage={"district": text})
    if _only(text, _mobile_spans(text)):
        return Refused("utter_description_only_phone", salvage={"phone": text})
    if len(_FILLER.sub("", text)) < MIN_DESCRIPTION_CHARS:
        return Refused("utter_invalid_description")
    return Accepted(text)


def check_organization(raw: Any, pending: Any = None) -> Checked:
    text = clean_free_text(str(raw or ""), 200)
    if _is_payload(text):
        return Refused("utter_payload_not_answer", {"field": "反映单位"})
    if _only(text, _mobile_spans(text)):
        return Refused("utter_organization_is_phone", salvage={"phone": text})
    if _only(text, find_all(text)):
        return Refused("utter_organization_only_district", salvage={"district": text})
    if says_unknown(text) or len(_FILLER.sub("", text)) < 2:
        return Refused("utter_invalid_organization")
    return Accepted(text)


def check_district(raw: Any, pending: Any = None) -> Checked:
    text = str(raw or "")
    district = find_district(text)
    if district is not None and not _is_payload(text):
        return Accepted(district)
    if says_unknown(text):
        return Accepted(give_up_value("district"))
    return Refused("utter_invalid_district", {"district_list": "、".join(official_names())})


def check_occurred_on(raw: Any, pending: Any = None) -> Checked:
    text = str(raw or "").strip()
    if says_unknown(text):
        return Accepted(give_up_value("occurred_on"))
    today = china_today()
    if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text) and text <= today.isoformat():
        return Accepted(text)  # already resolved by the date extractor
    found = None if _is_payload(text) else parse_spoken_date(normalize(text), today)
    if found is None:
        return Refused("utter_invalid_occurred_on")
    if found > today.isoformat()[: len(found)]:
        return Refused("utter_future_occurred_on")
    return Accepted(found)


def _yuan(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") + "元"


def check_amount(raw: Any, pending: Any = None) -> Checked:
    if isinstance(raw, bool):
        return Refused("utter_invalid_amount")
    if isinstance(raw, int | float):
        amount: float | None = float(raw)
        text = ""
    else:
        text = normalize(str(raw or ""))
        if says_unknown(text):
            return Accepted(give_up_value("amount"))
        if _is_payload(text):
            return Refused("utter_invalid_amount")
        mobile = find_mobile(text)
        amount = parse_spoken_amount(text)
        if mobile and (amount is None or not re.search(r"[万亿元块]", text)):
            # 13812345678 is somebody's phone number, not 13,812,345,678 元.
            return Refused("utter_amount_is_phone", salvage={"phone": text})
        if amount is None and re.fullmatch(r"\s*\d+(\.\d+)?\s*", text):
            amount = float(text)  # a bare number to "多少钱" means yuan
    if amount is None or amount <= 0:
        return Refused("utter_invalid_amount")
    value: int | float = int(amount) if float(amount).is_integer() else round(amount, 2)
    if value > amount_ceiling() and value != pending:
        return Refused(
            "utter_amount_too_big",
            {"amount": _yuan(value), "ceiling": _yuan(amount_ceiling())},
            pending=value,
        )
    return Accepted(value)


def check_caller_type(raw: Any, pending: Any = None) -> Checked:
    text = normalize(str(raw or ""))
    if not _is_payload(text):
        if any(word in text for word in ENTERPRISE_WORDS):
            return Accepted("enterprise")
        if any(word in text for word in CITIZEN_WORDS):
            return Accepted("citizen")
    return Refused("utter_invalid_caller_type")


def check_caller_name(raw: Any, pending: Any = None) -> Checked:
    text = clean_free_text(str(raw or ""), 60)
    if _is_payload(text):
        return Refused("utter_payload_not_answer", {"field": "姓名"})
    if says_anonymous(text) or says_unknown(text):
        return Accepted(give_up_value("caller_name"))
    phone = find_phone(text)
    rest = text
    if phone:
        from bot.domain.validators import LANDLINE_RE, MOBILE_RE

        rest = LANDLINE_RE.sub(" ", MOBILE_RE.sub(" ", normalize(text)))
        rest = re.sub(r"(电话|手机|号码|联系方式)(是|号)?", " ", rest)
    name = name_in_answer(rest.strip(" ，。,.!！"))
    if phone and not name:
        return Refused("utter_caller_name_is_phone", salvage={"phone": text})
    if not name or not 1 <= len(name) <= 20 or re.search(r"[\d/{}<>\[\]=@#$%^&*_|\\]", name):
        return Refused("utter_invalid_caller_name")
    return Accepted(name)


def check_enterprise_name(raw: Any, pending: Any = None) -> Checked:
    text = clean_free_text(str(raw or ""), 200)
    if _is_payload(text):
        return Refused("utter_payload_not_answer", {"field": "企业名称"})
    codes = list(find_uscc(normalize(text).upper()))
    if codes:
        # 「汝阳县禾丰农业发展有限公司，代码9141…」: the name without the code, the code kept apart.
        rest = normalize(text)
        for start, end, _ in sorted(codes, reverse=True):
            rest = rest[:start] + " " + rest[end:]
        rest = re.sub(r"(统一社会信用代码|信用代码|代码|税号)(是|为)?", " ", rest).strip(
            " ，,。.:："
        )
        if len(_FILLER.sub("", rest)) >= 4 and not re.fullmatch(r"[0-9A-Za-z\-\s]+", rest):
            return check_enterprise_name(rest)
        return Refused("utter_enterprise_name_is_code", salvage={"uscc": text})
    if re.fullmatch(r"[0-9A-Za-z\-\s]+", text):
        return Refused("utter_enterprise_name_is_code")
    if says_unknown(text):
        return Accepted(give_up_value("enterprise_name"))
    name = find_own_company(text) or text
    if len(name) < 4:
        return Refused("utter_invalid_enterprise_name")
    return Accepted(name)


def check_uscc(raw: Any, pending: Any = None) -> Checked:
    text = normalize(str(raw or "")).upper()
    found = next((code for _, _, code in find_uscc(text)), None)
    if found:
        return Accepted(found)
    if says_unknown(text):
        return Accepted(give_up_value("uscc"))
    compact = re.sub(r"[^0-9A-Z]", "", text)
    return Refused("utter_invalid_uscc_check" if len(compact) == 18 else "utter_invalid_uscc")


def check_phone(raw: Any, pending: Any = None) -> Checked:
    text = str(raw or "")
    phone = None if _is_payload(text) else find_phone(text)
    if phone is None:
        return Refused("utter_invalid_phone")
    return Accepted(phone)


def check_identity_protected(raw: Any, pending: Any = None) -> Checked:
    if isinstance(raw, bool):
        return Accepted(raw)
    text = normalize(str(raw or ""))
    if not _is_payload(text):
        if any(word in text for word in NO_WORDS):
            return Accepted(False)
        if any(word in text for word in YES_WORDS):
            return Accepted(True)
    return Refused("utter_invalid_identity_protected")


CHECKS: dict[str, Callable[[Any, Any], Checked]] = {
    "description": check_description,
    "organization": check_organization,
    "district": check_district,
    "occurred_on": check_occurred_on,
    "amount": check_amount,
    "caller_type": check_caller_type,
    "caller_name": check_caller_name,
    "enterprise_name": check_enterprise_name,
    "uscc": check_uscc,
    "phone": check_phone,
    "identity_protected": check_identity_protected,
}


def check(slot: str, raw: Any, pending: Any = None) -> Checked:
    """The value for `slot` from `raw` (text or an extracted value), or why it is refused."""
    return CHECKS[slot](raw, pending)
