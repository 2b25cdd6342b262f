"""Complaint intake: validating the complaint form, showing the summary, filing the ticket."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import (
    MAX_DESCRIPTION_CHARS,
    first_message_description,
    last_user_message_key,
    last_user_text,
    latest_intent,
    log_masked,
    logger,
    run_blocking,
    ticket_service,
)
from actions.forms import CancellableFormValidation
from actions.intake_rules import (
    asks_amount,
    field_label,
    field_named,
    give_up_value,
    is_government_body,
    is_required,
    max_tries,
    not_accepted,
    says_anonymous,
    says_unknown,
)
from bot.domain.categories import category_for_intent, category_intents
from bot.domain.dates import parse_date
from bot.domain.districts import find_district, official_names
from bot.domain.entities import china_today
from bot.domain.identifiers import find_uscc
from bot.domain.money import parse_amount
from bot.domain.text import normalize
from bot.domain.validators import clean_free_text, find_phone
from bot.tickets.service import CHINA_TZ, TicketDraft

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
    "intake_tries",
    "intake_outcome",
    "duplicate_of",
    "intake_fixing",
)
MIN_DESCRIPTION_CHARS = 4
# Entities in the message that opened the form fill these slots, so they are not asked again
# (the rule extractors have validated them already: ISO dates, yuan, checksummed codes).
PREFILL_FROM_ENTITIES = {
    "organization": "organization",
    "district": "district",
    "phone": "phone",
    "occurred_on": "date",
    "amount": "amount",
    "uscc": "uscc",
}
ENTERPRISE_WORDS = ("企业", "公司", "单位", "厂", "商户", "个体户", "个体工商户", "合作社", "门店")
CITIZEN_WORDS = ("个人", "市民", "群众", "居民", "本人", "自己", "私人", "老百姓", "业主", "村民")
YES_WORDS = ("需要", "要", "是", "好", "对", "可以", "保密", "保护")
NO_WORDS = ("不需要", "不用", "不要", "否", "无所谓", "没关系", "不必")
CONFIRM_WORDS = ("确认", "提交", "没问题", "对的", "是的", "正确", "无误")
CANCEL_WORDS = ("取消", "不提交", "算了", "不投诉了", "不要了")
ATTACH_WORDS = ("原工单", "合并", "补充到")


class ValidateComplaintForm(CancellableFormValidation):
    """Every fact a ticket needs, asked once, checked, and shown back before filing.

    Slots the caller already gave in the first message are not asked again; which questions
    are asked depends on the category (amount), the caller (enterprise → name and 统一社会信用代码)
    and the respondent (a government body → identity protection), per data/hotline/intake.yml.
    """

    def name(self) -> str:
        return "validate_complaint_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return intake_questions(tracker) + ["confirmed"]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        refused = self._not_accepted(dispatcher, tracker)
        if refused is not None:
            return refused
        events = await super().run(dispatcher, tracker, domain)
        if any(
            isinstance(e, dict) and e.get("name") == "intake_outcome" and e.get("value")
            for e in events
        ):
            # Given up on a required answer: end the form whatever question would come next.
            events = [e for e in events if not _sets_requested_slot(e)]
            events.append(SlotSet("requested_slot", None))
        return events

    def _not_accepted(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType] | None:
        """Court, arbitration and petition matters: say where to go, file nothing."""
        requested = tracker.get_slot("requested_slot")
        if requested not in (None, "description"):
            return None
        matter = not_accepted(last_user_text(tracker))
        if matter is None:
            return None
        dispatcher.utter_message(response="utter_not_accepted", reply=matter.reply)
        return [
            SlotSet("intake_outcome", f"not_accepted:{matter.code}"),
            SlotSet("requested_slot", None),
        ]

    def first_turn_slots(self, tracker: Tracker) -> list[EventType]:
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
            if slot == "organization":
                # 翠微社区居委会和恒通物业互相踢皮球: both are respondents, the ticket names both.
                names = [str(e.get("value")) for e in entities if e.get("entity") == entity]
                value = "、".join(dict.fromkeys(n for n in names if n.strip())) or None
            if isinstance(value, str) and value.strip():
                events.append(SlotSet(slot, clean_free_text(value, 200)))
            elif isinstance(value, int | float) and value > 0:
                events.append(SlotSet(slot, value))
        return events

    def _reject(
        self,
        slot: str,
        response: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A specific explanation and the question again; after max_tries, stop asking."""
        tries = dict(tracker.get_slot("intake_tries") or {})
        tries[slot] = int(tries.get(slot, 0)) + 1
        if tries[slot] < max_tries():
            dispatcher.utter_message(response=response, **kwargs)
            return {slot: None, "intake_tries": tries}
        if is_required(slot):
            dispatcher.utter_message(response="utter_intake_gave_up", field=field_label(slot))
            return {
                slot: None,
                "intake_tries": tries,
                "intake_outcome": "gave_up",
                "requested_slot": None,
            }
        value = give_up_value(slot)
        dispatcher.utter_message(
            response="utter_field_skipped", field=field_label(slot), value=display(slot, value)
        )
        return {slot: value, "intake_tries": tries}

    def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = clean_free_text(str(value or ""), MAX_DESCRIPTION_CHARS)
        if len(text) < MIN_DESCRIPTION_CHARS:
            return self._reject("description", "utter_invalid_description", dispatcher, tracker)
        return {"description": text}

    def validate_organization(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = clean_free_text(str(value or ""), 200)
        if len(text) < 2:
            return self._reject("organization", "utter_invalid_organization", dispatcher, tracker)
        return {"organization": text}

    def validate_district(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        district = find_district(str(value or ""))
        if district is None:
            return self._reject(
                "district",
                "utter_invalid_district",
                dispatcher,
                tracker,
                district_list="、".join(official_names()),
            )
        return {"district": district}

    def validate_occurred_on(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if says_unknown(text):
            return {"occurred_on": give_up_value("occurred_on")}
        today = china_today()
        if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text) and text <= today.isoformat():
            return {"occurred_on": text}  # already resolved by the date extractor
        found = parse_date(normalize(text), today)
        if found is None:
            return self._reject("occurred_on", "utter_invalid_occurred_on", dispatcher, tracker)
        if found > today.isoformat()[: len(found)]:
            return self._reject("occurred_on", "utter_future_occurred_on", dispatcher, tracker)
        return {"occurred_on": found}

    def validate_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return {"amount": value}
        text = normalize(str(value or ""))
        if says_unknown(text):
            return {"amount": give_up_value("amount")}
        amount = parse_amount(text)
        if amount is None and re.fullmatch(r"\s*\d+(\.\d+)?\s*", text):
            amount = float(text)  # a bare number to "多少钱" means yuan
        if amount is None or amount <= 0:
            return self._reject("amount", "utter_invalid_amount", dispatcher, tracker)
        return {"amount": amount}

    def validate_caller_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = normalize(str(value or ""))
        if any(word in text for word in ENTERPRISE_WORDS):
            return {"caller_type": "enterprise"}
        if any(word in text for word in CITIZEN_WORDS):
            return {"caller_type": "citizen"}
        return self._reject("caller_type", "utter_invalid_caller_type", dispatcher, tracker)

    def validate_caller_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = clean_free_text(str(value or ""), 40)
        if says_anonymous(text):
            return {"caller_name": give_up_value("caller_name")}
        name = re.sub(r"^(我叫|我是|姓名|名字|我姓)[:：是]?", "", text).strip(" ，。,.")
        if not 1 <= len(name) <= 20 or re.search(r"\d", name):
            return self._reject("caller_name", "utter_invalid_caller_name", dispatcher, tracker)
        return {"caller_name": name}

    def validate_enterprise_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = clean_free_text(str(value or ""), 200)
        if len(text) < 4:
            return self._reject(
                "enterprise_name", "utter_invalid_enterprise_name", dispatcher, tracker
            )
        return {"enterprise_name": text}

    def validate_uscc(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = normalize(str(value or "")).upper()
        found = next((code for _, _, code in find_uscc(text)), None)
        if found:
            return {"uscc": found}
        if says_unknown(text):
            return {"uscc": give_up_value("uscc")}
        compact = re.sub(r"[^0-9A-Z]", "", text)
        response = "utter_invalid_uscc_check" if len(compact) == 18 else "utter_invalid_uscc"
        return self._reject("uscc", response, dispatcher, tracker)

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        phone = find_phone(str(value or ""))
        if phone is None:
            return self._reject("phone", "utter_invalid_phone", dispatcher, tracker)
        return {"phone": phone}

    def validate_identity_protected(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # The caller's words decide, not the affirm/deny intent the classifier guessed for them.
        typed = last_user_text(tracker)
        text = normalize(str(value or "") if typed.startswith("/") else typed)
        if any(word in text for word in NO_WORDS):
            return {"identity_protected": False}
        if any(word in text for word in YES_WORDS):
            return {"identity_protected": True}
        if isinstance(value, bool):
            return {"identity_protected": value}
        return self._reject(
            "identity_protected", "utter_invalid_identity_protected", dispatcher, tracker
        )

    def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """确认提交 / 修改 / 取消, a named field to correct, or 补充到原工单 for a duplicate."""
        text = last_user_text(tracker)
        typed = not text.startswith("/")
        cleaned = normalize(text)
        if typed and tracker.get_slot("duplicate_of") and any(w in cleaned for w in ATTACH_WORDS):
            return {"confirmed": "attach"}
        offered = intake_questions(tracker, answered=True)
        field = field_named(cleaned, offered) if typed else None
        if field is not None:
            dispatcher.utter_message(response="utter_field_to_fix", field=field_label(field))
            reset: dict[str, Any] = {field: None, "confirmed": None}
            if field == "caller_type":
                reset.update(enterprise_name=None, uscc=None)
            tries = dict(tracker.get_slot("intake_tries") or {})
            tries.pop(field, None)
            reset["intake_tries"] = tries
            return reset
        if typed and "改" in cleaned:
            return {"confirmed": None, "intake_fixing": True}  # the next question: which field
        if value is True or (typed and any(w in cleaned for w in CONFIRM_WORDS)):
            return {"confirmed": True}
        if value is False or (typed and any(w in cleaned for w in CANCEL_WORDS)):
            return {"confirmed": False}
        dispatcher.utter_message(response="utter_confirm_help")
        return {"confirmed": None}


def _sets_requested_slot(event: Any) -> bool:
    return isinstance(event, dict) and event.get("name") == "requested_slot"


def intake_questions(tracker: Tracker, *, answered: bool = False) -> list[str]:
    """The questions this caller is asked, in order (with answered=True: those to correct)."""
    questions = ["description", "organization", "district", "occurred_on"]
    if asks_amount(tracker.get_slot("category")):
        questions.append("amount")
    questions += ["caller_type", "caller_name"]
    if tracker.get_slot("caller_type") == "enterprise":
        questions += ["enterprise_name", "uscc"]
    questions.append("phone")
    if is_government_body(tracker.get_slot("organization")):
        questions.append("identity_protected")
    if answered:
        return [q for q in questions if tracker.get_slot(q) is not None]
    return questions


def display(slot: str, value: Any) -> str:
    """A slot value as the caller reads it in the summary."""
    if value is None:
        return "未提供"
    if slot == "amount" and isinstance(value, int | float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") + "元"
    if slot == "caller_type":
        return "企业" if value == "enterprise" else "个人"
    if slot == "identity_protected":
        return "仅督办人员可见来电人身份" if value else "不需要"
    return str(value)


class ActionAskConfirmed(Action):
    """Shows every field the ticket will carry and asks 确认提交 / 修改 / 取消.

    An earlier ticket on the same matter (same phone and respondent, within 30 days) is named,
    and the caller can add to it instead of filing again."""

    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("intake_fixing"):
            dispatcher.utter_message(
                response="utter_which_field",
                buttons=[
                    {"title": field_label(s), "payload": f"修改{field_label(s)}"}
                    for s in intake_questions(tracker, answered=True)
                ],
            )
            return [SlotSet("intake_fixing", None)]
        lines = [
            f"· {field_label(slot)}：{display(slot, tracker.get_slot(slot))}"
            for slot in intake_questions(tracker)
        ]
        duplicate = None
        try:
            duplicate = await run_blocking(
                ticket_service().find_duplicate,
                tracker.get_slot("phone") or "",
                tracker.get_slot("organization") or "",
                tracker.get_slot("description") or "",
            )
        except Exception:
            logger.exception("duplicate check failed")
        if duplicate is not None:
            dispatcher.utter_message(
                response="utter_confirm_summary_duplicate",
                fields="\n".join(lines),
                duplicate=duplicate.number,
                duplicate_date=f"{duplicate.created_at.astimezone(CHINA_TZ):%m月%d日}",
            )
            return [SlotSet("duplicate_of", duplicate.number)]
        dispatcher.utter_message(response="utter_confirm_summary", fields="\n".join(lines))
        return [SlotSet("duplicate_of", None)]


class ActionFileTicket(Action):
    """Files the ticket after the caller confirmed; says 已受理 only after the commit."""

    def name(self) -> str:
        return "action_file_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("intake_outcome"):
            return _reset()  # not accepted or given up: the reason was already said
        confirmed = tracker.get_slot("confirmed")
        duplicate = tracker.get_slot("duplicate_of")
        if confirmed == "attach" and duplicate:
            return await self._attach(dispatcher, tracker, duplicate)
        if confirmed is not True:
            dispatcher.utter_message(response="utter_cancelled")
            return _reset()
        draft = draft_from(tracker)
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
        return _reset()


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
    return TicketDraft(
        description=tracker.get_slot("description"),
        organization=tracker.get_slot("organization"),
        district=given("district") or "",
        phone=tracker.get_slot("phone"),
        category=tracker.get_slot("category") or "unclassified",
        sender_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "chat",
        occurred_on=given("occurred_on"),
        amount=amount,
        caller_type=caller_type,
        caller_name=given("caller_name"),
        enterprise_name=given("enterprise_name") if caller_type == "enterprise" else None,
        uscc=given("uscc") if caller_type == "enterprise" else None,
        identity_protected=tracker.get_slot("identity_protected") is True,
    )


def _reset() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]
