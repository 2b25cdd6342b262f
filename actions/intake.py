"""The complaint form: every fact a ticket needs, asked once, checked, and shown back.

Callers do not answer one question at a time. The form therefore reads each whole message
(actions/forms.ReadingFormValidation): a question about the service is answered and the question
asked again; a correction of an earlier fact updates that fact; the answer is checked; any other
fact in the message is kept. The opening story and a story told as the answer to the description
question go through the same understanding: category (buttons when the NLU is unsure) and every
fact named in it. Which questions are asked depends on the category (amount), the caller
(enterprise → name and 统一社会信用代码) and the respondent (a government body → identity
protection), per data/hotline/intake.yml.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import MIN_FIRST_MESSAGE_CHARS
from actions.forms import ReadingFormValidation, Turn
from actions.heard import Heard
from actions.intake_checks import Accepted, check
from actions.intake_facts import clause_facts, facts_in, heard_in, story_event, two_matters
from actions.intake_filing import FORM_SLOTS
from actions.intake_rules import (
    field_label,
    give_up_value,
    intake_questions,
    not_accepted,
)
from actions.intake_summary import display, resolve_confirmation
from bot.domain.categories import (
    category_for_intent,
    category_intents,
    category_label,
    likely_categories,
)
from bot.domain.text import normalize

UNCLASSIFIED = "unclassified"
ONE_CLICK = "一键报送"
# What a one-click report records for a question nobody answered (others: intake.yml give_up).
ONE_CLICK_DEFAULTS = {
    "category": UNCLASSIFIED,
    "organization": "未提供",
    "identity_protected": False,
}
NONE_OF_THESE = ("都不是", "都不对", "其他", "其它", "不知道", "不清楚", "说不好", "不确定")
# A category read from the story needs this much confidence; below it the caller picks.
CATEGORY_MIN_CONFIDENCE = 0.2


class ValidateComplaintForm(ReadingFormValidation):
    """The complaint intake; the reading machinery is in the base, the intake's facts here."""

    form_slots = (*FORM_SLOTS, "enterprise_verified")

    def name(self) -> str:
        return "validate_complaint_form"

    def questions(self, turn: Turn, *, answered: bool = False) -> list[str]:
        return intake_questions(turn.get, answered=answered)

    def label(self, slot: str) -> str:
        return field_label(slot)

    def shown(self, slot: str, value: Any) -> str:
        return display(slot, value)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return intake_questions(tracker.get_slot) + ["confirmed"]

    def refuse_matter(self, dispatcher: CollectingDispatcher, turn: Turn) -> list[EventType] | None:
        """Court, arbitration and petition matters: say where to go, file nothing."""
        if turn.requested not in (None, "description"):
            return None
        matter = not_accepted(turn.heard.text)
        if matter is None:
            return None
        dispatcher.utter_message(response="utter_not_accepted", reply=matter.reply)
        return [
            SlotSet("intake_outcome", f"not_accepted:{matter.code}"),
            SlotSet("requested_slot", None),
        ]

    # -- a verified enterprise's 「一键报送」 -----------------------------------------------------

    def shortcut(self, turn: Turn) -> bool:
        """「一键报送」 from an enterprise whose profile the web service vouched for: file from the
        facts said so far, every question not yet answered recorded as not given."""
        if not turn.get("enterprise_verified") or ONE_CLICK not in normalize(turn.heard.text):
            return False
        if turn.get("description") is None:
            turn.say("utter_one_click_needs_story")
            if turn.requested:
                turn.set(turn.requested, None)
            return True
        options = turn.get("matter_options") or []
        if options and turn.get("matter_choice") is None:
            turn.set("matter_choice", options[0]["intent"])
            turn.set("category", category_for_intent(options[0]["intent"]))
        for slot in intake_questions(turn.get):
            if turn.get(slot) is None:
                turn.set(slot, ONE_CLICK_DEFAULTS.get(slot, give_up_value(slot)))
        turn.say("utter_one_click_filing")
        turn.set("confirmed", True)
        return True

    def offer_one_click(self, turn: Turn) -> None:
        if turn.get("enterprise_verified") and not turn.get("one_click_offered"):
            turn.say("utter_one_click_offer", enterprise=turn.get("enterprise_name") or "")
            turn.set("one_click_offered", True)

    # -- the story ------------------------------------------------------------------------------

    def opening(self, turn: Turn) -> None:
        """On activation: category from the intent, the story and every fact named in it."""
        heard = turn.heard
        if turn.get("matter_choice"):
            return  # the second of two matters: its facts were set when the first was filed
        if turn.get("category") is None and heard.trusted and heard.intent in category_intents():
            turn.set("category", category_for_intent(heard.intent))
        if turn.get("description") is None:
            if (
                heard.trusted
                and not heard.payload
                and heard.intent in category_intents()
                and len(heard.text.strip()) >= MIN_FIRST_MESSAGE_CHARS
            ):
                self.take_story(turn, heard)
            return
        # The story came before the category buttons (actions/clarify.py): its facts still count.
        event = story_event(turn.tracker, turn.get("description"))
        if event is not None:
            self.take_facts(turn, heard_in(event))
        self.offer_one_click(turn)

    def take_story(self, turn: Turn, heard: Heard) -> bool:
        """A whole story: the description, its category when the NLU is sure, and its facts."""
        checked = check("description", heard.text)
        if not isinstance(checked, Accepted):
            return False
        turn.set("description", checked.value)
        self.offer_one_click(turn)
        matters = two_matters(heard)
        if matters:
            # 「工钱拖了……还有镇上的承诺也不兑现」: the caller says which to file (or both), and
            # each ticket gets the respondent and the sum named in its own clause.
            turn.set("matter_options", matters)
            turn.set("category", None)
            for slot, raw in facts_in(heard).items():
                if slot not in ("organization", "amount", turn.requested):
                    turn.keep(slot, raw)
            return True
        if turn.get("category") is None:
            if heard.intent in category_intents() and heard.confidence >= CATEGORY_MIN_CONFIDENCE:
                turn.set("category", category_for_intent(heard.intent))
            else:
                turn.set("category_options", likely_categories(heard.ranking))
        self.take_facts(turn, heard)
        return True

    def take_facts(self, turn: Turn, heard: Heard) -> None:
        for slot, raw in facts_in(heard).items():
            if slot != turn.requested:
                turn.keep(slot, raw)

    def answer(self, turn: Turn, raw: Any) -> None:
        if turn.requested == "description":
            if self.take_story(turn, replace(turn.heard, text=str(raw))):
                return
        if turn.requested == "category":
            self.answer_category(turn)
            return
        if turn.requested == "matter_choice":
            self.answer_matter_choice(turn)
            return
        super().answer(turn, raw)

    def answer_matter_choice(self, turn: Turn) -> None:
        """「两件都登记」, or one of the two matters by its category (button or typed)."""
        options = list(turn.get("matter_options") or [])
        text = normalize(turn.heard.text)
        chosen: dict[str, Any] | None = None
        second: dict[str, Any] | None = None
        if any(word in text for word in ("两件", "两个", "都登记", "都要", "都报", "一起")):
            chosen, second = options[0], options[1]
        else:
            for option in options:
                if category_label(category_for_intent(option["intent"])) in text:
                    chosen = option
        if chosen is None:
            self.reject(turn, "matter_choice", "utter_invalid_matter_choice")
            return
        turn.set("matter_choice", chosen["intent"])
        turn.set("category", category_for_intent(chosen["intent"]))
        turn.set("second_matter", second)
        event = story_event(turn.tracker, turn.get("description"))
        if event is not None:
            for slot, value in clause_facts(heard_in(event), chosen).items():
                if turn.get(slot) is None:
                    turn.keep(slot, value)

    def answer_category(self, turn: Turn) -> None:
        """A category button, its label typed, 「都不是」, or a story clear enough to classify."""
        heard = turn.heard
        text = normalize(heard.text).strip()
        code: str | None = None
        if heard.trusted and heard.intent in category_intents() and heard.payload:
            code = category_for_intent(heard.intent)
        elif heard.trusted and heard.payload and heard.intent == "complain":
            code = UNCLASSIFIED  # 「都不是」: an operator classifies it
        elif any(word in text for word in NONE_OF_THESE):
            code = UNCLASSIFIED
        else:
            for intent in category_intents():
                label = category_label(category_for_intent(intent))
                if label in text or (len(text) >= 2 and text in label):
                    code = category_for_intent(intent)
                    break
            if code is None and heard.intent in category_intents() and heard.confidence >= 0.5:
                code = category_for_intent(heard.intent)
        if code is None:
            self.reject(turn, "category", "utter_invalid_category")
            return
        turn.set("category", code)

    # -- the summary ----------------------------------------------------------------------------

    def answer_confirmation(self, turn: Turn) -> None:
        resolve_confirmation(self, turn)
