"""Masking of citizens' personal data for logs and operator views.

Masking is the default everywhere a person other than the caller reads data; only supervision
staff may see full values, and that is decided by the caller of these helpers, not here.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from bot.domain.identifiers import id_check_char
from bot.domain.text import labelled_as_other_number
from bot.domain.tickets import mask_labelled_access_codes

# As people type them: 13812345678, 138 1234 5678, 138-1234-5678, +86 138…, full-width digits.
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d[- ]?)(\d{4})([- ]?\d{4})(?!\d)")
# Full-width digits and signs become half-width first, so one pattern reads both.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９＋－（）Ｘｘ", "0123456789+-()Xx")
# 0379-63331234, 0379 63331234, (0379)63331234, 037963331234.
# Not inside a code with letters (HT0379…), and not after a label that says what else it is.
_LANDLINE_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])([(（]?0\d{2,3}[)）]?[- ]?)(\d{3,4})(\d{4})(?![0-9A-Za-z])"
)
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678; landline 0379-63331234 → 0379-****1234."""
    if not phone:
        return ""
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[-4:]}"
    if "-" in phone:
        area, number = phone.split("-", 1)
        return f"{area}-{'*' * max(len(number) - 4, 0)}{number[-4:]}"
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


def mask_name(name: str | None) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


def mask_text(text: str) -> str:
    """Mask ID numbers, mobile and landline numbers inside free text (for logs and views), and
    the access codes the text names as codes (bot/domain/tickets.py)."""
    text = mask_labelled_access_codes(text.translate(_HALF_WIDTH))
    text = _ID_IN_TEXT.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    text = _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE_IN_TEXT.sub(lambda m: _mask_landline(m, text), text)


def _mask_landline(match: re.Match[str], text: str) -> str:
    """0379-****1234, unless the words before say it is a contract, invoice or account number.

    Mobiles and ID numbers are masked whatever precedes them: a wrong label costs a masked
    contract number at worst, while a landline looks like many other 0-leading numbers."""
    if labelled_as_other_number(text, match.start()):
        return match.group()
    return f"{match.group(1)}{'*' * len(match.group(2))}{match.group(3)}"


def mask_uscc(code: str | None) -> str:
    """统一社会信用代码 91410300MA44XXXX1X → 9141************1X (the region stays readable)."""
    if not code:
        return ""
    return code[:4] + "*" * max(len(code) - 6, 0) + code[-2:]


# Luoyang's county-level region codes: a fake ID number looks like one from here.
_FAKE_ID_REGIONS = ("410302", "410303", "410304", "410305", "410311", "410322", "410323", "410381")


def _random_digits(shape: str) -> str:
    """Every digit of `shape` replaced by a random one; separators (space, -, brackets) kept."""
    return "".join(str(secrets.randbelow(10)) if c.isdigit() else c for c in shape)


def _fake_id_number() -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=secrets.randbelow(365 * 54))
    first17 = f"{secrets.choice(_FAKE_ID_REGIONS)}{born:%Y%m%d}{secrets.randbelow(1000):03d}"
    return first17 + id_check_char(first17)


def pseudonymise_text(text: str) -> str:
    """Phone and ID numbers replaced by random fakes of the same shape and length, for text that
    becomes training data: the extractors still see a mobile, a landline or a valid ID number
    where the caller wrote one, and character offsets (entity spans) do not move. The fakes are
    random, not derived from the real number (a hash of an 11-digit number is easily reversed)."""
    text = text.translate(_HALF_WIDTH)
    text = _ID_IN_TEXT.sub(lambda m: _fake_id_number(), text)
    text = _MOBILE_IN_TEXT.sub(
        lambda m: m.group(1)[:-1] + _random_digits(m.group(1)[-1:] + m.group(2) + m.group(3)),
        text,
    )

    def landline(match: re.Match[str]) -> str:
        if labelled_as_other_number(text, match.start()):
            return match.group()
        return match.group(1) + _random_digits(match.group(2) + match.group(3))

    return _LANDLINE_IN_TEXT.sub(landline, text)
