"""The ticket state machine, read from data/hotline/ticket_states.yml.

Every state change goes through `Lifecycle.apply`, so an action the 12345 rules do not allow
(签收 a ticket twice, 办结 before 答复, 催办 a closed ticket) is refused in one place.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from bot.domain.tables import load_table


class IllegalTransition(ValueError):
    """An action not allowed from the ticket's current state, or missing what it needs."""

    def __init__(self, message: str, *, action: str, state: str) -> None:
        super().__init__(message)
        self.action = action
        self.state = state


@dataclass(frozen=True)
class Action:
    code: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the state stays, the action is only recorded
    needs: frozenset[str]


@dataclass(frozen=True)
class Lifecycle:
    states: dict[str, str]  # code → label
    open_states: frozenset[str]
    supervision: dict[str, str]
    actions: dict[str, Action]

    def apply(self, action: str, state: str | None, given: dict[str, Any] | None = None) -> str:
        """The state after `action`; raises IllegalTransition when it is not allowed."""
        spec = self.actions.get(action)
        current = state or ""
        if spec is None:
            raise IllegalTransition(f"未知操作：{action}", action=action, state=current)
        if state is not None and current not in spec.sources:
            raise IllegalTransition(
                f"工单处于「{self.state_label(current)}」，不能{spec.label}",
                action=action,
                state=current,
            )
        missing = [n for n in sorted(spec.needs) if not (given or {}).get(n)]
        if missing:
            raise IllegalTransition(
                f"{spec.label}需要填写：{'、'.join(_NEED_LABELS.get(m, m) for m in missing)}",
                action=action,
                state=current,
            )
        return spec.target or current

    def is_open(self, state: str) -> bool:
        return state in self.open_states

    def state_label(self, code: str) -> str:
        return self.states.get(code, code)

    def action_label(self, code: str) -> str:
        spec = self.actions.get(code)
        return spec.label if spec else code


_NEED_LABELS = {"department": "承办单位", "note": "说明"}


def parse_lifecycle(table: dict[str, Any]) -> Lifecycle:
    states = {str(s["code"]): str(s["label"]) for s in table["states"]}
    actions = {}
    for code, spec in table["actions"].items():
        sources = frozenset(str(s) for s in spec.get("from") or [])
        target = spec.get("to")
        unknown = [s for s in [*sources, target] if s is not None and s not in states]
        if unknown:
            raise ValueError(f"ticket_states.yml: action {code} names unknown states {unknown}")
        actions[str(code)] = Action(
            code=str(code),
            label=str(spec["label"]),
            sources=sources,
            target=str(target) if target else None,
            needs=frozenset(str(n) for n in spec.get("needs") or []),
        )
    return Lifecycle(
        states=states,
        open_states=frozenset(str(s["code"]) for s in table["states"] if s.get("open")),
        supervision={str(s["code"]): str(s["label"]) for s in table["supervision"]},
        actions=actions,
    )


@functools.cache
def lifecycle() -> Lifecycle:
    return parse_lifecycle(load_table("ticket_states"))
