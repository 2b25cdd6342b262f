"""Ticket status queries: number + access code in, the ticket's state out."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import logger, run_blocking, ticket_service
from actions.forms import CancellableFormValidation
from bot.domain.tickets import find_access_code, find_ticket_id
from bot.tickets.service import CHINA_TZ


class ValidateStatusForm(CancellableFormValidation):
    def name(self) -> str:
        return "validate_status_form"

    def validate_ticket_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        number = find_ticket_id(str(value or ""))
        if number is None:
            dispatcher.utter_message(response="utter_invalid_ticket_id")
            return {"ticket_id": None}
        return {"ticket_id": number}

    def validate_access_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = find_access_code(str(value or ""))
        if code is None:
            dispatcher.utter_message(response="utter_invalid_access_code")
            return {"access_code": None}
        return {"access_code": code}


class ActionQueryStatus(Action):
    def name(self) -> str:
        return "action_query_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        number = tracker.get_slot("ticket_id")
        code = tracker.get_slot("access_code")
        # The code is a secret: it is not kept in the conversation's slots after use.
        forget = [SlotSet("ticket_id", None), SlotSet("access_code", None)]
        if not number or not code:
            # The caller left the form (取消) before giving both.
            dispatcher.utter_message(response="utter_cancelled")
            return forget
        try:
            view = await run_blocking(ticket_service().lookup, number, code)
        except Exception:
            logger.exception("status lookup failed")
            dispatcher.utter_message(response="utter_service_unavailable")
            return forget
        if view is None:
            dispatcher.utter_message(response="utter_ticket_not_found")
            return forget
        dispatcher.utter_message(
            response="utter_ticket_status",
            ticket_id=view.number,
            category=view.category,
            status=view.status,
            organization=view.organization,
            district=view.district,
            created_at=f"{view.created_at.astimezone(CHINA_TZ):%Y年%m月%d日 %H:%M}",
        )
        return forget
