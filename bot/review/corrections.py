"""Reviewers' corrections of misunderstood messages: the right intent and entity spans.

A correction keeps its own copy of the message text with phone and ID numbers already replaced
by fakes of the same shape, so the table never holds them and the spans stay valid; marking the
same message again replaces the earlier verdict (one correction per message).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.privacy import mask_text, pseudonymise_text
from bot.store.models import ConversationMessage, NluCorrection

MAX_SPANS = 5


class CorrectionRefused(ValueError):
    """The reviewer's input cannot be stored; the message says why, in Chinese."""


@dataclass(frozen=True)
class SpanInput:
    """An entity as a reviewer gives it: the type and the exact words of the message."""

    entity: str
    words: str


def find_span(text: str, words: str, taken: list[tuple[int, int]]) -> tuple[int, int] | None:
    """Where the words stand in the message — as stored, or as the console shows it masked
    (masking keeps every character's position) — at the first place not already taken."""
    for haystack in (text, mask_text(text)):
        start = haystack.find(words)
        while start >= 0:
            end = start + len(words)
            if all(end <= a or start >= b for a, b in taken):
                return start, end
            start = haystack.find(words, start + 1)
    return None


def mark(
    sessions: sessionmaker[Session],
    message_id: int,
    intent: str,
    spans: list[SpanInput],
    *,
    reviewer: str,
    role: str,
    intents: list[str],
    entity_types: list[str],
) -> NluCorrection:
    """Store (or replace) the verdict on one person's message; CorrectionRefused if invalid."""
    if intent not in intents:
        raise CorrectionRefused("请选择领域文件（domain.yml）中的一个意图。")
    if len(spans) > MAX_SPANS:
        raise CorrectionRefused(f"每条消息最多标注 {MAX_SPANS} 个实体。")
    with sessions.begin() as session:
        message = session.get(ConversationMessage, message_id)
        if message is None or message.direction != "in":
            raise CorrectionRefused("没有这条来电人消息。")
        taken: list[tuple[int, int]] = []
        stored: list[tuple[str, int, int]] = []
        for span in spans:
            if span.entity not in entity_types:
                raise CorrectionRefused(f"没有「{span.entity}」这种实体。")
            place = find_span(message.text, span.words, taken) if span.words else None
            if place is None:
                raise CorrectionRefused(
                    f"消息原文中找不到「{mask_text(span.words)}」，请照原文填写。"
                )
            taken.append(place)
            stored.append((span.entity, *place))
        found = session.scalars(
            select(NluCorrection).where(NluCorrection.message_id == message_id)
        ).first()
        correction = found or NluCorrection(message_id=message_id)
        correction.conversation_id = message.conversation_id
        correction.text = pseudonymise_text(message.text)
        correction.predicted_intent = message.intent
        correction.predicted_confidence = message.confidence
        correction.intent = intent
        correction.entities = json.dumps(
            [{"entity": e, "start": a, "end": b} for e, a, b in sorted(stored, key=lambda s: s[1])]
        )
        correction.reviewer = reviewer
        correction.reviewer_role = role
        correction.created_at = dt.datetime.now(dt.UTC)
        if found is None:
            session.add(correction)
        session.flush()
        session.expunge(correction)
        return correction


def spans_of(correction: NluCorrection) -> list[tuple[str, int, int]]:
    return [
        (str(s["entity"]), int(s["start"]), int(s["end"])) for s in json.loads(correction.entities)
    ]


def listing(sessions: sessionmaker[Session], limit: int = 1000) -> list[NluCorrection]:
    """Newest first."""
    with sessions() as session:
        rows = list(
            session.scalars(select(NluCorrection).order_by(NluCorrection.id.desc()).limit(limit))
        )
        session.expunge_all()
        return rows


def of_message(sessions: sessionmaker[Session], message_id: int) -> NluCorrection | None:
    with sessions() as session:
        found = session.scalars(
            select(NluCorrection).where(NluCorrection.message_id == message_id)
        ).first()
        session.expunge_all()
        return found


def message(sessions: sessionmaker[Session], message_id: int) -> ConversationMessage | None:
    with sessions() as session:
        found = session.get(ConversationMessage, message_id)
        session.expunge_all()
        return found
