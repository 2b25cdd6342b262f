"""One transcript row as every console page shows it: who, when, the words (masked by the
caller's rule), and for the person's messages what the NLU understood — the intent with its
Chinese category name where it is a complaint category, and the confidence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.categories import category_intents, category_label_for_intent
from bot.tickets.models import ConversationMessage

SPEAKERS = {"in": "来电人", "out": "智能助手", "operator": "人工坐席"}
FALLBACK_LABEL = "未能理解（nlu_fallback）"


def intent_label(intent: str | None) -> str:
    if not intent:
        return ""
    if intent == "nlu_fallback":
        return FALLBACK_LABEL
    if intent in category_intents():
        return f"{category_label_for_intent(intent)}（{intent}）"
    return intent


def row(message: ConversationMessage, text: Callable[[str], str]) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "at": message.at,
        "who": SPEAKERS.get(message.direction, message.direction),
        "text": text(message.text),
        "intent": message.intent,
        "intent_label": intent_label(message.intent),
        "confidence": message.confidence,
    }
