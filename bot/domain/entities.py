"""Rule-based entity finding with character spans, for the NLU extractor and for validators.

Deterministic facts (phone numbers, ticket numbers, access codes, districts) are found by rules,
not learned: a checksum or a format is either right or wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import districts, tickets, validators
from bot.domain.text import normalize


@dataclass(frozen=True)
class Found:
    entity: str
    start: int
    end: int
    value: str


def extract(text: str) -> list[Found]:
    """All rule entities in text; spans refer to the text as given (normalising keeps offsets)."""
    text = normalize(text)
    found: list[Found] = []
    ticket_spans: list[tuple[int, int]] = []
    for match in tickets.TICKET_ID_RE.finditer(text):
        found.append(Found("ticket_id", match.start(), match.end(), match.group(0).upper()))
        ticket_spans.append(match.span())
    for match in tickets.ACCESS_CODE_RE.finditer(text):
        if not any(s <= match.start() < e for s, e in ticket_spans):
            found.append(Found("access_code", match.start(1), match.end(1), match.group(1)))
    for match in validators.MOBILE_RE.finditer(text):
        found.append(Found("phone", match.start(), match.end(), "".join(match.groups())))
    for match in validators.LANDLINE_RE.finditer(text):
        if not any(f.start <= match.start() < f.end for f in found):
            found.append(
                Found("phone", match.start(), match.end(), f"{match.group(1)}-{match.group(2)}")
            )
    for start, end, name in districts.find_all(text):
        found.append(Found("district", start, end, name))
    return sorted(found, key=lambda f: f.start)
