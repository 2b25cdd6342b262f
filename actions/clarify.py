"""When the classifier is unsure: offer the two or three likeliest complaint categories as buttons
instead of a dead end, and keep what the caller wrote as the description. The second message in
a row that is not understood goes to a person instead (actions/handoff.py)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import first_message_description, last_user_text
from actions.handoff import (
    FALLBACKS_BEFORE_HANDOFF,
    fallback_reason,
    not_understood_in_a_row,
    queue_for_human,
)
from actions.service_info import service_answer
from bot.domain.categories import category_label_for_intent, likely_categories


class ActionClarifyCategory(Action):
    def name(self) -> str:
        return "action_clarify_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # 「你们几点下班」 that the classifier was unsure about is a question, not a complaint.
        answer = service_answer(last_user_text(tracker), always=False)
        if answer is not None:
            dispatcher.utter_message(response="utter_service_answer", answer=answer)
            return []
        missed = not_understood_in_a_row(
            tracker, lambda text: service_answer(text, always=False) is not None
        )
        if len(missed) >= FALLBACKS_BEFORE_HANDOFF:
            # Asking a third time helps nobody: a person takes over (the same queue as 转人工).
            dispatcher.utter_message(response="utter_handoff_not_understood")
            await queue_for_human(dispatcher, tracker, fallback_reason(missed))
            return []
        likely = likely_categories(tracker.latest_message.get("intent_ranking") or [])
        if not likely:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = [
            {"title": category_label_for_intent(intent), "payload": f"/{intent}"}
            for intent in likely
        ]
        buttons.append({"title": "都不是", "payload": "/complain"})
        dispatcher.utter_message(response="utter_choose_category", buttons=buttons)
        description = first_message_description(tracker, require_category=False)
        return [SlotSet("description", description)] if description else []
