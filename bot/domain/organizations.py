"""The respondent organisation: rules for the anchored forms, merged with the CRF's guesses.

The CRF (trained on our annotations) finds most names but cuts some short (服务中心 for
涧西区重庆路街道社区卫生服务中心, 嵩县某 for 嵩县某乡镇中心小学) and misses some plain city-level
ones (市信访局). Two written forms are safe to match by rule: a place prefix plus a government
body (市信访局, 瀍河区政府) and an anonymised unit (洛龙区某小学, 市某国有建筑公司). The tables are
in data/hotline/organizations.yml.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bot.domain.tables import load_table

_CJK = r"[\u4e00-\u9fff]"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    value: str


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@functools.cache
def _place_names() -> list[str]:
    table = load_table("districts")["districts"]
    names = [str(d["name"]) for d in table] + [str(a) for d in table for a in d["aliases"]]
    # Only written place names anchor a body; "市直/市级" are not how a name starts.
    return [n for n in names if "（" not in n and n not in ("市直", "市级", "市本级")]


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    table = load_table("organizations")
    places = _alternatives([*_place_names(), "洛阳市", "洛阳"])
    bodies = _alternatives([str(b) for b in table["bodies"]])
    units = _alternatives([str(u) for u in table["units"]])
    longest = int(table["max_unit_name_chars"])
    body = re.compile(rf"(?:{places}|市)(?:{bodies})")
    unit = re.compile(rf"(?:(?:{places}|市){_CJK}{{0,4}}?)?某{_CJK}{{0,{longest}}}(?:{units})")
    return body, unit


def rule_spans(text: str) -> list[Span]:
    """Anchored organisation names in `text` (normalised: simplified, half-width)."""
    body, unit = _patterns()
    found = [Span(m.start(), m.end(), m.group()) for p in (body, unit) for m in p.finditer(text)]
    return _longest_first(found)


def merge(text: str, model_spans: list[Span]) -> list[Span]:
    """The CRF's spans and the rules' spans as one list of distinct respondents.

    Where two spans overlap the longer wins (a rule extends a span the CRF cut short); a later
    mention contained in an earlier name (住建局 after 洛龙区住建局) is the same body; a bare place
    name (洛阳市) is a district, not a respondent.
    """
    places = set(_place_names()) | {"洛阳市", "洛阳", "市"}
    candidates = [s for s in model_spans if s.value not in places] + rule_spans(text)
    kept = _longest_first(candidates)
    distinct: list[Span] = []
    for span in sorted(kept, key=lambda s: s.start):
        if any(span.value in other.value for other in kept if other is not span):
            continue
        distinct.append(span)
    return distinct


def _longest_first(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)
