"""Recognising a call for help that cannot wait (fire, crime, medical): 119/110/120 first.

A statistical classifier is least sure exactly on the rare wordings, and a life is not the place
for a confidence threshold; so short present-tense cries for help are matched by the patterns in
data/hotline/emergency.yml as well, and either signal is enough.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bot.domain.tables import load_table
from bot.domain.text import normalize


@dataclass(frozen=True)
class EmergencyRules:
    patterns: tuple[tuple[str, re.Pattern[str]], ...]  # (kind, pattern)
    max_chars: int
    worries: tuple[str, ...] = ()

    def only_fears(self, text: str) -> bool:
        """A long story that fears a danger (万一着火了) rather than one happening now."""
        cleaned = normalize(text).strip()
        return len(cleaned) > self.max_chars and any(w in cleaned for w in self.worries)

    def kind_of(self, text: str) -> str | None:
        """fire / medical / crime / traffic / danger when a short message is a cry for help, else None."""
        cleaned = normalize(text).strip()
        if not cleaned or len(cleaned) > self.max_chars:
            return None
        for kind, pattern in self.patterns:
            if pattern.search(cleaned):
                return kind
        return None


@functools.cache
def emergency_rules() -> EmergencyRules:
    table = load_table("emergency")
    patterns = tuple(
        (str(kind), re.compile(str(pattern)))
        for kind, items in table["patterns"].items()
        for pattern in items
    )
    return EmergencyRules(
        patterns=patterns,
        max_chars=int(table["max_chars"]),
        worries=tuple(str(w) for w in table.get("worries") or ()),
    )
