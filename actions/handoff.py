"""Handing a conversation to a person — the one place for it, whether the caller said 「转人工」
or the bot failed to understand twice in a row.

The conversation joins the operator queue (`TicketService.request_handoff`, which the console's
转人工 page reads with the transcript) and the person is told their place and when a human will
read it: the web-chat seats work office hours (data/hotline/office_hours.yml on the holiday
calendar), the telephone 12345 answers around the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._shared import channel_of, logger, run_blocking, ticket_service
from bot.domain.clock import utcnow
from bot.domain.office_hours import OfficeHours, load_office_hours, when_phrase
from bot.domain.validators import clean_free_text

FALLBACK_INTENT = "nlu_fallback"
# The action that answers a message the NLU did not understand (data/rules/chitchat.yml).
FALLBACK_ACTION = "action_clarify_category"
# This many not-understood messages in a row, and the conversation goes to a person.
FALLBACKS_BEFORE_HANDOFF = 2
MAX_REASON_CHARS = 500


def queued_reply(
    position: int, now: dt.datetime, hours: OfficeHours | None = None
) -> tuple[str, dict[str, Any]]:
    """The response telling the person their place, and whether a human is there now."""
    hours = hours or load_office_hours()
    opening = hours.next_opening(now)
    if opening <= now:
        return "utter_handoff_queued", {"position": position}
    return "utter_handoff_queued_after_hours", {
        "position": position,
        "hours": hours.description,
        "opens": when_phrase(opening, now),
    }


async def queue_for_human(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    reason: str,
    clock: Callable[[], dt.datetime] = utcnow,
) -> None:
    """Put this conversation in the operator queue and tell the person what happens next."""
    service = ticket_service()
    try:
        own = await run_blocking(service.tickets_of_sender, tracker.sender_id, 1)
        position = await run_blocking(
            service.request_handoff,
            tracker.sender_id,
            clean_free_text(reason, MAX_REASON_CHARS),
            channel=channel_of(tracker),
            ticket_number=own[0].number if own else None,
        )
    except Exception:
        logger.exception("handoff request failed")
        dispatcher.utter_message(response="utter_handoff")
        return
    response, values = queued_reply(position, clock())
    dispatcher.utter_message(response=response, **values)


def not_understood_in_a_row(tracker: Tracker, is_understood: Callable[[str], bool]) -> list[str]:
    """The person's latest messages, newest last, that the bot answered as not understood.

    A message counts when its intent was nlu_fallback, the bot answered it with the fallback
    action (a form that took it as an answer did understand it), and `is_understood` (a
    question about the service the table answers) says no. The latest message is the one
    being answered now. The run stops at anything else, a session start or a restart."""
    texts: list[str] = []
    first_action_after: str | None = None
    latest = True
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            break
        if kind == "action" and event.get("name") != "action_listen":
            first_action_after = event.get("name")
            continue
        if kind != "user":
            continue
        text = str(event.get("text") or "")
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        answered_as_fallback = latest or first_action_after == FALLBACK_ACTION
        if intent != FALLBACK_INTENT or not answered_as_fallback or is_understood(text):
            break
        texts.append(text)
        first_action_after = None
        latest = False
    return list(reversed(texts))


def fallback_reason(texts: list[str]) -> str:
    """What the operator reads in the queue: why the bot gave up, in the person's words."""
    return f"连续{len(texts)}次未能理解：" + " / ".join(texts)
