"""Short questions about the hotline itself (how long, anonymous, a real person, cost, hours).

Asked in the middle of a form they are not an answer to the form's question: the form answers
them in a line and asks its question again. The table is data/hotline/service_questions.yml; the
deadlines in the answers are filled in by the caller (from the routing table), so this module
stays pure.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from bot.domain.office_hours import load_office_hours
from bot.domain.tables import load_table
from bot.domain.text import normalize


@dataclass(frozen=True)
class ServiceQuestion:
    id: str
    answer: str  # with {sign_days} / {answer_days} / {seat_hours} placeholders


@functools.cache
def _table() -> tuple[
    int, tuple[str, ...], tuple[tuple[ServiceQuestion, tuple[re.Pattern[str], ...]], ...]
]:
    table: dict[str, Any] = load_table("service_questions")
    entries = tuple(
        (
            ServiceQuestion(id=str(entry["id"]), answer=str(entry["answer"])),
            tuple(re.compile(p) for p in entry["patterns"]),
        )
        for entry in table["questions"]
    )
    return int(table["max_chars"]), tuple(table["question_markers"]), entries


def find_service_question(text: str) -> ServiceQuestion | None:
    """The service question a short message asks, or None (long messages tell a story)."""
    cleaned = normalize(text).strip()
    max_chars, markers, entries = _table()
    if not cleaned or len(cleaned) > max_chars or not any(m in cleaned for m in markers):
        return None
    for question, patterns in entries:
        if any(p.search(cleaned) for p in patterns):
            return question
    return None


def fallback_answer() -> str:
    """For a question about the service that none of the table's entries covers."""
    return str(load_table("service_questions")["fallback"])


def answer_text(question: ServiceQuestion, *, sign_days: int, answer_days: int) -> str:
    """The answer with the deadlines, and the web-chat seats' hours from office_hours.yml."""
    return question.answer.format(
        sign_days=sign_days,
        answer_days=answer_days,
        seat_hours=load_office_hours().description,
    )
