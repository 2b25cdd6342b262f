"""Checksummed identifiers: 统一社会信用代码 (GB 32100-2015) and 居民身份证号 (GB 11643, ISO 7064).

A value is accepted only when its check character is right, so a mistyped code is caught at
intake instead of by the department weeks later.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

# GB 32100: 31 characters, no I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"(?<![0-9A-Za-z])([0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18})(?![0-9A-Za-z])")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")


def uscc_check_char(first17: str) -> str | None:
    try:
        total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    except ValueError:
        return None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(value: str) -> bool:
    value = value.upper()
    if len(value) != 18 or not value[2:8].isdigit():
        return False
    return uscc_check_char(value[:17]) == value[17]


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_valid_id_number(value: str) -> bool:
    value = value.upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        return False
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= born <= dt.date.today():
        return False
    return id_check_char(value[:17]) == value[17]


def find_uscc(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _USCC_RE.finditer(text):
        if is_valid_uscc(match.group(1)):
            yield match.start(1), match.end(1), match.group(1).upper()


def find_id_numbers(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _ID_RE.finditer(text):
        if is_valid_id_number(match.group(1)):
            yield match.start(1), match.end(1), match.group(1).upper()
