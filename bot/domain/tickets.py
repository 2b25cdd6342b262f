"""Ticket numbers and access codes (提取码): formats shared by the NLU and the ticket service."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from bot.domain.text import labelled_as_other_number, normalize

TICKET_PREFIX = "LY"
# LY20261125-0007: prefix, the filing date (Asia/Shanghai), a per-day sequence.
TICKET_ID_PATTERN = r"LY\d{8}-\d{4,6}"
TICKET_ID_RE = re.compile(r"(?<![A-Za-z0-9])" + TICKET_ID_PATTERN + r"(?!\d)", re.IGNORECASE)
# Six digits standing alone; not a sum of money or a count ("300000元", "200000平").
ACCESS_CODE_RE = re.compile(
    r"(?<![\d\-¥￥.])(\d{6})(?![\d.%元块万亿米平号人天年月日次个岁吨台套件户间栋层份])"
)


def access_code_matches(text: str) -> list[re.Match[str]]:
    """Six digits standing alone that may be an access code (text already normalised)."""
    return [
        m for m in ACCESS_CODE_RE.finditer(text) if not labelled_as_other_number(text, m.start())
    ]


# Slow enough to make an offline guess of a 6-digit code from a leaked database cost hours per
# ticket, fast enough (~10 ms) not to matter in a conversation.
_PBKDF2_ROUNDS = 20_000


def format_ticket_id(day: dt.date, sequence: int) -> str:
    return f"{TICKET_PREFIX}{day:%Y%m%d}-{sequence:04d}"


def find_ticket_id(text: str) -> str | None:
    """The ticket number in free text, upper-cased (people type 'ly2026…' too)."""
    match = TICKET_ID_RE.search(normalize(text))
    return match.group(0).upper() if match else None


def find_access_code(text: str) -> str | None:
    """A 6-digit code standing alone in text, ignoring digits that are part of a ticket number."""
    text = TICKET_ID_RE.sub(" ", normalize(text))
    matches = access_code_matches(text)
    return matches[0].group(1) if matches else None


def new_access_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def hash_access_code(code: str, salt: bytes | None = None) -> str:
    """'salt$hash' in hex; the code itself is never stored."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", code.encode(), salt, _PBKDF2_ROUNDS)
    return f"{salt.hex()}${digest.hex()}"


def check_access_code(code: str, stored: str) -> bool:
    salt_hex, _, digest_hex = stored.partition("$")
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    candidate = hash_access_code(code, salt).partition("$")[2]
    return hmac.compare_digest(candidate, digest_hex)
