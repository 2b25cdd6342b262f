"""What a caller does after filing: supplement, urge (催办), rate, or ask for a person.

The ticket is the one named in the message (number + access code, or a number this chat
filed), else this chat's latest ticket; without either the bot asks for number and code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import (
    MAX_DESCRIPTION_CHARS,
    last_user_text,
    logger,
    lookup_guard,
    requester,
    run_blocking,
    ticket_service,
)
from actions.forms import CancellableFormValidation
from actions.handoff import queue_for_human
from bot.domain.clock import CHINA_TZ
from bot.domain.lifecycle import IllegalTransition
from bot.domain.money import parse_amount
from bot.domain.text import normalize
from bot.domain.tickets import find_access_code, find_ticket_id
from bot.domain.validators import clean_free_text
from bot.tickets.lookup_guard import LookupRefused
from bot.tickets.service import TicketView

# Longest first: "不满意" and "基本满意" both contain "满意".
RATINGS = ("不满意", "基本满意", "满意")
MIN_SUPPLEMENT_CHARS = 6
# A message this long carries the supplement itself, not only "我要补充".
MIN_INLINE_SUPPLEMENT_CHARS = 12


async def resolve_ticket(tracker: Tracker, *, closed: bool = False) -> TicketView | None:
    text = last_user_text(tracker)
    number = find_ticket_id(text)
    service = ticket_service()
    if number:
        code = find_access_code(text.replace(number, " "))
        if code:
            # Raises LookupRefused after too many failures; each action answers it.
            return await run_blocking(lookup_guard().lookup, number, code, requester(tracker))
        return await run_blocking(service.owned_by, number, tracker.sender_id)
    own = await run_blocking(service.tickets_of_sender, tracker.sender_id, 5)
    if closed:
        own = [v for v in own if v.status_code == "closed"] or own
    return own[0] if own else None


def _deadline(view: TicketView) -> str:
    if view.deadline is None:
        return "—"
    return f"{view.deadline.astimezone(CHINA_TZ):%m月%d日 %H:%M}"


class ActionRequestHuman(Action):
    """「转人工」: the operator queue, and when a person will be there (actions/handoff.py)."""

    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        await queue_for_human(dispatcher, tracker, last_user_text(tracker))
        return []


class ActionUrgeTicket(Action):
    """催办: logged on the ticket; the second urge after the deadline escalates to 督办."""

    def name(self) -> str:
        return "action_urge_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            view = await resolve_ticket(tracker)
            if view is None:
                dispatcher.utter_message(response="utter_need_ticket", action="催办")
                return []
            updated, escalated = await run_blocking(ticket_service().urge, view.number)
        except IllegalTransition as refused:
            dispatcher.utter_message(response="utter_not_now", reason=str(refused))
            return []
        except LookupRefused as locked:
            dispatcher.utter_message(text=locked.message)
            return []
        except Exception:
            logger.exception("urge failed")
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if escalated:
            dispatcher.utter_message(response="utter_urge_escalated", ticket_id=updated.number)
        else:
            dispatcher.utter_message(
                response="utter_urged",
                ticket_id=updated.number,
                department=updated.department or "话务员",
                deadline=_deadline(updated),
            )
        return []


class ValidateSupplementForm(CancellableFormValidation):
    def name(self) -> str:
        return "validate_supplement_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if (
            tracker.get_slot("requested_slot") is None
            and tracker.get_slot("supplement_text") is None
        ):
            text = clean_free_text(last_user_text(tracker), MAX_DESCRIPTION_CHARS)
            if len(text) >= MIN_INLINE_SUPPLEMENT_CHARS:
                events = [SlotSet("supplement_text", text), *events]
        return events

    def validate_supplement_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = clean_free_text(str(value or ""), MAX_DESCRIPTION_CHARS)
        if len(text) < MIN_SUPPLEMENT_CHARS:
            dispatcher.utter_message(response="utter_invalid_supplement")
            return {"supplement_text": None}
        return {"supplement_text": text}


class ActionSupplementTicket(Action):
    """Adds the caller's words to the ticket; a sum of money in them becomes the new amount."""

    def name(self) -> str:
        return "action_supplement_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.get_slot("supplement_text")
        if not text:
            dispatcher.utter_message(response="utter_cancelled")
            return [SlotSet("supplement_text", None)]
        try:
            view = await resolve_ticket(tracker)
            if view is None:
                dispatcher.utter_message(response="utter_need_ticket", action="补充")
                return [SlotSet("supplement_text", None)]
            found = parse_amount(normalize(text))
            amount = Decimal(str(found)) if found else None
            await run_blocking(ticket_service().supplement, view.number, text, amount=amount)
        except LookupRefused as locked:
            dispatcher.utter_message(text=locked.message)
            return [SlotSet("supplement_text", None)]
        except Exception:
            logger.exception("supplement failed")
            dispatcher.utter_message(response="utter_service_unavailable")
            return [SlotSet("supplement_text", None)]
        dispatcher.utter_message(response="utter_supplemented", ticket_id=view.number)
        return [SlotSet("supplement_text", None)]


class ValidateRatingForm(CancellableFormValidation):
    def name(self) -> str:
        return "validate_rating_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("rating") == "不满意":
            return ["rating", "rating_reason"]
        return ["rating"]

    def first_turn_slots(self, tracker: Tracker) -> list[EventType]:
        """A rating in the opening words (我不满意, 非常满意) already answers the question."""
        if tracker.get_slot("rating") is not None:
            return []
        rating = _rating_in(last_user_text(tracker))
        return [SlotSet("rating", rating)] if rating else []

    def validate_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        rating = _rating_in(str(value or ""))
        if rating is None:
            dispatcher.utter_message(response="utter_invalid_rating")
            return {"rating": None}
        return {"rating": rating}

    def validate_rating_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = clean_free_text(str(value or ""), 1000)
        if len(text) < 2:
            dispatcher.utter_message(response="utter_ask_rating_reason")
            return {"rating_reason": None}
        return {"rating_reason": text}


def _rating_in(text: str) -> str | None:
    cleaned = normalize(text)
    return next((r for r in RATINGS if r in cleaned), None)


class ActionRateTicket(Action):
    """回访: the caller's rating of a closed ticket; 不满意 reopens it for the department."""

    def name(self) -> str:
        return "action_rate_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        rating = tracker.get_slot("rating")
        reason = tracker.get_slot("rating_reason") or ""
        reset: list[EventType] = [SlotSet("rating", None), SlotSet("rating_reason", None)]
        if not rating:
            dispatcher.utter_message(response="utter_cancelled")
            return reset
        try:
            view = await resolve_ticket(tracker, closed=True)
            if view is None:
                dispatcher.utter_message(response="utter_need_ticket", action="评价")
                return reset
            rated = await run_blocking(ticket_service().rate, view.number, rating, reason)
        except IllegalTransition as refused:
            dispatcher.utter_message(response="utter_not_now", reason=str(refused))
            return reset
        except LookupRefused as locked:
            dispatcher.utter_message(text=locked.message)
            return reset
        except Exception:
            logger.exception("rating failed")
            dispatcher.utter_message(response="utter_service_unavailable")
            return reset
        if rated.status_code == "in_progress":
            dispatcher.utter_message(
                response="utter_rated_reopened", ticket_id=rated.number, deadline=_deadline(rated)
            )
        else:
            dispatcher.utter_message(response="utter_rated", ticket_id=rated.number)
        return reset
