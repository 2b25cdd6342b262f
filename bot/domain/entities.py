"""Rule-based entity finding with character spans, for the NLU extractor and for validators.

Deterministic facts (money, dates, phone numbers, checksummed codes, ticket numbers, districts)
are found by rules, not learned: a checksum or a format is either right or wrong. Only the
respondent organisation is left to the statistical model.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain import districts, identifiers, tickets, validators
from bot.domain.clock import CHINA_TZ
from bot.domain.dates import find_dates
from bot.domain.money import find_amounts
from bot.domain.text import normalize


@dataclass(frozen=True)
class Found:
    entity: str
    start: int
    end: int
    value: str | int | float


def china_today() -> dt.date:
    """Today in Luoyang; HOTLINE_TODAY=YYYY-MM-DD pins it (evaluations must not drift with time)."""
    pinned = os.environ.get("HOTLINE_TODAY")
    if pinned:
        return dt.date.fromisoformat(pinned)
    return dt.datetime.now(CHINA_TZ).date()


def _candidates(text: str, today: dt.date) -> Iterable[Found]:
    """In priority order: where two overlap, the earlier kind wins."""
    for match in tickets.TICKET_ID_RE.finditer(text):
        yield Found("ticket_id", match.start(), match.end(), match.group(0).upper())
    for start, end, value in identifiers.find_uscc(text):
        yield Found("uscc", start, end, value)
    for start, end, value in identifiers.find_id_numbers(text):
        yield Found("id_number", start, end, value)
    for match in validators.MOBILE_RE.finditer(text):
        yield Found("phone", match.start(), match.end(), "".join(match.groups()))
    for match in validators.LANDLINE_RE.finditer(text):
        yield Found("phone", match.start(), match.end(), f"{match.group(1)}-{match.group(2)}")
    for match in tickets.access_code_matches(text):
        yield Found("access_code", match.start(1), match.end(1), match.group(1))
    for start, end, yuan in find_amounts(text):
        yield Found("amount", start, end, yuan)
    for start, end, iso in find_dates(text, today):
        yield Found("date", start, end, iso)
    for start, end, name in districts.find_all(text):
        yield Found("district", start, end, name)


def extract(text: str, today: dt.date | None = None) -> list[Found]:
    """All rule entities in text; spans refer to the text as given (normalising keeps offsets)."""
    text = normalize(text)
    taken = [False] * len(text)
    found: list[Found] = []
    for item in _candidates(text, today or china_today()):
        if not any(taken[item.start : item.end]):
            found.append(item)
            taken[item.start : item.end] = [True] * (item.end - item.start)
    return sorted(found, key=lambda f: f.start)
