"""A one-click report's JSON → a validated TicketDraft, with the NLU filling what was not given.

Every value passes the same bot/domain validator whether the enterprise typed it or the NLU
found it in the description; a value the enterprise gave that fails → 422 naming the field, a
value the NLU found that fails is simply not used.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain.categories import category_for_intent
from bot.domain.clock import CHINA_TZ
from bot.domain.dates import parse_date
from bot.domain.districts import find_district
from bot.domain.money import parse_amount
from bot.domain.tables import load_table
from bot.domain.text import normalize
from bot.domain.validators import clean_free_text
from bot.enterprises.registry import EnterpriseProfile
from bot.enterprises.texts import INTAKE_NOTE, UNKNOWN_RESPONDENT, UNVERIFIED_INTAKE_NOTE
from bot.tickets.service import TicketDraft
from bot.web.enterprise_errors import ApiError

FIELDS = ("description", "respondent", "district", "amount", "date", "category")
MAX_DESCRIPTION = 2000
MAX_AMOUNT = Decimal("1000000000")  # 10亿元: above it a typo is far likelier than a real claim
UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class ReportInput:
    description: str
    respondent: str | None = None
    district: str | None = None
    amount: Decimal | None = None
    date: str | None = None
    category: str | None = None


def _invalid(field: str, code: str) -> ApiError:
    return ApiError(422, code, field)


def _text(body: dict[str, Any], field: str, max_chars: int) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(field, "wrong_type")
    cleaned = clean_free_text(value, max_chars + 1)
    if len(cleaned) > max_chars:
        raise _invalid(field, "too_long")
    return cleaned or None


def valid_district(value: str) -> str | None:
    """The official district name for a short district value (洛龙区, 伊川), else None."""
    text = normalize(value).strip()
    return find_district(text) if 0 < len(text) <= 20 else None


def valid_amount(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        amount = Decimal(str(value))
    elif isinstance(value, str):
        text = normalize(value).strip().replace(",", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            parsed = parse_amount(text)
            if parsed is None:
                return None
            amount = Decimal(str(parsed))
    else:
        return None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        return None
    return amount.quantize(Decimal("0.01"))


def valid_date(value: str, today: dt.date) -> str | None:
    """ISO YYYY-MM-DD / YYYY-MM (or Chinese: 2025年8月), not after today."""
    text = normalize(value).strip()
    iso: str | None
    if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", text):
        try:
            dt.date.fromisoformat(text if len(text) == 10 else f"{text}-01")
        except ValueError:
            return None
        iso = text
    else:
        iso = parse_date(text, today) if len(text) <= 30 else None
    if iso is None or iso > today.isoformat()[: len(iso)]:
        return None
    return iso


def valid_category(value: str) -> str | None:
    table = load_table("categories")["categories"]
    for entry in table:
        if value in (entry["code"], entry["label"]):
            return str(entry["code"])
    return None


def read_report(body: object, today: dt.date) -> ReportInput:
    """The request's own values, each validated; raises ApiError(422) naming the field."""
    if not isinstance(body, dict):
        raise ApiError(400, "not_an_object")
    for key in body:
        if key not in FIELDS:
            raise _invalid(str(key)[:40], "unknown_field")
    description = _text(body, "description", MAX_DESCRIPTION)
    if description is None:
        raise _invalid("description", "required")
    if len(re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", normalize(description))) < 5:
        raise _invalid("description", "description_invalid")
    respondent = _text(body, "respondent", 200)
    district = amount = date = category = None
    if body.get("district") is not None:
        if not isinstance(body["district"], str):
            raise _invalid("district", "wrong_type")
        district = valid_district(body["district"])
        if district is None:
            raise _invalid("district", "district_invalid")
    if body.get("amount") is not None:
        amount = valid_amount(body["amount"])
        if amount is None:
            raise _invalid("amount", "amount_invalid")
    if body.get("date") is not None:
        if not isinstance(body["date"], str):
            raise _invalid("date", "wrong_type")
        date = valid_date(body["date"], today)
        if date is None:
            raise _invalid("date", "date_invalid")
    if body.get("category") is not None:
        if not isinstance(body["category"], str):
            raise _invalid("category", "wrong_type")
        category = valid_category(body["category"].strip())
        if category is None:
            raise _invalid("category", "category_invalid")
    return ReportInput(description, respondent, district, amount, date, category)


def complete(report: ReportInput, parsed: dict[str, Any], today: dt.date) -> ReportInput:
    """Fill what the request did not give from the parse; invalid NLU values are dropped."""

    def first(name: str) -> Any:
        for entity in parsed.get("entities") or []:
            if isinstance(entity, dict) and entity.get("entity") == name:
                return entity.get("value")
        return None

    category = report.category
    if category is None:
        intent = (parsed.get("intent") or {}).get("name")
        category = category_for_intent(intent if isinstance(intent, str) else None)
    respondent = report.respondent
    if respondent is None and isinstance(first("organization"), str):
        respondent = clean_free_text(first("organization"), 200) or None
    district = report.district
    if district is None and isinstance(first("district"), str):
        district = valid_district(first("district"))
    if district is None and respondent:
        district = valid_district(respondent[:20])
    amount = report.amount
    if amount is None and first("amount") is not None:
        amount = valid_amount(first("amount"))
    date = report.date
    if date is None and isinstance(first("date"), str):
        date = valid_date(first("date"), today)
    return ReportInput(report.description, respondent, district, amount, date, category)


def draft_for(report: ReportInput, profile: EnterpriseProfile) -> TicketDraft:
    """The ticket of a report, under the account's own sender id. An account not verified yet
    files an ordinary 企业 ticket: the company it names is what the reporter typed (as a caller
    in the chat says it), the history says so, and it is never listed with the verified
    account's reports, which have another sender id."""
    return TicketDraft(
        description=report.description,
        organization=report.respondent or UNKNOWN_RESPONDENT,
        district=report.district or "",
        phone=profile.phone,
        sender_id=profile.sender_id,
        category=report.category or UNCLASSIFIED,
        channel="enterprise_api",
        occurred_on=report.date,
        amount=report.amount,
        caller_type="enterprise",
        caller_name=profile.contact_name,
        enterprise_name=profile.name,
        uscc=profile.uscc,
        intake_note=(INTAKE_NOTE if profile.verified else UNVERIFIED_INTAKE_NOTE).format(
            name=profile.name
        ),
    )


def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA_TZ).date()
