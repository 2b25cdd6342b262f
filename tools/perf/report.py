"""docs/bench.md from a bench result (the dict also written as JSON under var/bench/).

Only what was measured is printed; a missing number is shown as "—", never filled in.
"""

from __future__ import annotations

import math
from typing import Any

from tools.perf.stats import TARGET_CALLERS, TARGET_THROUGHPUT_RATIO, check_targets, ratio


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _load_table(rows: list[dict[str, Any]], stock: str) -> list[str]:
    lines = [
        "| bot | callers | messages | errors | messages/s | p50 ms | p95 ms | p99 ms "
        "| msgs/s vs stock | p95 vs stock |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    stock_rows = {r["callers"]: r for r in rows if r["bot"] == stock}
    for row in sorted(rows, key=lambda r: (r["callers"], r["bot"] != stock, r["bot"])):
        base = stock_rows.get(row["callers"])
        vs_rate = vs_p95 = "—"
        if base is not None and row["bot"] != stock:
            vs_rate = _fmt(ratio(row["msgs_per_s"], base["msgs_per_s"]), 2) + "×"
            vs_p95 = _fmt(ratio(row["p95_ms"], base["p95_ms"]), 2) + "×"
        lines.append(
            f"| {row['bot']} | {row['callers']} | {row['messages']} | {row['errors']} "
            f"| {_fmt(row['msgs_per_s'])} | {_fmt(row['p50_ms'])} | {_fmt(row['p95_ms'])} "
            f"| {_fmt(row['p99_ms'])} | {vs_rate} | {vs_p95} |"
        )
    return lines


def _target_lines(rows: list[dict[str, Any]], ours: str, stock: str) -> list[str]:
    check = check_targets(rows, ours, stock)
    if check is None:
        return [f"Targets not checked: no run at {TARGET_CALLERS} callers for both bots."]

    def verdict(met: bool) -> str:
        return "**met**" if met else "**not met**"

    return [
        f"- messages/s at {TARGET_CALLERS} callers, ours/stock = "
        f"{_fmt(check.throughput_ratio, 2)}× (target ≥ {TARGET_THROUGHPUT_RATIO}×): "
        f"{verdict(check.throughput_met)}",
        f"- p95 at {TARGET_CALLERS} callers: ours {_fmt(check.p95_ours_ms)} ms, stock "
        f"{_fmt(check.p95_stock_ms)} ms (target ours ≤ stock): {verdict(check.p95_met)}",
    ]


def markdown(result: dict[str, Any], notes: str = "") -> str:
    """The report. `notes` is hand-written analysis kept below the measured part (the bench
    keeps whatever follows the NOTES marker of the previous docs/bench.md)."""
    machine = result["machine"]
    bots = result["bots"]
    rows = result["load"]
    stock = "stock"
    lines = [
        "# Benchmark: our bot beside a stock Rasa bot",
        "",
        f"Measured {result['started_at']} with `{result['command']}` "
        f"(raw numbers: `{result['json_path']}`).",
        "",
        f"Machine: {machine['cpu_model']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM, "
        f"{machine['os']}; Python {machine['python_service']} (load client, action servers), "
        f"{machine['python_rasa']} (Rasa). Load average at start: "
        f"{', '.join(str(x) for x in machine['load_average_at_start'])}, at the end: "
        f"{', '.join(str(x) for x in machine.get('load_average_at_end', []))} "
        "(the machine is shared; other jobs skew the numbers).",
        "",
        "The script: 8 messages of one complaint, each simulated caller with its own sender id, "
        "waiting for each answer before the next message (closed loop), over Rasa's REST "
        "channel. Conversations per caller: "
        + ", ".join(f"{n} at {c} callers" for c, n in result["rounds"].items())
        + ".",
        "",
        "| # | message | our bot's last reply (warm-up) | stock bot's last reply (warm-up) |",
        "|---:|---|---|---|",
    ]
    transcripts = result.get("transcripts", {})
    ours_t = transcripts.get("ours", [])
    stock_t = transcripts.get(stock, [])
    for i, message in enumerate(result["script"]):
        a = ours_t[i] if i < len(ours_t) else "—"
        b = stock_t[i] if i < len(stock_t) else "—"
        lines.append(f"| {i + 1} | {message} | {a[:60]} | {b[:60]} |")
    lines += ["", "## Targets (ours vs stock, same run)", "", *_target_lines(rows, "ours", stock)]
    lines += ["", "## Load", "", *_load_table(rows, stock)]
    lines += [
        "",
        "## Per bot",
        "",
        "| bot | what | training s | start-up s | Rasa RSS MiB (idle → after load) "
        "| action server RSS MiB | /model/parse p50 / p95 ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, bot in bots.items():
        rss = bot.get("rss_mib", {})
        rss_after = bot.get("rss_after_mib", {})
        rasa_key = next((k for k in rss if "Rasa" in k), None)
        action_key = next((k for k in rss if "action" in k), None)
        parse = bot.get("parse", {})
        rasa_rss = "—"
        if rasa_key:
            rasa_rss = f"{_fmt(rss[rasa_key])} → {_fmt(rss_after.get(rasa_key))}"
        lines.append(
            f"| {name} | {bot['description']} | {_fmt(bot['training_seconds'])} "
            f"| {_fmt(bot['startup_seconds'])} | {rasa_rss} "
            f"| {_fmt(rss.get(action_key)) if action_key else '—'} "
            f"| {_fmt(parse.get('p50_ms'))} / {_fmt(parse.get('p95_ms'))} |"
        )
    errors = [(r["bot"], r["callers"], s) for r in rows for s in r.get("error_samples", [])]
    if errors:
        lines += ["", "Error samples:", ""]
        lines += [f"- {bot} at {callers} callers: `{sample}`" for bot, callers, sample in errors]
    lines += ["", NOTES_MARKER, ""]
    if notes.strip():
        lines.append(notes.strip())
        lines.append("")
    return "\n".join(lines)


# Everything after this line in docs/bench.md is analysis written by people (profiles, where the
# time goes); `hotline bench` rewrites the measured part above it and keeps the rest.
NOTES_MARKER = "<!-- analysis below is kept by `hotline bench` -->"


def kept_notes(previous: str) -> str:
    """The hand-written part of a previous report (after NOTES_MARKER), or ''."""
    if NOTES_MARKER not in previous:
        return ""
    return previous.split(NOTES_MARKER, 1)[1]
