"""Validate action-server responses with a validator compiled once, not once per call.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)`
for every custom-action response. With jsonschema 4.17 that call first re-checks the schema
itself against the JSON-Schema meta-schema (`check_schema`) and builds a new validator; for
Rasa's large EVENTS_SCHEMA that is most of the cost (a py-spy profile of our Rasa server under
10 concurrent callers showed ~50% of its CPU there; Rasa issue #11717 reports the same).

The schema is a constant, so this module builds the validator once (after checking the schema
once, as `jsonschema.validate` would) and replaces the method with one that runs the same
`best_match(iter_errors(...))` and raises the same `ValidationError` with the same message
suffix. An invalid response is rejected exactly as before; only the repeated schema work goes.

It is imported by our NLU component modules, so it is installed in every Rasa process that loads
our model (`rasa run`, `rasa shell`, tests) and nowhere else. `install()` is idempotent.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Dict

from jsonschema import ValidationError, exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

logger = logging.getLogger(__name__)

# Set to 1 to keep Rasa's own per-call validation (to measure the difference: `hotline bench`).
DISABLE_ENV = "HOTLINE_RASA_STOCK_VALIDATION"
# Marks the replacement, so `install()` is idempotent and `is_installed()` can tell.
_MARK = "_hotline_compiled_validator"
_original: Callable[[RemoteAction, Dict[str, Any]], bool] | None = None


def _compiled_validator() -> Any:
    """The validator for Rasa's response schema, built once, as `jsonschema.validate` builds it."""
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def install() -> None:
    """Replace `RemoteAction._validate_action_result` with the compiled-validator version."""
    global _original
    if is_installed():
        return
    if os.environ.get(DISABLE_ENV, "") == "1":
        logger.info("%s=1: Rasa's own action-response validation is kept", DISABLE_ENV)
        return
    _original = RemoteAction._validate_action_result
    validator = _compiled_validator()
    default_spec = RemoteAction.action_response_format_spec

    def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
        # A subclass with its own schema keeps Rasa's own (uncached) path.
        if type(self).action_response_format_spec is not default_spec:
            assert _original is not None
            return _original(self, result)
        error = exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        # Rasa's message suffix, word for word (rasa/core/actions/action.py).
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    setattr(_validate_action_result, _MARK, True)
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    logger.info(
        "Action-server responses are validated with a %s compiled once (rasa_plugins.nlu.action_validation)",
        type(validator).__name__,
    )


def is_installed() -> bool:
    """Whether the compiled-validator version is the one Rasa calls."""
    return bool(getattr(RemoteAction._validate_action_result, _MARK, False))


def uninstall() -> None:
    """Put Rasa's own method back (for tests that compare the two)."""
    global _original
    if _original is not None:
        RemoteAction._validate_action_result = _original  # type: ignore[method-assign]
        _original = None


__all__ = ["ValidationError", "install", "is_installed", "uninstall"]
