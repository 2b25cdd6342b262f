"""The shared base of our form validators."""

from __future__ import annotations

import abc

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import is_cancel_command, is_emergency


class CancellableFormValidation(FormValidationAction, abc.ABC):
    """A form the caller can leave at any question by saying 取消 / 算了 / 不投诉了.

    Text slots take whatever the caller types (a form always runs before rules while it is
    active), so cancelling is recognised here: the typed words are dropped and the form ends with
    `requested_slot` unset. The form's completion rule then runs its submit action, which must
    treat "not confirmed" as cancelled. Abstract: rasa-sdk registers only concrete subclasses.
    """

    @abc.abstractmethod
    def name(self) -> str:
        """The validate_<form> action name."""

    def first_turn_slots(self, tracker: Tracker) -> list[EventType]:
        """Slots the opening message already answers, so the form does not ask for them."""
        return []

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        requested = tracker.get_slot("requested_slot")
        if tracker.active_loop.get("name") and is_cancel_command(tracker):
            events: list[EventType] = [SlotSet("requested_slot", None)]
            if requested:
                events.insert(0, SlotSet(requested, None))
            return events
        if is_emergency(tracker):
            # Safety first: the numbers to call, then the same question again.
            dispatcher.utter_message(response="utter_emergency")
            return [SlotSet(requested, None)] if requested else []
        prefill = self.first_turn_slots(tracker) if requested is None else []
        # Known before validation, so the next question skips what the caller already said.
        tracker.add_slots(prefill)
        return prefill + await super().run(dispatcher, tracker, domain)
