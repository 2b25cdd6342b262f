"""What the caller's latest message says, read once per turn for every form.

Rasa parses a message that starts with "/" as an intent payload with entities and skips the NLU
(`/complain_arrears{"uscc":"X"}`). A payload is trusted only when it is one of the buttons the bot
offered right before; anything else is the caller's plain text, its intent and entities ignored,
so no slot is ever filled from a payload nobody offered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker

from actions._shared import last_user_text

PAYLOAD_RE = re.compile(r"^\s*/[A-Za-z_]")


@dataclass(frozen=True)
class Heard:
    """The latest user message: `text` as typed; intent and entities only when they can be
    trusted (NLU output, or a payload the bot offered)."""

    text: str
    intent: str | None
    confidence: float
    ranking: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    payload: bool = False  # typed or clicked "/intent…"
    trusted: bool = True  # False: a payload that was not offered, read as plain text

    def entity_values(self, name: str) -> list[Any]:
        return [e.get("value") for e in self.entities if e.get("entity") == name]


def offered_payloads(tracker: Tracker) -> set[str]:
    """The button payloads the bot showed since the caller's previous message."""
    payloads: set[str] = set()
    seen_latest_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user:
                break
            seen_latest_user = True
            continue
        if kind == "bot" and seen_latest_user:
            for button in (event.get("data") or {}).get("buttons") or []:
                if isinstance(button, dict) and button.get("payload"):
                    payloads.add(str(button["payload"]).strip())
    return payloads


def read(tracker: Tracker) -> Heard:
    text = last_user_text(tracker)
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    is_payload = bool(PAYLOAD_RE.match(text))
    if is_payload and text.strip() not in offered_payloads(tracker):
        return Heard(text=text, intent=None, confidence=0.0, payload=True, trusted=False)
    return Heard(
        text=text,
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        ranking=list(latest.get("intent_ranking") or []),
        entities=[e for e in latest.get("entities") or [] if isinstance(e, dict)],
        payload=is_payload,
    )


def slots_before_turn(tracker: Tracker) -> dict[str, Any]:
    """The slots as the conversation left them before Rasa's own extraction from the latest
    message (the form decides those values itself).

    Rasa writes its extraction as slot events right after the user event; a form's validation
    tracker repeats them at its end. Both are left out; slots set by actions after the message
    (the second of two matters is set up by the filing action) are kept. A slot no event in view
    mentions keeps the value Rasa sent (the tracker's events start at the session, and a value set
    before it — an enterprise's profile — is only in the slots).
    """
    events = list(tracker.events)
    trailing = 0
    for event in reversed(events):
        if event.get("event") != "slot":
            break
        trailing += 1
    extracted = {str(e.get("name")) for e in events[len(events) - trailing :]}
    events = events[: len(events) - trailing]
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    replayed: dict[str, Any] = {}
    in_extraction = False
    for index, event in enumerate(events):
        kind = event.get("event")
        if index == last_user:
            in_extraction = True
            continue
        if kind in ("user_featurization", "active_loop") or (
            kind == "action" and event.get("name") == "action_extract_slots"
        ):
            continue  # still Rasa's handling of the message, before any action of ours
        if kind != "slot":
            in_extraction = False
            if kind in ("restart", "session_started"):
                replayed.clear()
            continue
        if in_extraction:
            extracted.add(str(event.get("name")))
        else:
            replayed[str(event.get("name"))] = event.get("value")
    slots = {name: value for name, value in tracker.slots.items() if name not in extracted}
    slots.update({name: None for name in extracted})
    slots.update(replayed)
    return slots
