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


# Hashes of access codes filed before keyed hashes (session 8): PBKDF2, still checked.
_LEGACY_PBKDF2_ROUNDS = 20_000
KEYED_SCHEME = "h1"


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


# What an access code is replaced by wherever it is kept (records, tracker, broker, logs).
MASKED_CODE = "******"
# A code the text names as one: 「提取码 233667」, 「提取码：233667」, 「提取码是233667」.
_LABELLED_CODE_RE = re.compile(r"(提取码\s*(?:是|为)?\s*[:：]?\s*)(\d{6})(?!\d)")
# A code right after a ticket number, as the bot's examples teach: 「LY20261125-0007 233667」.
_CODE_AFTER_NUMBER_RE = re.compile(
    r"(" + TICKET_ID_PATTERN + r"(?!\d)[\s,，、:：;；/]{0,3})(\d{6})(?!\d)", re.IGNORECASE
)


def mask_labelled_access_codes(text: str) -> str:
    """Codes the text itself marks as codes (after 提取码, right after a ticket number) masked.

    For text whose author is unknown (a log line, a bot reply): a bare 6-digit number there may
    be anything, but one in these two places is a code whoever wrote it."""
    if "提取码" not in text and "LY" not in text.upper():
        return text
    text = _LABELLED_CODE_RE.sub(lambda m: m.group(1) + MASKED_CODE, text)
    return _CODE_AFTER_NUMBER_RE.sub(lambda m: m.group(1) + MASKED_CODE, text)


def mask_access_codes(text: str, *, asked: bool = False, known: tuple[str, ...] = ()) -> str:
    """What a person typed, as it is kept: the access codes in it masked.

    A code is kept secret even from the staff who read the record, so a department cannot copy
    one and act as the caller (rate its own ticket 满意). A bare six-digit number is a code when
    the message also names a ticket (「查询 LY… 233667」), when the bot had just asked for the
    code (`asked`), or when it is one the dialogue took as the code (`known`, the access_code
    slot's value); elsewhere it may be a 邮编-less postcode or a count and stays as typed."""
    masked = mask_labelled_access_codes(text)
    candidates = access_code_matches(
        TICKET_ID_RE.sub(lambda m: " " * len(m.group()), normalize(masked))
    )
    if not candidates:
        return masked
    everything = asked or TICKET_ID_RE.search(normalize(masked)) is not None
    chars = list(masked)
    for match in candidates:
        if everything or match.group(1) in known:
            chars[match.start(1) : match.end(1)] = MASKED_CODE
    return "".join(chars)


def new_access_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def hash_access_code(code: str, key: bytes, salt: bytes | None = None) -> str:
    """'h1$salt$digest' in hex: HMAC-SHA256 of salt + code under the deployment's secret key.

    Why a key and not a slow hash: a 6-digit code has a million values, so a stretched hash of a
    stolen database only costs an attacker 20,000 rounds x 1e6 guesses (hours on one core),
    while it cost every filing ~5 ms of CPU. With the key kept outside the database
    (bot/privacy/keys.py) a copied database alone cannot check any guess at all, and a
    check costs microseconds. The salt keeps two tickets with the same code from having the
    same digest. The code itself is never stored."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hmac.new(key, salt + code.encode(), hashlib.sha256).hexdigest()
    return f"{KEYED_SCHEME}${salt.hex()}${digest}"


def check_access_code(code: str, stored: str, key: bytes) -> bool:
    """Whether `code` is the one hashed in `stored` (keyed, or a legacy PBKDF2 'salt$hash')."""
    scheme, _, rest = stored.partition("$")
    if scheme == KEYED_SCHEME:
        salt_hex, _, digest_hex = rest.partition("$")
        try:
            salt = bytes.fromhex(salt_hex)
        except ValueError:
            return False
        candidate = hash_access_code(code, key, salt).rpartition("$")[2]
        return hmac.compare_digest(candidate, digest_hex)
    salt_hex, digest_hex = scheme, rest
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    legacy = hashlib.pbkdf2_hmac("sha256", code.encode(), salt, _LEGACY_PBKDF2_ROUNDS).hex()
    return hmac.compare_digest(legacy, digest_hex)
