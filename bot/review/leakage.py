"""Does a text copy a message of the evaluation sets? The check every correction passes before
it may become training data — a scored message that is also trained on scores nothing.

The sets: the real published complaints (`../shared/eval`, found as `hotline eval` finds them),
and our own test sets under tests/ (tests/nlu: the dev set and the entity and organisation
cases; tests/callers: every line the messy callers say). A copy is the same text after
`bot.domain.text.normalize` (and whitespace removed), or a near copy: rapidfuzz ratio ≥ 90, or
a copied stretch: at least FRAGMENT_CHARS characters of one lifted (almost) as they are from the
other (partial_ratio ≥ 95) — a reviewer's correction is often one clause of a long complaint.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from bot.config import PROJECT_ROOT
from bot.domain.text import normalize
from bot.nlu_data import read_nlu_file
from bot.review.eval_sets import CALLERS_DIR, REAL_SET, TEST_NLU_DIR, load_conversations, real_rows

NEAR_COPY_RATIO = 90.0
# A stretch this long copied from an evaluation message (or an evaluation message this long copied
# inside a correction) is a copy too; shorter ones (「我要投诉」) are what everybody says.
FRAGMENT_CHARS = 12
FRAGMENT_RATIO = 95.0


class EvalSetMissing(RuntimeError):
    """The real-complaint set is not where `hotline eval` looks: the check would be incomplete."""


@dataclass(frozen=True)
class Copy:
    """The evaluation message a text copies, and how closely."""

    source: str  # e.g. "real-complaints-dev.jsonl", "tests/nlu/dev_set.yml"
    text: str
    score: float  # 100 for an exact copy after normalisation
    fragment: bool = False  # a stretch of one copied inside the other

    @property
    def exact(self) -> bool:
        return self.score >= 100.0 and not self.fragment


def _key(text: str) -> str:
    return "".join(normalize(text).split())


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


def _test_nlu_texts(directory: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in sorted(directory.glob("*.yml")):
        name = (
            str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else path.name
        )
        with open(path, encoding="utf-8") as handle:
            content = yaml.safe_load(handle) or {}
        if "nlu" in content:
            found += [(name, e.text) for e in read_nlu_file(path)]
        found += [
            (name, str(case["text"]))
            for case in content.get("cases") or []
            if isinstance(case, dict) and case.get("text")
        ]
    return found


def _caller_texts(directory: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for conversation in load_conversations(directory):
        for part in ("say", "answers", "before"):
            found += [
                (f"tests/callers ({conversation['id']})", text)
                for text in _strings(conversation.get(part))
            ]
    return found


class EvalSets:
    """Every evaluation message, indexed for exact and near-copy look-ups."""

    def __init__(self, messages: list[tuple[str, str]]) -> None:
        self.messages = [(source, text) for source, text in messages if _key(text)]
        self._exact = {_key(text): (source, text) for source, text in self.messages}
        self._keys = [_key(text) for _, text in self.messages]
        self._long = [i for i, key in enumerate(self._keys) if len(key) >= FRAGMENT_CHARS]

    def copies(self, text: str) -> Copy | None:
        key = _key(text)
        if not key:
            return None
        if key in self._exact:
            source, original = self._exact[key]
            return Copy(source, original, 100.0)
        best = process.extractOne(key, self._keys, scorer=fuzz.ratio, score_cutoff=NEAR_COPY_RATIO)
        if best is not None:
            source, original = self.messages[best[2]]
            return Copy(source, original, float(best[1]))
        if len(key) < FRAGMENT_CHARS:
            return None
        stretch = process.extractOne(
            key,
            [self._keys[i] for i in self._long],
            scorer=fuzz.partial_ratio,
            score_cutoff=FRAGMENT_RATIO,
        )
        if stretch is None:
            return None
        source, original = self.messages[self._long[stretch[2]]]
        return Copy(source, original, float(stretch[1]), fragment=True)


def load_eval_sets(
    real: Path = REAL_SET, test_nlu: Path = TEST_NLU_DIR, callers: Path = CALLERS_DIR
) -> EvalSets:
    """All of them; raises EvalSetMissing when the real-complaint set is not there."""
    if not real.exists():
        raise EvalSetMissing(
            f"真实投诉评测集不在 {real}：无法检查纠正是否抄了评测集，导出已停止。"
            "请把项目的 shared/ 目录放在代码目录旁（../shared/eval/）。"
        )
    messages = [(real.name, str(row["text"])) for row in real_rows(real)]
    return EvalSets(messages + _test_nlu_texts(test_nlu) + _caller_texts(callers))


@functools.cache
def default_eval_sets() -> EvalSets:
    return load_eval_sets()
