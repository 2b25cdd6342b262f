"""`hotline bench`: train and start the bots, drive the same script through each at each
concurrency, and write docs/bench.md and var/bench/*.json.

The bots run side by side but are loaded one at a time (for each concurrency level: stock, then
ours, then our variants), so each gets the whole machine while it is measured and slow drift of
the shared machine hits them alike.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bot.config import PROJECT_ROOT
from tools.perf import load
from tools.perf.bots import Bot, our_bot, rasa_python, stock_bot, train_ours
from tools.perf.machine import machine_info, tree_rss_mib
from tools.perf.report import kept_notes, markdown
from tools.perf.stats import LoadRun, latency_summary

# Conversations per caller at each concurrency: enough messages for a stable p95 at 1 caller,
# and a run of well under a minute per bot at 50 on two cores.
DEFAULT_ROUNDS = {1: 5, 10: 3, 50: 2}
PARSE_CALLS = 50


@dataclasses.dataclass
class Options:
    levels: list[int]
    variants: list[str]
    reuse_model: bool
    rounds: int | None
    out_md: Path
    out_dir: Path
    command: str
    keep_work: bool = False


def _rss(bot: Bot) -> dict[str, float]:
    return {name: tree_rss_mib(pid) for name, pid in bot.pids().items()}


def _say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def _load_all(bots: list[Bot], options: Options) -> list[LoadRun]:
    runs = []
    for callers in options.levels:
        rounds = options.rounds or DEFAULT_ROUNDS.get(callers, 2)
        for bot in bots:
            _say(f"{bot.name}: {callers} callers × {rounds} conversations …")
            run = asyncio.run(load.load(bot.name, bot.rasa_url, bot.rasa_token, callers, rounds))
            row = run.summary()
            _say(
                f"  {row['msgs_per_s']} messages/s, p95 {row['p95_ms']} ms, errors {row['errors']}"
            )
            runs.append(run)
    return runs


def run_bench(options: Options) -> dict[str, Any]:
    """The whole benchmark; returns the result that the report and JSON are written from."""
    started_at = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    machine = machine_info(rasa_python())
    work = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    bots: list[Bot] = []
    try:
        _say(f"training the stock bot in {work} …")
        bots.append(stock_bot(work))
        _say("our model …")
        model, our_training = train_ours(work, options.reuse_model)
        bots += [our_bot(v, work, model, our_training) for v in options.variants]
        for bot in bots:
            _say(f"starting {bot.name} …")
            bot.start()
        idle_rss = {bot.name: _rss(bot) for bot in bots}
        transcripts = {
            bot.name: asyncio.run(
                load.converse(bot.rasa_url, f"bench-warmup-{bot.name}", bot.rasa_token)
            )
            for bot in bots
        }
        parse = {
            bot.name: latency_summary(
                asyncio.run(load.parse_latencies(bot.rasa_url, bot.rasa_token, PARSE_CALLS))
            )
            for bot in bots
        }
        runs = _load_all(bots, options)
        after_rss = {bot.name: _rss(bot) for bot in bots}
    finally:
        for bot in bots:
            bot.stack.stop()
        if not options.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    stamp = started_at.replace(":", "").replace("-", "")[:15]
    json_path = options.out_dir / f"bench-{stamp}.json"
    return {
        "started_at": started_at,
        "command": options.command,
        "json_path": _relative(json_path),
        "machine": {**machine, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "script": list(load.SCRIPT),
        "rounds": {str(c): options.rounds or DEFAULT_ROUNDS.get(c, 2) for c in options.levels},
        "transcripts": transcripts,
        "bots": {
            bot.name: {
                "description": bot.description,
                "training_seconds": bot.training_seconds,
                "startup_seconds": round(bot.startup_seconds, 2),
                "rss_mib": idle_rss[bot.name],
                "rss_after_mib": after_rss[bot.name],
                "parse": parse[bot.name],
            }
            for bot in bots
        },
        "load": [{**run.summary(), "error_samples": run.error_samples} for run in runs],
    }


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def write_outputs(result: dict[str, Any], options: Options) -> Path:
    """The JSON (a timestamped file and latest.json) and the markdown report."""
    options.out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=1, default=str)
    (PROJECT_ROOT / result["json_path"]).parent.mkdir(parents=True, exist_ok=True)
    Path(PROJECT_ROOT / result["json_path"]).write_text(text, encoding="utf-8")
    (options.out_dir / "latest.json").write_text(text, encoding="utf-8")
    previous = options.out_md.read_text(encoding="utf-8") if options.out_md.exists() else ""
    options.out_md.parent.mkdir(parents=True, exist_ok=True)
    options.out_md.write_text(markdown(result, kept_notes(previous)), encoding="utf-8")
    return options.out_md
