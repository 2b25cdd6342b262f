"""Complaint intake: validating the complaint form, showing the summary, filing the ticket."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import (
    MAX_DESCRIPTION_CHARS,
    first_message_description,
    last_user_message_key,
    latest_intent,
    log_masked,
    logger,
    run_blocking,
    ticket_service,
)
from actions.forms import CancellableFormValidation
from bot.domain.categories import category_for_intent, category_intents
from bot.domain.districts import find_district, official_names
from bot.domain.validators import clean_free_text, find_phone
from bot.tickets.service import CHINA_TZ, TicketDraft

FORM_SLOTS = ("description", "organization", "district", "phone", "confirmed", "category")
MIN_DESCRIPTION_CHARS = 4
# Entities in the message that opened the form fill these slots, so they are not asked again.
PREFILL_FROM_ENTITIES = {"organization": "organization", "district": "district", "phone": "phone"}


class ValidateComplaintForm(CancellableFormValidation):
    def name(self) -> str:
        return "validate_complaint_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if tracker.get_slot("requested_slot") is None:  # the form's first turn
            events = self._prefill_from_first_message(tracker) + events
        return events

    def _prefill_from_first_message(self, tracker: Tracker) -> list[EventType]:
        """On activation: category from the intent, the story and named facts from the message."""
        events: list[EventType] = []
        intent, _ = latest_intent(tracker)
        if tracker.get_slot("category") is None and intent in category_intents():
            events.append(SlotSet("category", category_for_intent(intent)))
        if tracker.get_slot("description") is None:
            description = first_message_description(tracker)
            if description:
                events.append(SlotSet("description", description))
        entities = (tracker.latest_message or {}).get("entities") or []
        for slot, entity in PREFILL_FROM_ENTITIES.items():
            if tracker.get_slot(slot) is not None:
                continue
            value = next((e.get("value") for e in entities if e.get("entity") == entity), None)
            if isinstance(value, str) and value.strip():
                events.append(SlotSet(slot, clean_free_text(value, 200)))
        return events

    def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = clean_free_text(str(value or ""), MAX_DESCRIPTION_CHARS)
        if len(text) < MIN_DESCRIPTION_CHARS:
            dispatcher.utter_message(response="utter_invalid_description")
            return {"description": None}
        return {"description": text}

    def validate_organization(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = clean_free_text(str(value or ""), 200)
        if len(text) < 2:
            dispatcher.utter_message(response="utter_invalid_organization")
            return {"organization": None}
        return {"organization": text}

    def validate_district(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        district = find_district(str(value or ""))
        if district is None:
            dispatcher.utter_message(
                response="utter_invalid_district", district_list="、".join(official_names())
            )
            return {"district": None}
        return {"district": district}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        phone = find_phone(str(value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_phone")
            return {"phone": None}
        return {"phone": phone}


class ActionAskConfirmed(Action):
    """Asks for confirmation by showing every field the ticket will carry."""

    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            response="utter_confirm_summary",
            description=tracker.get_slot("description"),
            organization=tracker.get_slot("organization"),
            district=tracker.get_slot("district"),
            phone=tracker.get_slot("phone"),
        )
        return []


class ActionFileTicket(Action):
    """Files the ticket after the caller confirmed; says 已受理 only after the commit."""

    def name(self) -> str:
        return "action_file_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("confirmed") is not True:
            dispatcher.utter_message(response="utter_cancelled")
            return _reset()
        draft = TicketDraft(
            description=tracker.get_slot("description"),
            organization=tracker.get_slot("organization"),
            district=tracker.get_slot("district"),
            phone=tracker.get_slot("phone"),
            category=tracker.get_slot("category") or "unclassified",
            sender_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "chat",
        )
        try:
            filed = await run_blocking(
                ticket_service().file, draft, idempotency_key=last_user_message_key(tracker)
            )
        except Exception:
            # The caller's words stay in the slots; the operator sees the trace in the log.
            logger.exception("ticket filing failed for sender %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_ticket_not_filed_error")
            # Keep what the caller said and ask for the confirmation again.
            return [
                SlotSet("confirmed", None),
                ActiveLoop("complaint_form"),
                SlotSet("requested_slot", "confirmed"),
            ]
        log_masked("filed %s for sender %s", filed.number, tracker.sender_id)
        if filed.created:
            dispatcher.utter_message(
                response="utter_ticket_filed",
                ticket_id=filed.number,
                access_code=filed.access_code,
            )
            deadline = (
                f"{filed.deadline.astimezone(CHINA_TZ):%m月%d日 %H:%M}"
                if filed.deadline
                else "今天"
            )
            if filed.department:
                dispatcher.utter_message(
                    response="utter_ticket_routed",
                    department=filed.department,
                    deadline=deadline,
                    answer_days=filed.answer_working_days,
                )
            else:
                dispatcher.utter_message(
                    response="utter_ticket_awaiting_dispatch", deadline=deadline
                )
        else:
            dispatcher.utter_message(response="utter_ticket_already_filed", ticket_id=filed.number)
        return _reset()


def _reset() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]
