"""Rasa's RabbitMQ event broker with phone and ID numbers masked (production profile).

Rasa publishes every conversation event as it is — the person's words, the parsed entities, the
slot values — and a queue keeps them for days (bot/production.py: a 7-day TTL) for whoever
consumes them. Those consumers (analytics, audit) need what was said and understood, not the
person's phone or ID number, and the issue's privacy rule covers broker messages as it covers
logs. So every string of an event goes through the same `mask_text` as the logs before it is
published; numbers, booleans and the event's shape are unchanged. Loaded by Rasa from
endpoints-production.yml (`type: bot.rasa_event_broker.MaskedPikaEventBroker`).
"""

from __future__ import annotations

import re
from typing import Any

from rasa.core.brokers.pika import PikaEventBroker

from bot.domain.privacy import mask_text

# A phone or ID number has at least 7 digits, single spaces or dashes allowed between them
# (138 1234 5678); most strings of an event (intent and action names) have not, and skip the
# three regexes of mask_text.
_LONG_DIGITS = re.compile(r"(?:[0-9０-９][-\s－]?){7}")


def masked(value: Any) -> Any:
    """A copy of a JSON-like value with every string masked."""
    if isinstance(value, str):
        return mask_text(value) if _LONG_DIGITS.search(value) else value
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    return value


class MaskedPikaEventBroker(PikaEventBroker):  # type: ignore[misc]
    """PikaEventBroker publishing masked copies of the events (Rasa's queue set-up unchanged)."""

    def publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().publish(masked(event), headers)
