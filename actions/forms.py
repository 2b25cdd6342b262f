"""The shared base of our form validators."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._shared import is_cancel_command, is_emergency, last_user_text
from actions.deadlines import deadlines_for
from actions.heard import Heard, offered_payloads, read, slots_before_turn
from actions.intake_checks import CHECKS, Accepted, Checked, check
from actions.intake_rules import field_named, give_up_value, is_required, max_tries
from bot.domain.corrections import Correction, find_correction
from bot.domain.districts import find_district
from bot.domain.service_questions import answer_text, find_service_question

# A correction is a short message; a long one is a story, even when it says 不是…是….
MAX_CORRECTION_CHARS = 80
# What a correction's new value is, tried in this order when the caller does not name the field.
VALUE_KINDS = ("phone", "uscc", "amount", "district", "occurred_on")


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

    def cancel_or_emergency(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType] | None:
        requested = tracker.get_slot("requested_slot")
        # A button the bot just offered is an answer, whatever the classifier makes of its title
        # (「两件都登记」 scores as 取消).
        clicked = last_user_text(tracker).strip() in offered_payloads(tracker)
        if tracker.active_loop.get("name") and not clicked and is_cancel_command(tracker):
            events: list[EventType] = [SlotSet("requested_slot", None)]
            if requested:
                events.insert(0, SlotSet(requested, None))
            return events
        if is_emergency(tracker):
            # Safety first: the numbers to call, then the same question again.
            dispatcher.utter_message(response="utter_emergency")
            return [SlotSet(requested, None)] if requested else []
        return None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        early = self.cancel_or_emergency(dispatcher, tracker)
        if early is not None:
            return early
        return await super().run(dispatcher, tracker, domain)


@dataclass
class Turn:
    """One user turn of a reading form: what was heard, the slots before it, the form's decisions."""

    tracker: Tracker
    dispatcher: CollectingDispatcher
    heard: Heard
    requested: str | None
    before: dict[str, Any]
    checker: Callable[[str, Any, Any], Checked]
    updates: dict[str, Any] = field(default_factory=dict)
    ended: bool = False

    def get(self, slot: str) -> Any:
        return self.updates[slot] if slot in self.updates else self.before.get(slot)

    def set(self, slot: str, value: Any) -> None:
        self.updates[slot] = value

    def keep(self, slot: str, raw: Any) -> bool:
        """A fact said in passing: taken when the slot is empty and the value passes its check."""
        if self.get(slot) is not None or slot not in CHECKS:
            return False
        checked = self.checker(slot, raw, None)
        if isinstance(checked, Accepted):
            self.set(slot, checked.value)
            return True
        return False

    def say(self, response: str, **kwargs: Any) -> None:
        self.dispatcher.utter_message(response=response, **kwargs)


class ReadingFormValidation(CancellableFormValidation):
    """A form that reads each whole message, as callers talk, instead of one slot at a time.

    Per turn: 取消 and emergencies (the base); a question about the service is answered in a line
    and the question asked again; a correction of an earlier fact (「不对，是伊川县不是宜阳县」)
    updates that fact, says so, and asks the question again; otherwise the answer is checked, and
    any other fact in the message is kept. Rasa's own slot extraction is replaced by these
    decisions, so every value passes its check whatever path it came by (typed, extracted from
    the story, or inside a payload), and a payload nobody offered is read as plain text.
    """

    form_slots: tuple[str, ...] = ()

    # -- hooks for the concrete form ------------------------------------------------------------

    @abc.abstractmethod
    def questions(self, turn: Turn, *, answered: bool = False) -> list[str]:
        """The slots this form asks, in order (answered=True: those already given)."""

    def label(self, slot: str) -> str:
        return slot

    def shown(self, slot: str, value: Any) -> str:
        return str(value)

    def refuse_matter(self, dispatcher: CollectingDispatcher, turn: Turn) -> list[EventType] | None:
        return None

    def opening(self, turn: Turn) -> None:
        """The message that started the form: what it already answers."""

    def shortcut(self, turn: Turn) -> bool:
        """A message that settles the whole form at once (an enterprise's 「一键报送」)."""
        return False

    def take_facts(self, turn: Turn, heard: Heard) -> None:
        """Facts said beyond the question asked."""

    @abc.abstractmethod
    def answer_confirmation(self, turn: Turn) -> None:
        """The caller's answer to the summary (confirm, cancel, or change a field)."""

    # -- the turn -------------------------------------------------------------------------------

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        early = self.cancel_or_emergency(dispatcher, tracker)
        if early is not None:
            return early
        requested = tracker.get_slot("requested_slot")
        # The slots as the conversation left them, without what Rasa's own extraction set from
        # this message (the form decides those itself).
        known = slots_before_turn(tracker)
        before = {
            slot: known.get(slot) for slot in (*self.form_slots, *tracker.slots_to_validate())
        }
        turn = Turn(
            tracker=tracker,
            dispatcher=dispatcher,
            heard=read(tracker),
            requested=requested,
            before=before,
            checker=check,
        )
        refused = self.refuse_matter(dispatcher, turn)
        if refused is not None:
            return refused
        if self.shortcut(turn):
            return self.finish(tracker, turn)
        if requested is None:
            self.opening(turn)
        elif requested == "confirmed":
            self.answer_confirmation(turn)
        else:
            self.read_answer(turn)
        return self.finish(tracker, turn)

    def read_answer(self, turn: Turn) -> None:
        requested = str(turn.requested)
        text = turn.heard.text
        if self.answer_service_question(turn):
            turn.set(requested, None)
            return
        if requested != "description" and len(text) <= MAX_CORRECTION_CHARS:
            correction = find_correction(text)
            if correction is not None:
                slot = self.corrected_slot(turn, correction)
                if slot is not None and slot != requested:
                    self.apply_correction(turn, slot, correction.new_text)
                    turn.set(requested, None)
                    return
                if slot == requested:
                    self.answer(turn, correction.new_text)
                    return
        self.answer(turn, text)
        self.take_facts(turn, turn.heard)

    def answer(self, turn: Turn, raw: Any) -> None:
        slot = str(turn.requested)
        pending = (turn.get("intake_pending") or {}).get(slot)
        checked = turn.checker(slot, raw, pending)
        if isinstance(checked, Accepted):
            turn.set(slot, checked.value)
            return
        if checked.pending is not None:
            turn.set(
                "intake_pending", {**(turn.get("intake_pending") or {}), slot: checked.pending}
            )
        self.reject(turn, slot, checked.response, **checked.kwargs)
        for other, text in checked.salvage.items():
            turn.keep(other, text)

    def answer_service_question(self, turn: Turn) -> bool:
        """「你们一般多久能答复？」 in the middle of the form: answered from the routing table."""
        heard = turn.heard
        if heard.payload:
            return False
        question = find_service_question(heard.text)
        if question is None and (
            heard.intent == "bot_challenge" and heard.confidence >= 0.6 and len(heard.text) <= 20
        ):
            question = find_service_question("你是真人吗")
        if question is None:
            return False
        sign_days, answer_days = deadlines_for(turn.get("category"), turn.get("district"))
        turn.say(
            "utter_service_answer",
            answer=answer_text(question, sign_days=sign_days, answer_days=answer_days),
        )
        return True

    def corrected_slot(self, turn: Turn, correction: Correction) -> str | None:
        """Which fact a correction is about: named (电话, 金额), else what its new value is.
        A fact not given yet counts too: 「金额刚才说错了，是四十万」 before the amount was asked."""
        candidates = self.questions(turn)
        if turn.requested and turn.requested not in candidates:
            candidates.append(turn.requested)
        named = field_named(correction.field_text, candidates) or field_named(
            correction.new_text, candidates
        )
        if named is not None:
            return named
        for slot in VALUE_KINDS:
            if slot in candidates and isinstance(
                turn.checker(slot, correction.new_text, None), Accepted
            ):
                if slot == "district" and find_district(correction.new_text) is None:
                    continue
                return slot
        return None

    def apply_correction(self, turn: Turn, slot: str, text: str) -> None:
        checked = turn.checker(slot, text, None)
        if isinstance(checked, Accepted):
            old = turn.get(slot)
            turn.set(slot, checked.value)
            turn.set("intake_history", [*(turn.get("intake_history") or []), [slot, old]])
            turn.say(
                "utter_fact_corrected",
                field=self.label(slot),
                value=self.shown(slot, checked.value),
            )
        else:
            turn.say(checked.response, **checked.kwargs)

    def reject(self, turn: Turn, slot: str, response: str, **kwargs: Any) -> None:
        """A specific explanation and the question again; after max_tries, stop asking."""
        tries = dict(turn.get("intake_tries") or {})
        tries[slot] = int(tries.get(slot, 0)) + 1
        turn.set("intake_tries", tries)
        if tries[slot] < max_tries():
            turn.say(response, **kwargs)
            turn.set(slot, None)
        elif is_required(slot):
            turn.say("utter_intake_gave_up", field=self.label(slot))
            turn.set(slot, None)
            turn.set("intake_outcome", "gave_up")
            turn.ended = True
        else:
            value = give_up_value(slot)
            turn.say("utter_field_skipped", field=self.label(slot), value=self.shown(slot, value))
            turn.set(slot, value)

    def finish(self, tracker: Tracker, turn: Turn) -> list[EventType]:
        """The form's decisions replace Rasa's extraction; then the next question."""
        for slot in tracker.slots_to_validate():
            if slot != "requested_slot" and slot not in turn.updates:
                turn.updates[slot] = turn.before.get(slot)
        if turn.requested and turn.requested not in turn.updates:
            turn.updates[turn.requested] = turn.get(turn.requested)
        events: list[EventType] = [SlotSet(k, v) for k, v in turn.updates.items()]
        if turn.ended:
            return [*events, SlotSet("requested_slot", None)]
        if turn.get("confirmed") is not None:
            return [*events, SlotSet("requested_slot", None)]
        upcoming = [*self.questions(turn), "confirmed"]
        following = next((s for s in upcoming if turn.get(s) is None), None)
        return [*events, SlotSet("requested_slot", following)]
