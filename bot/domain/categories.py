"""Complaint categories, read from data/hotline/categories.yml."""

from __future__ import annotations

from bot.domain.tables import load_table


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
