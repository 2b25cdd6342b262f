"""The training data is written like people write, not generated from templates; the dev set is
separate from it; neither copies the real-complaint evaluation set."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from bot.config import PROJECT_ROOT
from bot.domain.tables import load_table
from bot.nlu_data import Example, read_nlu
from tests.conftest import REAL_EVAL_SET as EVAL_PATH
from tests.conftest import require_real_eval_set

TRAIN = read_nlu([PROJECT_ROOT / "data" / "nlu"])
DEV_PATH = PROJECT_ROOT / "tests" / "nlu" / "dev_set.yml"
HELD_OUT_PATHS = sorted((PROJECT_ROOT / "tests" / "nlu").glob("organizations_holdout*.yml"))
CATEGORY_INTENTS = [c["intent"] for c in load_table("categories")["categories"]]
NEAR_DUPLICATE = 90.0  # character-level similarity in percent (rapidfuzz ratio ≈ difflib ratio)


def _domain_intents() -> list[str]:
    import yaml

    with open(PROJECT_ROOT / "domain.yml", encoding="utf-8") as handle:
        return [str(i) for i in yaml.safe_load(handle)["intents"]]


def _pairs_above(
    texts: list[str], others: list[str] | None, cutoff: float
) -> list[tuple[str, str, float]]:
    """Pairs with similarity above cutoff (within texts, or between texts and others)."""
    choices = others if others is not None else texts
    matrix = process.cdist(texts, choices, scorer=fuzz.ratio, score_cutoff=cutoff, workers=-1)
    found = []
    for i, row in enumerate(matrix):
        for j, score in enumerate(row):
            if score > cutoff and (others is not None or j > i):
                found.append((texts[i], choices[j], float(score)))
    return found


def test_every_intent_in_the_domain_has_enough_examples() -> None:
    counts = Counter(e.intent for e in TRAIN)
    for intent in _domain_intents():
        minimum = 60 if intent in CATEGORY_INTENTS else 25
        assert counts[intent] >= minimum, f"{intent}: {counts[intent]} examples, need {minimum}"


def test_training_data_has_no_intents_outside_the_domain() -> None:
    assert {e.intent for e in TRAIN} <= set(_domain_intents())


def test_no_template_near_duplicates_in_training_data() -> None:
    texts = sorted({e.text for e in TRAIN})
    duplicates = Counter(e.text for e in TRAIN)
    assert [t for t, n in duplicates.items() if n > 1] == []
    near = _pairs_above(texts, None, NEAR_DUPLICATE)
    assert near == [], "near-duplicates:\n" + "\n".join(
        f"{a} ~ {b} ({s:.0f})" for a, b, s in near[:20]
    )


def _dev() -> list[Example]:
    return read_nlu([DEV_PATH])


def test_dev_set_covers_every_category() -> None:
    counts = Counter(e.intent for e in _dev())
    for intent in CATEGORY_INTENTS:
        assert counts[intent] >= 25, f"dev set: {intent} has {counts[intent]}"


def test_dev_set_does_not_overlap_training_data() -> None:
    dev = sorted({e.text for e in _dev()})
    near = _pairs_above(dev, sorted({e.text for e in TRAIN}), NEAR_DUPLICATE)
    assert near == [], "\n".join(f"{a} ~ {b} ({s:.0f})" for a, b, s in near[:20])


def test_no_dev_message_sits_inside_a_training_message() -> None:
    # A short dev message copied into a longer training one (农民工工资保证金怎么缴纳 inside
    # "…怎么缴纳，按合同额的百分之几交") passes the whole-text check but measures memory.
    # Messages under 12 characters (不满意, 催办) are too short to be anyone's own wording.
    dev = sorted({e.text for e in _dev() if len(e.text) >= 12})
    train = sorted({e.text for e in TRAIN})
    matrix = process.cdist(dev, train, scorer=fuzz.partial_ratio, score_cutoff=90, workers=-1)
    rows, columns = matrix.nonzero()
    inside = [
        (dev[i], train[j])
        for i, j in zip(rows, columns, strict=True)
        if len(dev[i]) <= len(train[j])
    ]
    assert inside == [], "\n".join(f"{a} ⊂ {b}" for a, b in inside[:20])


def _held_out_organization_texts(paths: list[Path] = HELD_OUT_PATHS) -> list[str]:
    texts = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            texts += [str(row["text"]) for row in yaml.safe_load(handle)["cases"]]
    return texts


def test_held_out_organisation_sets_are_apart_from_training_and_dev_data() -> None:
    assert len(HELD_OUT_PATHS) == 3
    held_out = sorted(set(_held_out_organization_texts()))
    assert len(held_out) >= 280
    seen = sorted({e.text for e in TRAIN} | {e.text for e in _dev()})
    near = _pairs_above(held_out, seen, NEAR_DUPLICATE)
    assert near == [], "\n".join(f"{a} ~ {b} ({s:.0f})" for a, b, s in near[:20])


def test_nothing_copies_the_real_complaint_evaluation_set() -> None:
    require_real_eval_set()
    real = [
        json.loads(line)["text"]
        for line in EVAL_PATH.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    entity_cases = PROJECT_ROOT / "tests" / "nlu" / "entities_holdout.yml"
    with open(entity_cases, encoding="utf-8") as handle:
        entity_texts = {str(row["text"]) for row in yaml.safe_load(handle)["cases"]}
    ours = sorted(
        {e.text for e in TRAIN}
        | {e.text for e in _dev()}
        | set(_held_out_organization_texts())
        | entity_texts
    )
    near = _pairs_above(ours, real, 75.0)
    assert near == [], "\n".join(f"{a} ~ {b} ({s:.0f})" for a, b, s in near[:20])
