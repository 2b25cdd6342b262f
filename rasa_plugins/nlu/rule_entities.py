"""Deterministic entity extraction (phone, ticket number, access code, district) as a Rasa component.

The rules live in bot.domain.entities so the action server validates with the same code.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.domain.entities import extract
from rasa_plugins.nlu.stateless import StatelessComponent


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class RuleEntityExtractor(StatelessComponent, EntityExtractorMixin):
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            found = [
                {
                    ENTITY_ATTRIBUTE_TYPE: item.entity,
                    ENTITY_ATTRIBUTE_START: item.start,
                    ENTITY_ATTRIBUTE_END: item.end,
                    ENTITY_ATTRIBUTE_VALUE: item.value,
                    EXTRACTOR: self.__class__.__name__,
                }
                for item in extract(text)
            ]
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
