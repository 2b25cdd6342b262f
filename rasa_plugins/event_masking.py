"""Access codes (提取码) masked in Rasa's events before they are stored or published.

The filing action says the new code once, in its reply (BotUttered), and a caller types one to
look a ticket up (UserUttered, its parse data's entities, the status form's access_code SlotSet).
Rasa keeps every event in its tracker store, serves it over `/conversations/{id}/tracker` and
publishes it to RabbitMQ, where staff, analytics and a copied database would read every code in
clear and undo the keyed hash of the ticket table (bot/domain/tickets.py). The dialogue needs a
code only within the turn it arrives in (the look-up runs in that turn; the slot is cleared
after it), so what is kept of a turn is masked: the tracker store (rasa_plugins/sql_tracker_store.py)
and the broker (rasa_plugins/event_broker.py) store and publish `masked_events(...)` of the turn.

Rasa and the Python of the service both import this module (stdlib and bot.domain only).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain.tickets import MASKED_CODE, mask_access_codes, mask_labelled_access_codes

CODE_SLOT = "access_code"
CODE_ENTITY = "access_code"


def codes_taken(events: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """The values the dialogue took as the access code in these events (the slot's SlotSets)."""
    return tuple(
        str(e["value"])
        for e in events
        if e.get("event") == "slot" and e.get("name") == CODE_SLOT and e.get("value")
    )


def masked_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of one turn's events (Rasa's `Event.as_dict()` form) with the codes masked.

    A bare six-digit number in what the person typed is masked when the turn took it as the code,
    or when the message names a ticket too; codes in the bot's words are labelled (「提取码 …」)."""
    known = codes_taken(events)
    return [masked_event(event, known) for event in events]


def masked_event(event: dict[str, Any], known: tuple[str, ...] = ()) -> dict[str, Any]:
    """One event with its codes masked; an event without any is returned as it is."""
    kind = event.get("event")
    if kind == "user":
        return _masked_user(event, known)
    if kind == "bot":
        return _masked_bot(event)
    if kind == "slot" and event.get("name") == CODE_SLOT and event.get("value"):
        return {**event, "value": MASKED_CODE}
    return event


def _masked_user(event: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    text = event.get("text")
    if not isinstance(text, str):
        return event
    masked_text = mask_access_codes(text, known=known)
    parse = event.get("parse_data")
    entities = parse.get("entities") if isinstance(parse, dict) else None
    hidden_entity = any(
        isinstance(e, dict) and e.get("entity") == CODE_ENTITY and _spans_mask(text, masked_text, e)
        for e in entities or []
    )
    if masked_text == text and not hidden_entity:
        return event
    copy = {**event, "text": masked_text}
    if isinstance(parse, dict):
        parse_copy = dict(parse)
        if isinstance(parse.get("text"), str):
            parse_copy["text"] = mask_access_codes(parse["text"], known=known)
        if entities is not None:
            parse_copy["entities"] = [_masked_entity(e, text, masked_text) for e in entities]
        copy["parse_data"] = parse_copy
    return copy


def _spans_mask(text: str, masked_text: str, entity: dict[str, Any]) -> bool:
    """Whether the entity's value is a code the kept text masks: its span is masked, or (a
    span that does not fit the text as typed) the value was in the text and no longer is."""
    start, end = entity.get("start"), entity.get("end")
    if isinstance(start, int) and isinstance(end, int) and MASKED_CODE in masked_text[start:end]:
        return True
    value = entity.get("value")
    return isinstance(value, str) and bool(value) and value in text and value not in masked_text


def _masked_entity(entity: Any, text: str, masked_text: str) -> Any:
    if (
        isinstance(entity, dict)
        and entity.get("entity") == CODE_ENTITY
        and _spans_mask(text, masked_text, entity)
    ):
        return {**entity, "value": MASKED_CODE}
    return entity


def _masked_bot(event: dict[str, Any]) -> dict[str, Any]:
    """The bot's words, buttons and custom payload, and its metadata: Rasa keeps a response's
    template variables there (`{"ticket_id": …, "access_code": …, "utter_action": …}` for the
    filing reply, rasa.core.actions.action.create_bot_utterance)."""
    masked = {
        key: _masked_strings(event[key])
        for key in ("text", "data", "metadata")
        if event.get(key) is not None
    }
    if all(masked[key] == event[key] for key in masked):
        return event
    return {**event, **masked}


def _masked_strings(value: Any) -> Any:
    """A JSON-like value with labelled codes masked, and the value of every `access_code` key."""
    if isinstance(value, str):
        return mask_labelled_access_codes(value)
    if isinstance(value, dict):
        return {
            key: MASKED_CODE if key == CODE_SLOT and item else _masked_strings(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_masked_strings(item) for item in value]
    return value


class KeptEvent:
    """A Rasa event as it is stored and published: its type, and `as_dict()` masked.

    Rasa's SQLTrackerStore.save and TrackerStore._stream_new_events read only these two of an
    event, so a turn's events are handed to them in this form."""

    def __init__(self, type_name: str, data: dict[str, Any]) -> None:
        self.type_name = type_name
        self._data = data

    def as_dict(self) -> dict[str, Any]:
        return self._data


def kept_turn(events: Iterable[Any]) -> list[KeptEvent]:
    """One turn's Rasa events (or KeptEvents) masked together: a code the turn's SlotSet took
    is masked in the same turn's user text."""
    events = list(events)
    masked = masked_events([event.as_dict() for event in events])
    return [KeptEvent(event.type_name, data) for event, data in zip(events, masked, strict=True)]


_INSTALLED = "_hotline_masks_access_codes"


def install() -> None:
    """Store and publish every turn masked (idempotent; in the Rasa server, before it starts).

    Both of Rasa's paths to the database go through `SQLTrackerStore._additional_events` (its own
    save, and ours for a conversation this process has not read), and every publish to the
    event broker goes through `TrackerStore._stream_new_events`; our save masks its other path
    itself (rasa_plugins/sql_tracker_store.py). Installed whatever HOTLINE_RASA_STOCK_TRACKER_STORE
    says: it is a privacy rule, not a speed-up."""
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore

    if getattr(TrackerStore._stream_new_events, _INSTALLED, False):
        return
    original_additional = SQLTrackerStore._additional_events
    original_stream = TrackerStore._stream_new_events

    def additional_events(self: Any, session: Any, tracker: Any) -> list[KeptEvent]:
        return kept_turn(original_additional(self, session, tracker))

    async def stream_new_events(
        self: Any, event_broker: Any, new_events: list[Any], sender_id: str
    ) -> None:
        await original_stream(self, event_broker, kept_turn(new_events), sender_id)

    setattr(stream_new_events, _INSTALLED, True)
    SQLTrackerStore._additional_events = additional_events
    TrackerStore._stream_new_events = stream_new_events
