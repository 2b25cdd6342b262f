"""Questions about the hotline itself outside a form (「你们几点下班」「多久能答复」): answered
from the table, not turned into complaint-category buttons."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import last_user_text
from actions.deadlines import deadlines_for
from bot.domain.service_questions import answer_text, fallback_answer, find_service_question


def service_answer(text: str, *, always: bool) -> str | None:
    """The answer to a question about the service; with always=False None when it is not one."""
    sign_days, answer_days = deadlines_for(None, None)
    question = find_service_question(text)
    if question is not None:
        return answer_text(question, sign_days=sign_days, answer_days=answer_days)
    if always:
        return fallback_answer().format(sign_days=sign_days, answer_days=answer_days)
    return None


class ActionAnswerServiceQuestion(Action):
    def name(self) -> str:
        return "action_answer_service_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        answer = service_answer(last_user_text(tracker), always=True)
        dispatcher.utter_message(response="utter_service_answer", answer=answer)
        return []
