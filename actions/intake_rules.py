"""The intake table (data/hotline/intake.yml) as typed helpers for the complaint form."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.tables import load_table
from bot.domain.text import normalize


@dataclass(frozen=True)
class NotAccepted:
    code: str
    reply: str


@functools.cache
def intake_table() -> dict[str, Any]:
    table: dict[str, Any] = load_table("intake")
    return table


def asks_amount(category: str | None) -> bool:
    return category in intake_table()["asks_amount"]


def is_government_body(organization: str | None) -> bool:
    name = normalize(organization or "")
    return any(marker in name for marker in intake_table()["government_markers"])


def is_generic_organization(name: str) -> bool:
    """「一个乡镇政府」「那个物业」: a kind of body, not which one."""
    core = re.sub(
        r"^(一个|一家|那个|这个|那家|这家|我们|俺们|咱们|我们的|俺们的|我家|俺家)",
        "",
        normalize(name),
    )
    parts = [p for p in re.split(r"[、,，]", core) if p]
    return bool(parts) and all(p in intake_table()["generic_organizations"] for p in parts)


def amount_ceiling() -> int:
    return int(intake_table()["amount_ceiling"])


def max_tries() -> int:
    return int(intake_table()["max_tries"])


def give_up_value(slot: str) -> Any:
    return intake_table()["give_up"].get(slot)


def is_required(slot: str) -> bool:
    return slot in intake_table()["required"]


def says_unknown(text: str) -> bool:
    cleaned = re.sub(r"[\s,.，。!！?？~～]+", "", normalize(text))
    words = intake_table()["unknown_words"]
    if any(cleaned.startswith(w) or cleaned == w for w in words):
        return True
    # 「具体多少俺说不清」: a short answer that only says the caller does not know.
    return (
        len(cleaned) <= 12
        and not re.search(r"\d", cleaned)
        and any(w in cleaned for w in words if len(w) >= 3)
    )


def says_anonymous(text: str) -> bool:
    cleaned = normalize(text)
    return any(w in cleaned for w in intake_table()["anonymous_words"])


def field_label(slot: str) -> str:
    return str(intake_table()["fields"][slot]["label"])


def field_named(text: str, offered: list[str]) -> str | None:
    """The form field a correction names ("电话写错了", "修改 联系电话"), among those offered."""
    cleaned = normalize(text)
    best: tuple[int, str] | None = None
    for slot in offered:
        spec = intake_table()["fields"].get(slot)
        if not spec:
            continue
        for word in [spec["label"], *spec["words"]]:
            if word in cleaned and (best is None or len(word) > best[0]):
                best = (len(word), slot)
    return best[1] if best else None


_NEGATIONS = ("没", "未", "不", "无")


def not_accepted(text: str) -> NotAccepted | None:
    """A matter already before a court, an arbitration body or the petition office."""
    cleaned = normalize(text)
    for rule in intake_table()["not_accepted"]:
        for pattern in rule["patterns"]:
            for match in re.finditer(re.escape(pattern), cleaned):
                before = cleaned[max(0, match.start() - 3) : match.start()]
                if not any(n in before for n in _NEGATIONS):
                    return NotAccepted(code=str(rule["code"]), reply=str(rule["reply"]))
    return None


def intake_questions(get: Callable[[str], Any], *, answered: bool = False) -> list[str]:
    """The questions this caller is asked, in order (answered=True: those that can be corrected)."""
    questions = ["description"]
    if get("matter_options") and get("matter_choice") is None:
        questions.append("matter_choice")
    elif get("description") is not None and get("category") is None:
        questions.append("category")
    questions += ["organization", "district", "occurred_on"]
    if asks_amount(get("category")) or (answered and get("amount") is not None):
        questions.append("amount")
    questions += ["caller_type", "caller_name"]
    if get("caller_type") == "enterprise":
        questions += ["enterprise_name", "uscc"]
    questions.append("phone")
    if is_government_body(get("organization")):
        questions.append("identity_protected")
    if answered:
        return [q for q in questions if get(q) is not None]
    return questions
