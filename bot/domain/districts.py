"""Recognising Luoyang's districts and counties in what a caller types."""

from __future__ import annotations

import functools

from bot.domain.tables import load_table
from bot.domain.text import normalize


@functools.lru_cache(maxsize=1)
def _alias_index() -> list[tuple[str, str]]:
    """(surface form, official name), longest surface first so 瀍河回族区 wins over 瀍河."""
    pairs: list[tuple[str, str]] = []
    for entry in load_table("districts")["districts"]:
        pairs.append((entry["name"], entry["name"]))
        pairs.extend((alias, entry["name"]) for alias in entry.get("aliases") or [])
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


def official_names() -> list[str]:
    """Every district's official name, in table order."""
    return [entry["name"] for entry in load_table("districts")["districts"]]


def find_all(text: str) -> list[tuple[int, int, str]]:
    """(start, end, official name) of every district mention, longest match first, no overlaps."""
    text = normalize(text)
    taken = [False] * len(text)
    spans: list[tuple[int, int, str]] = []
    for surface, name in _alias_index():
        start = text.find(surface)
        while start >= 0:
            end = start + len(surface)
            if not any(taken[start:end]):
                spans.append((start, end, name))
                taken[start:end] = [True] * (end - start)
            start = text.find(surface, end)
    return sorted(spans)


def find_district(text: str) -> str | None:
    """The official name of the first district mentioned in text, or None."""
    spans = find_all(text)
    return spans[0][2] if spans else None
