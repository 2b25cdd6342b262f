"""Ticket status queries: number + access code in, the ticket's state out."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import heard
from actions._shared import (
    last_user_text,
    log_masked,
    logger,
    lookup_guard,
    requester,
    run_blocking,
    ticket_service,
)
from actions.forms import CancellableFormValidation
from bot.domain.clock import CHINA_TZ
from bot.domain.text import normalize
from bot.domain.tickets import find_access_code, find_ticket_id
from bot.tickets.lookup_guard import LookupRefused
from bot.tickets.service import TicketView, waiting_step

SHOWN_OWN_TICKETS = 3


class ValidateStatusForm(CancellableFormValidation):
    """Number + access code; a chat sender asking about their own tickets needs neither."""

    def name(self) -> str:
        return "validate_status_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        number = tracker.get_slot("ticket_id")
        service = ticket_service()
        try:
            if number:
                own = await run_blocking(service.owned_by, number, tracker.sender_id)
                if own is not None:
                    return []
            elif await run_blocking(service.tickets_of_sender, tracker.sender_id, 1):
                return []
        except Exception:
            logger.exception("own-ticket check failed")
        return domain_slots

    def validate_ticket_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        number = find_ticket_id(_typed(tracker, value))
        if number is None:
            dispatcher.utter_message(response="utter_invalid_ticket_id")
            return {"ticket_id": None}
        return {"ticket_id": number}

    def validate_access_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = find_access_code(_typed(tracker, value))
        if code is None:
            dispatcher.utter_message(response="utter_invalid_access_code")
            return {"access_code": None}
        return {"access_code": code}


def _typed(tracker: Tracker, value: Any) -> str:
    """The value to check, or nothing when the latest message is a payload the bot did not
    offer (actions/heard.py): its entities (and its text) are no answer to the form."""
    return str(value or "") if heard.read(tracker).trusted else ""


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
        service = ticket_service()
        views: list[TicketView | None]
        try:
            if number and code:
                views = [
                    await run_blocking(lookup_guard().lookup, number, code, requester(tracker))
                ]
            elif number:
                views = [await run_blocking(service.owned_by, number, tracker.sender_id)]
            else:
                views = list(
                    await run_blocking(
                        service.tickets_of_sender, tracker.sender_id, SHOWN_OWN_TICKETS
                    )
                )
        except LookupRefused as refused:
            dispatcher.utter_message(text=refused.message)
            return forget
        except Exception:
            logger.exception("status lookup failed")
            dispatcher.utter_message(response="utter_service_unavailable")
            return forget
        found = [v for v in views if v is not None]
        if not found:
            if number or code:
                dispatcher.utter_message(response="utter_ticket_not_found")
            else:
                # The caller left the form (取消) before giving both.
                dispatcher.utter_message(response="utter_cancelled")
            return forget
        if not code:  # tickets this conversation filed: their number and code may have been lost
            await reissue_lost_codes(
                dispatcher, tracker, [v.number for v in found], asked=asks_what_was_filed(tracker)
            )
        for view in found:
            dispatcher.utter_message(response="utter_ticket_status", **status_fields(view))
        return forget


# The person asks what the filing gave them — so they did not get it, whatever the record says
# (WeChat's customer-service fallback can fail after the reply was recorded):
# 「提取码忘了」「我的提取码是多少」「没收到工单号」「我的工单号是多少」「刚才提交成功了吗」「受理了没」
_ASKS_WHAT_WAS_FILED = re.compile(
    r"提取码.{0,6}(?:忘|丢|没|不记得|多少|什么|啥|重新|再)"
    r"|(?:忘|丢|没收到|没看到|重新|再).{0,6}(?:提取码|工单号|单号)"
    r"|(?:工单号|单号).{0,4}(?:多少|是啥|什么|忘)"
    r"|(?:提交|受理|登记)(?:成功|上|好)?了?(?:吗|没)"
)


def asks_what_was_filed(tracker: Tracker) -> bool:
    """Whether the person's latest words ask for the number or code, or whether the filing
    went through (not only how the ticket is doing)."""
    return _ASKS_WHAT_WAS_FILED.search(normalize(last_user_text(tracker))) is not None


async def reissue_lost_codes(
    dispatcher: CollectingDispatcher, tracker: Tracker, numbers: list[str], *, asked: bool
) -> int:
    """The number and a fresh code of each ticket this conversation filed whose filing reply
    the gateway never recorded (so the person never saw it), or of the newest one when the
    person asks what the filing gave them. Whatever went wrong after the commit — the gateway's timeout, the
    action's budget, a failed record — the person gets both in the same conversation. Returns
    how many codes were given."""
    service = ticket_service()
    given = 0
    for index, number in enumerate(numbers):
        try:
            lost = not await run_blocking(service.confirmation_recorded, number, tracker.sender_id)
            if not lost and not (asked and index == 0):
                continue
            code = await run_blocking(service.reissue_code, number, tracker.sender_id)
        except Exception:
            logger.exception("re-issuing the access code of %s failed", number)
            continue
        if code is not None:
            log_masked("new access code of %s for sender %s", number, tracker.sender_id)
            dispatcher.utter_message(
                response="utter_access_code_reissued", ticket_id=number, access_code=code
            )
            given += 1
    return given


def status_fields(view: TicketView) -> dict[str, str]:
    """The values of utter_ticket_status: every field in words a caller understands."""
    if view.deadline is None:
        deadline = "—"
    else:
        deadline = f"{view.deadline.astimezone(CHINA_TZ):%Y年%m月%d日 %H:%M}前{waiting_step(view.status_code)}"
        if view.overdue:
            deadline += "（已超期）"
    supervision = "" if view.supervision == "无" else f"（{view.supervision}中）"
    return {
        "ticket_id": view.number,
        "category": view.category,
        "status": view.status + supervision,
        "organization": view.organization or "未提供",
        "district": view.district or "未提供",
        "department": view.department or "待派单",
        "deadline": deadline,
        "reply": view.reply or "暂无",
        "created_at": f"{view.created_at.astimezone(CHINA_TZ):%Y年%m月%d日 %H:%M}",
    }
