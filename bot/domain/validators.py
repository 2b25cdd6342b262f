"""Validators for what a caller types: phone numbers and the like.

Each returns the normalised value or None, so callers can say *why* a value was refused
in Chinese without this module knowing any wording.
"""

from __future__ import annotations

import re

from bot.domain.text import normalize

# Chinese mobile numbers: 11 digits, starting with 1 then 3-9 (no operator uses 10x/11x/12x).
MOBILE_RE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Landlines: area code 0 + 2-3 digits, then 7-8 digits (Luoyang: 0379-6xxxxxxx).
# (0379)62345678 too: the area code in brackets, as business cards print it.
LANDLINE_RE = re.compile(r"(?<!\d)\(?(0\d{2,3})\)?[- ]?(\d{7,8})(?!\d)")


def find_mobile(text: str) -> str | None:
    """The first mobile number in free text, as 11 digits (accepts +86, spaces, dashes)."""
    match = MOBILE_RE.search(normalize(text))
    return "".join(match.groups()) if match else None


def find_phone(text: str) -> str | None:
    """A mobile number, else a landline as '0379-12345678'."""
    mobile = find_mobile(text)
    if mobile:
        return mobile
    match = LANDLINE_RE.search(normalize(text))
    return f"{match.group(1)}-{match.group(2)}" if match else None


def is_mobile(value: str) -> bool:
    """True for exactly an 11-digit mainland mobile number and nothing else."""
    return bool(re.fullmatch(r"1[3-9]\d{9}", value))


# Characters nobody types and that only do harm once stored or shown: control characters other
# than whitespace (an ANSI escape rewrites an operator's terminal, PostgreSQL refuses NUL),
# bidirectional overrides and isolates (they reorder what an operator reads: "Trojan Source"),
# and lone surrogates (no UTF-8 for them: the database and Rasa refuse them, a JSON "\ud800"
# brings one in).
_UNREADABLE = re.compile(
    r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def has_unreadable(text: str) -> bool:
    """True when `text` holds a character that is refused in a person's message (see above)."""
    return _UNREADABLE.search(text) is not None


def strip_unreadable(text: str) -> str:
    """`text` without those characters: for values that are stored or shown, not refused."""
    return _UNREADABLE.sub("", text)


def clean_free_text(text: str, max_chars: int) -> str:
    """Collapse runs of whitespace, drop unreadable characters and cap length; otherwise the
    caller's words stay as typed (Chinese punctuation included: a ticket quotes the caller, it
    does not normalise them). Every free-text value of a ticket passes here."""
    collapsed = re.sub(r"[\s\u200b\u200c\u200d\ufeff]+", " ", strip_unreadable(text)).strip()
    return collapsed[:max_chars]
