"""The complaint form's summary and its two questions that need buttons built at run time:
the category (when the NLU was unsure) and the confirmation (确认提交 / 修改 / 取消).

At the summary a caller can confirm, cancel, name a field to redo (「电话写错了」) or say the new
value at once (「姓名改成张伟」), and settle a contradiction the summary found (a respondent in
伊川县 with the district 宜阳县).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import logger, run_blocking, ticket_service
from actions.intake_rules import field_label, field_named, intake_questions
from bot.domain.categories import category_intents, category_label, category_label_for_intent
from bot.domain.clock import CHINA_TZ
from bot.domain.corrections import find_correction
from bot.domain.districts import find_all, find_district
from bot.domain.text import normalize

if TYPE_CHECKING:
    from actions.forms import ReadingFormValidation, Turn

CONFIRM_WORDS = ("确认", "提交", "没问题", "对的", "是的", "正确", "无误")
CANCEL_WORDS = ("取消", "不提交", "算了", "不投诉了", "不要了")
ATTACH_WORDS = ("原工单", "合并", "补充到")


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
    if slot == "category":
        return category_label(str(value))
    return str(value)


def district_conflict(get: Any) -> tuple[str, str] | None:
    """(district named in the respondent, district given) when the two disagree."""
    district = get("district")
    organization = get("organization") or ""
    if not district or not organization:
        return None
    named = {name for _, _, name in find_all(str(organization))}
    if named and district not in named and len(named) == 1:
        return next(iter(named)), str(district)
    return None


class ActionAskCategory(Action):
    """The likeliest categories of the story as buttons, and 「都不是」 for an operator to decide."""

    def name(self) -> str:
        return "action_ask_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        options = [o for o in tracker.get_slot("category_options") or [] if o in category_intents()]
        buttons = [
            {"title": category_label_for_intent(intent), "payload": f"/{intent}"}
            for intent in options or category_intents()
        ]
        buttons.append({"title": "都不是", "payload": "/complain"})
        dispatcher.utter_message(response="utter_choose_category", buttons=buttons)
        return []


class ActionAskMatterChoice(Action):
    """Two matters heard in one story: file both, or one of them."""

    def name(self) -> str:
        return "action_ask_matter_choice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        options = list(tracker.get_slot("matter_options") or [])
        labels = [category_label_for_intent(str(o["intent"])) for o in options]
        if len(labels) != 2:
            return []
        dispatcher.utter_message(
            response="utter_ask_matter_choice",
            first=labels[0],
            second=labels[1],
            buttons=[
                {"title": "两件都登记", "payload": "两件都登记"},
                {"title": f"只登记：{labels[0]}", "payload": f"只登记{labels[0]}"},
                {"title": f"只登记：{labels[1]}", "payload": f"只登记{labels[1]}"},
            ],
        )
        return []


class ActionAskConfirmed(Action):
    """Shows every field the ticket will carry and asks 确认提交 / 修改 / 取消.

    Facts that contradict each other are asked about first. An earlier ticket on the same matter
    (same phone and respondent, within 30 days) is named, and the caller can add to it instead."""

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
                    for s in intake_questions(tracker.get_slot, answered=True)
                ],
            )
            return [SlotSet("intake_fixing", None)]
        conflict = district_conflict(tracker.get_slot)
        if conflict and tracker.get_slot("district_conflict") != "settled":
            named, given = conflict
            dispatcher.utter_message(
                response="utter_district_conflict",
                organization=tracker.get_slot("organization"),
                named=named,
                given=given,
                buttons=[{"title": named, "payload": named}, {"title": given, "payload": given}],
            )
            return [SlotSet("district_conflict", "asked")]
        slots = [s for s in intake_questions(tracker.get_slot) if s != "category"]
        if tracker.get_slot("amount") is not None and "amount" not in slots:
            # Said by the caller though this category does not ask for it: kept and shown.
            slots.insert(slots.index("occurred_on") + 1, "amount")
        lines = [
            f"· {field_label(slot)}：{display(slot, tracker.get_slot(slot))}"
            for slot in ["category", *slots]
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


def resolve_confirmation(form: ReadingFormValidation, turn: Turn) -> None:
    """确认提交 / 修改 / 取消, a field to redo, a field with its new value, or 补充到原工单."""
    heard = turn.heard
    typed = not heard.payload
    cleaned = normalize(heard.text)
    if turn.get("district_conflict") == "asked":
        chosen = find_district(cleaned)
        if chosen:
            turn.set("district", chosen)
            turn.set("district_conflict", "settled")
            turn.set("confirmed", None)
            return
    if typed and turn.get("duplicate_of") and any(w in cleaned for w in ATTACH_WORDS):
        turn.set("confirmed", "attach")
        return
    offered = intake_questions(turn.get, answered=True)
    if typed:
        correction = find_correction(heard.text)
        slot = form.corrected_slot(turn, correction) if correction else None
        if correction is not None and slot is not None and slot in offered:
            form.apply_correction(turn, slot, correction.new_text)
            if slot == "district":
                turn.set("district_conflict", "settled")
            turn.set("confirmed", None)
            return
    field = field_named(cleaned, [*offered, "category"]) if typed else None
    if field is not None:
        turn.say("utter_field_to_fix", field=field_label(field))
        turn.set(field, None)
        turn.set("confirmed", None)
        if field == "caller_type":
            turn.set("enterprise_name", None)
            turn.set("uscc", None)
        if field == "category":
            turn.set("category_options", [])
        tries = dict(turn.get("intake_tries") or {})
        tries.pop(field, None)
        turn.set("intake_tries", tries)
        return
    if typed and "改" in cleaned:
        turn.set("confirmed", None)
        turn.set("intake_fixing", True)  # the next question: which field
        return
    if (heard.trusted and heard.intent == "affirm") or (
        typed and any(w in cleaned for w in CONFIRM_WORDS)
    ):
        turn.set("confirmed", True)
        return
    if (heard.trusted and heard.intent == "deny") or (
        typed and any(w in cleaned for w in CANCEL_WORDS)
    ):
        turn.set("confirmed", False)
        return
    turn.say("utter_confirm_help")
    turn.set("confirmed", None)
