"""Short cries for help (着火了, 有人晕倒了, 有人拿刀) are emergencies whatever the classifier says.

The patterns and the reasons live in bot.domain.emergency and data/hotline/emergency.yml. This
component only puts `emergency` on top with full confidence, so the FallbackClassifier and the
action server's in-form check (emergency ≥ 0.8) both see it.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.domain.emergency import emergency_rules
from bot.nlu.stateless import StatelessComponent

EMERGENCY = "emergency"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyOverride(StatelessComponent, IntentClassifier):
    def process(self, messages: List[Message]) -> List[Message]:
        rules = emergency_rules()
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or rules.kind_of(text) is None:
                continue
            ranking = [
                item
                for item in message.get(INTENT_RANKING_KEY) or []
                if item.get("name") != EMERGENCY
            ]
            top = {"name": EMERGENCY, "confidence": 1.0}
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
        return messages
