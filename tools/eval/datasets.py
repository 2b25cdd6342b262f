"""The evaluation sets: the dev test set, the real published complaints, the entity test file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.config import PROJECT_ROOT
from bot.nlu_data import read_nlu
from bot.review.eval_sets import REAL_SET, real_rows

DEV_SET = PROJECT_ROOT / "tests" / "nlu" / "dev_set.yml"
ENTITY_SET = PROJECT_ROOT / "tests" / "nlu" / "entities.yml"
# Written blind to the extractors and to entities.yml (session 4); scored beside it.
ENTITY_HOLDOUT = PROJECT_ROOT / "tests" / "nlu" / "entities_holdout.yml"
ORGANIZATION_SET = PROJECT_ROOT / "tests" / "nlu" / "organizations_holdout.yml"
# The held-out organisation sets, by how far they are from what shaped the rules: the first
# two were read while writing the named-unit rules (session 4), the third never was.
ORGANIZATION_SETS = {
    "held-out 1 (used to shape rules)": ORGANIZATION_SET,
    "held-out 2 (used to shape rules)": PROJECT_ROOT
    / "tests"
    / "nlu"
    / "organizations_holdout_2.yml",
    "held-out 3 (blind)": PROJECT_ROOT / "tests" / "nlu" / "organizations_holdout_3.yml",
}


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str
    organizations: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntityCase:
    text: str
    expected: tuple[tuple[str, str], ...]  # (entity, value as text)
    today: str


def training_set() -> list[Labelled]:
    return [Labelled(e.text, e.intent) for e in read_nlu([PROJECT_ROOT / "data" / "nlu"])]


def dev_set() -> list[Labelled]:
    return [
        Labelled(e.text, e.intent, tuple(t for kind, t in e.entities if kind == "organization"))
        for e in read_nlu([DEV_SET])
    ]


def in_traditional(items: list[Labelled]) -> list[Labelled]:
    """The same messages as a Hong Kong, Taiwan or older caller types them (OpenCC s2t, phrases).

    Callers do write in traditional characters; a model that only learned simplified text loses
    most of its n-grams on them, which this copy of the dev set measures.
    """
    from opencc import OpenCC

    convert = OpenCC("s2t").convert
    return [Labelled(convert(i.text), i.intent, i.organizations) for i in items]


def real_set(path: Path = REAL_SET) -> list[Labelled]:
    """The published complaints; their labels are category codes or query_status."""
    return [
        Labelled(
            row["text"],
            row["label"] if row["label"] == "query_status" else f"complain_{row['label']}",
        )
        for row in real_rows(path)
    ]


def entity_cases(path: Path = ENTITY_SET) -> list[EntityCase]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as handle:
        content = yaml.safe_load(handle)
    cases = []
    for row in content["cases"]:
        expected = tuple((str(k), str(v)) for item in row["entities"] for k, v in item.items())
        cases.append(EntityCase(row["text"], expected, str(content["today"])))
    return cases


def organization_cases(path: Path = ORGANIZATION_SET) -> list[Labelled]:
    """Respondents written apart from the training data, the dev set and the organisation rules
    (the rules were shaped on the dev set's misses, so the dev set flatters them)."""
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as handle:
        content = yaml.safe_load(handle)
    return [
        Labelled(str(row["text"]), "", tuple(str(o) for o in row.get("organizations") or ()))
        for row in content["cases"]
    ]
