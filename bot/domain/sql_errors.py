"""Database errors that name no person (both environments: SQLAlchemy 2 here, 1.4 in Rasa's).

Two ways a failed statement quotes what a citizen said:

- SQLAlchemy appends the statement's bound parameters to the exception's text and to its
  statement log; `hide_parameters=True` on the engine stops that.
- PostgreSQL itself quotes values in an error's DETAIL: `Key (external_id)=(13812345678) already
  exists`, `Failing row contains (…, 张建军, …)`. The server sends it with the error, so neither
  option helps; `protect` rewrites those values to `(…)` in the driver's exception and in
  SQLAlchemy's before either is raised, keeping the constraint and column names a maintainer
  needs. PostgreSQL's own server log is the database's, kept by the operator like its data.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event

# The engine options every engine of ours is made with.
ENGINE_OPTIONS: dict[str, Any] = {"hide_parameters": True}

# In a DETAIL line: "(cols)=(values)" and "contains (values)", values up to the line's end.
_QUOTED_VALUES = re.compile(r"(\)=|contains )\(.*\)")
_MARK = "_hotline_protected"


def redact(text: str) -> str:
    """The values PostgreSQL quotes in an error's DETAIL lines, replaced by (…)."""
    if "DETAIL:" not in text:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if "DETAIL:" in line:
            lines[index] = _QUOTED_VALUES.sub(r"\1(…)", line)
    return "\n".join(lines)


def _redact_exception(error: BaseException | None) -> None:
    if error is None or not error.args or not isinstance(error.args[0], str):
        return
    redacted = redact(error.args[0])
    if redacted != error.args[0]:
        error.args = (redacted, *error.args[1:])


def protect(engine: Any) -> Any:
    """`engine` with PostgreSQL's quoted values taken out of its errors (idempotent); returns it.

    The engine should also be made with ENGINE_OPTIONS (its parameters hidden)."""
    if getattr(engine, _MARK, False):
        return engine
    engine.hide_parameters = True

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        _redact_exception(context.original_exception)
        _redact_exception(context.sqlalchemy_exception)

    setattr(engine, _MARK, True)
    return engine
