"""Filing the ticket the caller confirmed: says 已受理 only after the commit."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import (
    channel_of,
    filing_key,
    log_masked,
    logger,
    run_blocking,
    ticket_service,
)
from actions.intake_checks import Accepted, check
from actions.intake_facts import clause_facts, heard_in, story_event
from actions.intake_rules import field_label, give_up_value
from actions.intake_summary import display
from actions.status import reissue_lost_codes
from bot.domain.categories import category_for_intent, category_label_for_intent
from bot.domain.clock import CHINA_TZ
from bot.tickets.service import TicketDraft

# Every slot the intake uses: reset together once the ticket is filed or dropped.
FORM_SLOTS = (
    "description",
    "organization",
    "district",
    "occurred_on",
    "amount",
    "caller_type",
    "caller_name",
    "enterprise_name",
    "uscc",
    "phone",
    "identity_protected",
    "confirmed",
    "category",
    "category_options",
    "intake_tries",
    "intake_outcome",
    "intake_pending",
    "intake_history",
    "duplicate_of",
    "intake_fixing",
    "district_conflict",
    "matter_options",
    "matter_choice",
    "second_matter",
    "one_click_offered",
)
# What the caller said about themselves: kept for the second of two matters.
CALLER_SLOTS = ("caller_type", "caller_name", "enterprise_name", "uscc", "phone", "description")


class ActionFileTicket(Action):
    """Files the ticket after the caller confirmed; says 已受理 only after the commit."""

    def name(self) -> str:
        return "action_file_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("intake_outcome"):
            return _reset(tracker)  # not accepted or given up: the reason was already said
        confirmed = tracker.get_slot("confirmed")
        duplicate = tracker.get_slot("duplicate_of")
        if confirmed == "attach" and duplicate:
            return await self._attach(dispatcher, tracker, duplicate)
        if confirmed is not True:
            dispatcher.utter_message(response="utter_cancelled")
            return _reset(tracker)
        draft = draft_from(tracker)
        try:
            filed = await run_blocking(
                ticket_service().file, draft, idempotency_key=filing_key(tracker, draft)
            )
        except Exception:
            # The caller's words stay in the slots; the operator sees the trace in the log.
            logger.exception("ticket filing failed for sender %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_ticket_not_filed_error")
            # Keep what the caller said and wait for their next 「确认」. Without the explicit
            # listen, Rasa runs the re-activated form at once on the same confirmation and files
            # again (and fails again) until its circuit breaker stops it.
            return [
                SlotSet("confirmed", None),
                ActiveLoop("complaint_form"),
                SlotSet("requested_slot", "confirmed"),
                FollowupAction("action_listen"),
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
        elif not await reissue_lost_codes(dispatcher, tracker, [filed.number], asked=False):
            # Confirmed again after a reply that did arrive: the code said then still holds.
            dispatcher.utter_message(response="utter_ticket_already_filed", ticket_id=filed.number)
        second = tracker.get_slot("second_matter")
        if filed.created and isinstance(second, dict) and second.get("intent"):
            return self._next_matter(dispatcher, tracker, second)
        return _reset(tracker)

    def _next_matter(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, matter: dict[str, Any]
    ) -> list[EventType]:
        """The second of two matters in one story: the same caller and story, its own category,
        respondent and sum; the form asks only what that matter still lacks."""
        intent = str(matter["intent"])
        dispatcher.utter_message(
            response="utter_second_matter_next", label=category_label_for_intent(intent)
        )
        kept = {slot: tracker.get_slot(slot) for slot in CALLER_SLOTS}
        facts: dict[str, Any] = {}
        event = story_event(tracker, tracker.get_slot("description"))
        if event is not None:
            for slot, raw in clause_facts(heard_in(event), matter).items():
                checked = check(slot, raw)
                if isinstance(checked, Accepted):
                    facts[slot] = checked.value
        events: list[EventType] = [
            SlotSet(slot, kept.get(slot, facts.get(slot))) for slot in FORM_SLOTS
        ]
        events += [
            SlotSet("category", category_for_intent(intent)),
            SlotSet("matter_choice", intent),
            SlotSet("district", tracker.get_slot("district")),
            FollowupAction("complaint_form"),
        ]
        return events

    async def _attach(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, number: str
    ) -> list[EventType]:
        try:
            await run_blocking(
                ticket_service().attach, number, tracker.get_slot("description") or ""
            )
        except Exception:
            logger.exception("attaching to %s failed", number)
            dispatcher.utter_message(response="utter_ticket_not_filed_error")
            return [
                SlotSet("confirmed", None),
                ActiveLoop("complaint_form"),
                SlotSet("requested_slot", "confirmed"),
            ]
        dispatcher.utter_message(response="utter_attached", ticket_id=number)
        return _reset(tracker)


def draft_from(tracker: Tracker) -> TicketDraft:
    """The ticket as the caller confirmed it; "不详"/"匿名"/"未提供" are stored as empty."""

    def given(slot: str) -> str | None:
        value = tracker.get_slot(slot)
        if value is None or value == give_up_value(slot):
            return None
        return str(value)

    amount = None
    raw_amount = tracker.get_slot("amount")
    if isinstance(raw_amount, int | float) and not isinstance(raw_amount, bool):
        try:
            amount = Decimal(str(raw_amount))
        except InvalidOperation:
            amount = None
    caller_type = tracker.get_slot("caller_type") or "citizen"
    corrections = tuple(
        (
            field_label(str(slot)),
            display(str(slot), old),
            display(str(slot), tracker.get_slot(slot)),
        )
        for slot, old in tracker.get_slot("intake_history") or []
        if old is not None
    )
    return TicketDraft(
        description=tracker.get_slot("description"),
        organization=tracker.get_slot("organization"),
        district=given("district") or "",
        phone=tracker.get_slot("phone"),
        category=tracker.get_slot("category") or "unclassified",
        sender_id=tracker.sender_id,
        channel=channel_of(tracker),
        occurred_on=given("occurred_on"),
        amount=amount,
        caller_type=caller_type,
        caller_name=given("caller_name"),
        enterprise_name=given("enterprise_name") if caller_type == "enterprise" else None,
        uscc=given("uscc") if caller_type == "enterprise" else None,
        identity_protected=tracker.get_slot("identity_protected") is True,
        corrections=corrections,
    )


def _reset(tracker: Tracker | None = None) -> list[EventType]:
    """Every intake slot cleared; a verified enterprise keeps its profile for the next report."""
    keep = ENTERPRISE_PROFILE_SLOTS if tracker and tracker.get_slot("enterprise_verified") else ()
    return [SlotSet(slot, None) for slot in FORM_SLOTS if slot not in keep]


# Filled from a verified enterprise's profile (bot/web/enterprise_chat.py), never asked.
ENTERPRISE_PROFILE_SLOTS = ("caller_type", "enterprise_name", "uscc", "caller_name", "phone")
