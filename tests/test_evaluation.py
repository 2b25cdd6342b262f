"""`hotline eval`: its scoring, the TF-IDF baseline, and the command end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from tests.conftest import require_real_eval_set
from tools.eval import datasets
from tools.eval.baselines import TfidfLogReg
from tools.eval.metrics import entity_scores, intent_scores


def test_intent_scores_by_hand() -> None:
    gold = ["complain_a", "complain_a", "complain_b", "greet"]
    predicted = ["complain_a", "complain_b", "complain_b", "complain_a"]
    scores = intent_scores(gold, predicted, ["complain_a", "complain_b"])
    a, b = scores.per_category["complain_a"], scores.per_category["complain_b"]
    assert (a.precision, a.recall, a.support) == (0.5, 0.5, 2)
    assert (b.precision, b.recall) == (0.5, 1.0)
    assert scores.macro_f1 == pytest.approx((0.5 + 2 / 3) / 2)
    assert scores.accuracy == 0.5


def test_offered_categories_follow_the_ranking_and_skip_the_noise() -> None:
    from bot.domain.categories import likely_categories

    ranking = [
        {"name": "complain_dereliction", "confidence": 0.19},
        {"name": "greet", "confidence": 0.15},
        {"name": "complain_livelihood", "confidence": 0.13},
        {"name": "complain_broken_promise", "confidence": 0.11},
        {"name": "complain_arrears", "confidence": 0.10},
        {"name": "complain_unfair_market", "confidence": 0.04},
    ]
    assert likely_categories(ranking) == [
        "complain_dereliction", "complain_livelihood", "complain_broken_promise",
    ]  # fmt: skip
    assert likely_categories(ranking[5:]) == []


def test_caller_outcomes_count_what_the_bot_would_do() -> None:
    from tools.eval.runner import OUTCOMES, Parsed, caller_outcomes

    def parsed(intent: str, guess: str, offered: list[str]) -> Parsed:
        return Parsed(intent, guess, 0.5, [], 1.0, offered)

    items = [
        datasets.Labelled("a", "complain_arrears"),
        datasets.Labelled("b", "complain_arrears"),
        datasets.Labelled("c", "complain_livelihood"),
        datasets.Labelled("d", "complain_livelihood"),
        datasets.Labelled("e", "query_status"),  # not a complaint: not counted
    ]
    results = [
        parsed("complain_arrears", "complain_arrears", []),
        parsed("complain_wage_arrears", "complain_wage_arrears", []),
        parsed(
            "nlu_fallback", "complain_dereliction", ["complain_dereliction", "complain_livelihood"]
        ),
        parsed("nlu_fallback", "complain_dereliction", ["complain_dereliction"]),
        parsed("greet", "greet", []),
    ]
    counts = caller_outcomes(items, results, ["complain_arrears", "complain_livelihood"])
    assert [counts[o] for o in OUTCOMES] == [1, 1, 1, 1]


def test_entity_scores_count_exact_values_only() -> None:
    gold = [[("amount", "380000")], [("amount", "5000"), ("phone", "13812345678")], []]
    found = [[("amount", "380000")], [("amount", "500")], [("phone", "13900000000")]]
    scores = entity_scores(gold, found, ("amount", "phone"))
    assert (scores["amount"].expected, scores["amount"].correct, scores["amount"].predicted) == (
        2,
        1,
        2,
    )
    assert scores["amount"].exact_match == 0.5
    assert (scores["phone"].expected, scores["phone"].correct, scores["phone"].predicted) == (
        1,
        0,
        1,
    )


def test_tfidf_baseline_learns_the_training_data() -> None:
    train = datasets.training_set()
    model = TfidfLogReg().fit([t.text for t in train], [t.intent for t in train])
    assert model.predict(["工程款拖了三年了住建局一直不给", "楼下烧烤店太吵了睡不着"]) == [
        "complain_arrears",
        "complain_livelihood",
    ]


def test_the_real_complaint_set_is_read_with_intent_names() -> None:
    require_real_eval_set()
    real = datasets.real_set()
    assert len(real) == 78
    assert {r.intent for r in real} <= {*(f"complain_{c}" for c in (
        "arrears", "wage_arrears", "broken_promise", "contract_breach", "policy_not_honored",
        "dereliction", "unfair_market", "enterprise_harassment", "livelihood")), "query_status"}  # fmt: skip


@pytest.mark.stack
def test_hotline_eval_writes_its_report(trained_model: Path, tmp_path: Path) -> None:
    require_real_eval_set()
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "eval", "--no-baselines", "--out", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = (out / "eval.md").read_text(encoding="utf-8")
    for heading in ("macro-F1", "Entities", "p95"):
        assert heading in report
    data = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    ours = data["systems"][0]
    assert len(ours["dev"]["per_category"]) == 9
    assert 0.0 < ours["dev"]["macro_f1"] <= 1.0
    # The normaliser maps traditional characters back, so the same messages typed in traditional
    # characters score almost the same.
    assert ours["dev_traditional"]["macro_f1"] > ours["dev"]["macro_f1"] - 0.05
    assert set(data["entities"]) >= {"amount", "date", "phone", "uscc", "id_number", "ticket_id"}
    assert data["latency_ms"]["p95"] > 0
    for name in ("dev", "real"):
        assert sum(data["caller_outcomes"][name].values()) > 0
    # Two matters in one message stay rare on the single-matter dev set.
    two = data["two_matters"]["dev"]
    assert two["of"] > 150 and two["fired"] / two["of"] < 0.03
    held_out = data["organization_holdout"]
    assert len(held_out) == 3
    for score in held_out.values():
        assert score["expected"] >= 60 and 0.0 < score["exact_match"] <= 1.0
    assert (out / "confusion-dev.png").stat().st_size > 10_000
    assert (out / "confusion-real.png").stat().st_size > 10_000


def test_tuning_reads_only_training_data_and_orders_the_fallback_table() -> None:
    from tools.eval.tuning import Setting, cross_validate, fallback_table

    setting = Setting(C=30.0, balanced=True)
    (score,) = cross_validate((setting,), folds=2)
    # Out-of-fold, so well below a perfect fit, and far above chance over nine categories.
    assert 0.7 < score.macro_f1 < 0.99
    rows = fallback_table(setting, thresholds=(0.2, 0.4, 0.6), folds=2)
    fires = [row.fires for row in rows]
    assert fires == sorted(fires) and 0 < fires[-1] < 1
    caught = [row.caught for row in rows]
    assert caught == sorted(caught)
    # The fallback is worth having only if it fires more often on mistakes than on right answers.
    assert all(row.accuracy_fired < row.accuracy_kept for row in rows)
