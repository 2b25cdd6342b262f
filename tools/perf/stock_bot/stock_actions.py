"""The stock bot's one custom action: the form's validation, as the Rasa docs write it."""

import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

Slots = dict[str, Any]

PHONE = re.compile(r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$")


def _text(value: Any, dispatcher: CollectingDispatcher, slot: str) -> Slots:
    if isinstance(value, str) and value.strip():
        return {slot: value.strip()}
    dispatcher.utter_message(response="utter_invalid")
    return {slot: None}


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return _text(value, dispatcher, "description")

    def validate_organization(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return _text(value, dispatcher, "organization")

    def validate_district(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return _text(value, dispatcher, "district")

    def validate_occurred_on(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return _text(value, dispatcher, "occurred_on")

    def validate_caller_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value in {"个人", "企业"}:
            return {"caller_type": value}
        dispatcher.utter_message(response="utter_invalid")
        return {"caller_type": None}

    def validate_caller_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return _text(value, dispatcher, "caller_name")

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if isinstance(value, str) and PHONE.match(value.replace(" ", "")):
            return {"phone": value.replace(" ", "")}
        dispatcher.utter_message(response="utter_invalid")
        return {"phone": None}
