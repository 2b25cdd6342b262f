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
from rasa_plugins.nlu.stateless import StatelessComponent

EMERGENCY = "emergency"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyOverride(StatelessComponent, IntentClassifier):
    def process(self, messages: List[Message]) -> List[Message]:
        rules = emergency_rules()
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str):
                continue
            if rules.kind_of(text) is None:
                self._demote_worry(message, text)
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

    @staticmethod
    def _demote_worry(message: Message, text: str) -> None:
        """「楼道里堆满纸壳子……万一着火了咋弄」: a hazard to report, not a fire to call 119 for."""
        intent = message.get(INTENT) or {}
        if intent.get("name") != EMERGENCY or not emergency_rules().only_fears(text):
            return
        ranking = [i for i in message.get(INTENT_RANKING_KEY) or [] if i.get("name") != EMERGENCY]
        if ranking:
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
