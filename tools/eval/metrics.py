"""Scores: per-category precision/recall/F1 and macro-F1; entity exact match per type."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass
class CategoryScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class IntentScores:
    per_category: dict[str, CategoryScore]
    macro_f1: float
    accuracy: float  # over every message of the set, any intent

    def as_dict(self) -> dict[str, object]:
        return {
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "per_category": {k: asdict(v) for k, v in self.per_category.items()},
        }


def intent_scores(
    gold: Sequence[str], predicted: Sequence[str], categories: Sequence[str]
) -> IntentScores:
    """Precision/recall/F1 for each complaint category; macro-F1 over categories present in gold."""
    per: dict[str, CategoryScore] = {}
    for category in categories:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == category and p == category)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != category and p == category)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == category and p != category)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[category] = CategoryScore(precision, recall, f1, tp + fn)
    present = [s.f1 for s in per.values() if s.support > 0]
    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / max(len(gold), 1)
    return IntentScores(per, sum(present) / len(present) if present else 0.0, accuracy)


@dataclass
class EntityScore:
    expected: int
    predicted: int
    correct: int

    @property
    def exact_match(self) -> float:
        """Share of expected entities found with exactly the right value."""
        return self.correct / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "exact_match": self.exact_match, "precision": self.precision}


def entity_scores(
    gold: Sequence[Sequence[tuple[str, str]]],
    predicted: Sequence[Sequence[tuple[str, str]]],
    kinds: Sequence[str],
) -> dict[str, EntityScore]:
    scores = {kind: EntityScore(0, 0, 0) for kind in kinds}
    for expected, found in zip(gold, predicted, strict=True):
        expected_counts = Counter(e for e in expected if e[0] in scores)
        found_counts = Counter(f for f in found if f[0] in scores)
        for (kind, _), n in expected_counts.items():
            scores[kind].expected += n
        for (kind, _), n in found_counts.items():
            scores[kind].predicted += n
        for item, n in (expected_counts & found_counts).items():
            scores[item[0]].correct += n
    return scores
