"""The bench's arithmetic and report, without starting any server (tools/perf/stats.py, report.py)."""

from __future__ import annotations

import math

from tools.perf.report import NOTES_MARKER, kept_notes, markdown
from tools.perf.stats import LoadRun, check_targets, latency_summary, percentile, ratio


def test_percentile_interpolates_like_numpy() -> None:
    values = [0.1, 0.2, 0.3, 0.4]
    assert percentile(values, 50) == 0.25
    assert math.isclose(percentile(values, 95), 0.385)
    assert percentile([0.5], 99) == 0.5
    assert math.isnan(percentile([], 50))


def test_load_run_summary_counts_errors_but_times_only_answers() -> None:
    run = LoadRun(bot="ours", callers=10, wall_seconds=2.0, latencies=[0.1] * 9 + [1.0], errors=2)
    row = run.summary()
    assert row["messages"] == 12 and row["errors"] == 2
    assert row["msgs_per_s"] == 5.0  # answered messages per second of wall time
    assert row["p50_ms"] == 100.0
    assert row["p99_ms"] > row["p95_ms"] > row["p50_ms"]


def test_targets_need_both_bots_at_ten_callers() -> None:
    rows = [
        {"bot": "stock", "callers": 10, "msgs_per_s": 40.0, "p95_ms": 600.0},
        {"bot": "ours", "callers": 10, "msgs_per_s": 62.0, "p95_ms": 550.0},
        {"bot": "ours", "callers": 1, "msgs_per_s": 99.0, "p95_ms": 10.0},
    ]
    check = check_targets(rows, "ours", "stock")
    assert check is not None and check.met and math.isclose(check.throughput_ratio, 1.55)
    rows[1]["p95_ms"] = 601.0
    check = check_targets(rows, "ours", "stock")
    assert check is not None and check.throughput_met and not check.p95_met and not check.met
    assert check_targets(rows[2:], "ours", "stock") is None
    assert math.isnan(ratio(1.0, 0.0))


def _result() -> dict:
    return {
        "started_at": "2026-11-29T01:00:00+00:00",
        "command": "hotline bench --callers 10",
        "json_path": "var/bench/bench-x.json",
        "machine": {
            "cpu_model": "Test CPU",
            "cores": 2,
            "ram_gib": 24.0,
            "os": "Linux",
            "python_service": "3.11.9",
            "python_rasa": "3.10.14",
            "load_average_at_start": [0.1, 0.2, 0.3],
        },
        "script": ["你好", "我要投诉"],
        "rounds": {"10": 3},
        "transcripts": {"ours": ["您好", "请描述"], "stock": ["您好"]},
        "bots": {
            "stock": {
                "description": "stock",
                "training_seconds": 50.0,
                "startup_seconds": 20.0,
                "rss_mib": {"stock Rasa server": 800.0, "stock action server": 60.0},
                "rss_after_mib": {"stock Rasa server": 820.0},
                "parse": latency_summary([0.01, 0.02]),
            },
            "ours": {
                "description": "ours",
                "training_seconds": None,
                "startup_seconds": 25.0,
                "rss_mib": {"Rasa server": 900.0, "action server": 90.0},
                "rss_after_mib": {"Rasa server": 950.0},
                "parse": latency_summary([0.005]),
            },
        },
        "load": [
            {**LoadRun("stock", 10, 2.0, [0.2] * 80).summary(), "error_samples": []},
            {
                **LoadRun("ours", 10, 2.0, [0.1] * 78, errors=2).summary(),
                "error_samples": ["TimeoutError: "],
            },
        ],
    }


def test_report_says_what_was_measured_and_keeps_the_notes() -> None:
    text = markdown(_result(), notes="\n## Where the time goes\n\nprofile here\n")
    assert "hotline bench --callers 10" in text and "Test CPU, 2 cores, 24.0 GiB" in text
    assert "| ours | 10 | 80 | 2 | 39.0 |" in text  # 78 answered in 2 s
    assert "0.97×" in text  # ours/stock messages/s
    assert "**not met**" in text  # 0.97× < 1.5×
    assert "| ours | ours | — |" in text  # training not measured: a dash, not a number
    assert "TimeoutError" in text
    assert kept_notes(text).strip().startswith("## Where the time goes")
    assert NOTES_MARKER in markdown(_result())
    assert kept_notes("no marker") == ""


def test_profile_shares_count_each_cost_once_per_sample() -> None:
    from tools.perf.profile import shares

    raw = [
        "main (rasa/__main__.py:1);validate (jsonschema/validators.py:9);iter_errors "
        "(jsonschema/validators.py:3) 3",
        "main (rasa/__main__.py:1);_retrieve (rasa/core/tracker_store.py:5);"
        "execute (sqlalchemy/orm/session.py:2) 1",
        "",
    ]
    total, table = shares(raw)
    assert total == 4
    assert table["jsonschema (action response validation)"] == 75.0
    assert table["tracker store (Rasa)"] == 25.0 and table["SQLAlchemy"] == 25.0
    assert table["NLU graph (parse_message)"] == 0.0
