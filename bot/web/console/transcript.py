"""One transcript row as every console page shows it: who, when, the words (masked by the
caller's rule), and for the person's messages what the NLU understood — the intent with its
Chinese category name where it is a complaint category, and the confidence.

Outside a ticket's page (where the ticket's own masker applies, with its audited reveal) a
transcript is masked by `conversation_masker`: phone and ID numbers, and the names the person
gave in that conversation (张伟 → 张*; bot/domain/callers.names_said)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.domain.callers import mask_names, names_said
from bot.domain.categories import category_intents, category_label_for_intent
from bot.domain.privacy import mask_name, mask_text
from bot.store.models import ConversationMessage

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


def conversation_masker(messages: Sequence[ConversationMessage]) -> Callable[[str], str]:
    """The mask for every text of one conversation, from all of its messages (a name said in
    the first message is masked in the last, and in the bot's summary that repeats it)."""
    return _masker(names_said((m.direction, m.text) for m in messages))


def mask_alone(text: str) -> str:
    """A person's message shown without its conversation (the review lists): the numbers, and a
    name the message itself introduces (「我叫张伟」)."""
    return _masker(names_said([("in", text)]))(text)


def _masker(names: list[str]) -> Callable[[str], str]:
    def masked(text: str) -> str:
        return mask_text(mask_names(text, names, mask_name))

    return masked
