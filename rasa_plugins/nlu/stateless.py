"""The one `create` every component without training or settings needs (Rasa asks each for it)."""

from __future__ import annotations

from typing import Any, Dict

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from typing_extensions import Self

from rasa_plugins.nlu import action_validation

# Every Rasa process that loads our model imports this module (all our stateless components
# derive from it), so action-server responses are validated with a validator compiled once.
action_validation.install()


class StatelessComponent(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Self:
        return cls()
