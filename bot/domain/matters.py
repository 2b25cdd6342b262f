"""Two matters in one message: 「工钱拖了半年……还有镇上写的承诺书也不兑现」.

About one real complaint in ten tells two matters. Guessing one category for it silently files
the other nowhere. "Holds two" is decided from the classifier itself: the message is cut where a
second matter is announced (还有就是, 另外, 二是 …) into a left and a right part, each part is
classified on its own, and the message holds two matters when both parts are confidently
*different* complaint categories and the two are the whole message's two likeliest. The thresholds were chosen on our own
data (docs/nlu-evaluation.md, `hotline eval`): it must stay rare on single-matter messages.

Pure: the caller passes the classifier as `proba` (texts → one {intent: probability} per text),
so the Rasa component and the evaluation use the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain.text import normalize

MIN_CHARS = 30  # shorter messages do not tell two stories
MIN_PART_CHARS = 10
PART_CONFIDENCE = 0.45  # each part's own category must be at least this likely
WHOLE_TOP = 2  # and both are the whole message's two likeliest categories
MAX_SPLITS = 12

# A second matter is announced (还有就是…, 另外…, 二是…); a clause that only tells a consequence
# (「…一分没给，工人工资都发不出来了」) is not one. The cut is made right before the announcement.
_ANNOUNCED = re.compile(
    r"(?:^|[\s,，。.!！?？；;、])\s*(?=还有就是|还有个事|还有一个事|还有一件|还有|另外|再一个|再就是|"
    r"二是|第二|其次|此外|另一件|另一个事|再说个事|再反映|另一方面|一边是|再有就是)"
)


@dataclass(frozen=True)
class Matter:
    intent: str
    confidence: float
    start: int
    end: int


def _boundaries(text: str) -> list[int]:
    ends = [m.end() for m in _ANNOUNCED.finditer(text)]
    return [b for b in ends if MIN_PART_CHARS <= b <= len(text) - MIN_PART_CHARS][:MAX_SPLITS]


def matter_parts(text: str) -> list[str]:
    """The texts `find_two_matters` asks `proba` about for `text`, whole message first (none when
    it is too short or announces no second matter); a caller scoring many messages at once asks
    the classifier about all of them in one call and answers `proba` from that."""
    split = _split(text)
    return split[2] if split else []


def _split(text: str) -> tuple[str, list[int], list[str]] | None:
    cleaned = normalize(text)
    if len(cleaned.strip()) < MIN_CHARS:
        return None
    cuts = _boundaries(cleaned)
    if not cuts:
        return None
    return cleaned, cuts, [cleaned] + [cleaned[:b] for b in cuts] + [cleaned[b:] for b in cuts]


def find_two_matters(
    text: str,
    proba: Callable[[Sequence[str]], Sequence[dict[str, float]]],
    categories: Sequence[str],
) -> tuple[Matter, Matter] | None:
    """The two matters a message holds (left one first), or None for a single matter."""
    split = _split(text)
    if split is None:
        return None
    cleaned, cuts, parts = split
    scores = proba(parts)
    whole = sorted(
        (c for c in categories if c in scores[0]), key=lambda c: scores[0][c], reverse=True
    )[:WHOLE_TOP]
    best: tuple[float, Matter, Matter] | None = None
    for i, cut in enumerate(cuts):
        left, right = scores[1 + i], scores[1 + len(cuts) + i]
        a = max(categories, key=lambda c: left.get(c, 0.0))
        b = max(categories, key=lambda c: right.get(c, 0.0))
        pa, pb = left.get(a, 0.0), right.get(b, 0.0)
        if a == b or min(pa, pb) < PART_CONFIDENCE or a not in whole or b not in whole:
            continue
        if best is None or min(pa, pb) > best[0]:
            best = (min(pa, pb), Matter(a, pa, 0, cut), Matter(b, pb, cut, len(cleaned)))
    return (best[1], best[2]) if best else None
