"""Masking of citizens' personal data for logs and operator views.

Masking is the default everywhere a person other than the caller reads data; only supervision
staff may see full values, and that is decided by the caller of these helpers, not here.
"""

from __future__ import annotations

import re

_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
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
    """Mask mobile and ID numbers that appear inside free text (for logs)."""
    text = _ID_IN_TEXT.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
