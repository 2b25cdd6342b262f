"""Complaint categories, read from data/hotline/categories.yml."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain.tables import load_table

# When the classifier is unsure the bot offers at most this many categories as buttons; below
# MIN_OFFER_CONFIDENCE a category is not worth offering (the ranking's tail is noise).
MAX_OFFERED = 3
MIN_OFFER_CONFIDENCE = 0.05


def category_label(code: str | None) -> str:
    """Chinese label for a stored category code ('待分类' when not yet classified)."""
    table = load_table("categories")
    for entry in table["categories"]:
        if entry["code"] == code:
            return str(entry["label"])
    return str(table["unclassified"]["label"])


def category_for_intent(intent: str | None) -> str:
    """Stored category code for an NLU intent name (unclassified for the generic complaint)."""
    table = load_table("categories")
    for entry in table["categories"]:
        if entry["intent"] == intent:
            return str(entry["code"])
    return str(table["unclassified"]["code"])


def category_intents() -> list[str]:
    """The complaint intents, in table order."""
    return [str(entry["intent"]) for entry in load_table("categories")["categories"]]


def category_label_for_intent(intent: str) -> str:
    return category_label(category_for_intent(intent))


def likely_categories(ranking: Iterable[Mapping[str, Any]]) -> list[str]:
    """The complaint categories to offer as buttons, from Rasa's intent ranking (best first).

    One rule for the bot (actions/clarify.py) and for `hotline eval`, which reports how often the
    right category is among the buttons.
    """
    categories = set(category_intents())
    return [
        str(item["name"])
        for item in ranking
        if item.get("name") in categories
        and float(item.get("confidence") or 0) >= MIN_OFFER_CONFIDENCE
    ][:MAX_OFFERED]
