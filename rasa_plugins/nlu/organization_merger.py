"""Organisation entities: the CRF's spans merged with the anchored rules (bot.domain.organizations)."""

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

from bot.domain.organizations import Span, merge
from rasa_plugins.nlu.stateless import StatelessComponent

ORGANIZATION = "organization"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class OrganizationMerger(StatelessComponent, EntityExtractorMixin):
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            entities = list(message.get(ENTITIES, []))
            model = [e for e in entities if e.get(ENTITY_ATTRIBUTE_TYPE) == ORGANIZATION]
            by_span = {(e[ENTITY_ATTRIBUTE_START], e[ENTITY_ATTRIBUTE_END]): e for e in model}
            merged = merge(
                text,
                [
                    Span(
                        e[ENTITY_ATTRIBUTE_START],
                        e[ENTITY_ATTRIBUTE_END],
                        str(e[ENTITY_ATTRIBUTE_VALUE]),
                    )
                    for e in model
                ],
            )
            organizations = [
                by_span.get((s.start, s.end))
                or {
                    ENTITY_ATTRIBUTE_TYPE: ORGANIZATION,
                    ENTITY_ATTRIBUTE_START: s.start,
                    ENTITY_ATTRIBUTE_END: s.end,
                    ENTITY_ATTRIBUTE_VALUE: s.value,
                    EXTRACTOR: self.__class__.__name__,
                }
                for s in merged
            ]
            others = [e for e in entities if e.get(ENTITY_ATTRIBUTE_TYPE) != ORGANIZATION]
            message.set(ENTITIES, others + organizations, add_to_output=True)
        return messages
