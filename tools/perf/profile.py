"""`hotline bench --profile VARIANT`: where our Rasa server's time goes under load.

Starts one of our variants, keeps 10 callers running the script, and has py-spy sample the Rasa
server; then prints the share of samples in which each named cost appears. py-spy is a tool,
not a dependency: install it anywhere (e.g. `python3 -m venv /tmp/spy && /tmp/spy/bin/pip
install py-spy`) and pass its path with --py-spy.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tools.perf import load
from tools.perf.bots import our_bot, train_ours

# Frames (substrings of py-spy's "function (file:line)") that name the costs we track.
COSTS = {
    "jsonschema (action response validation)": "jsonschema/",
    "tracker store (Rasa)": "rasa/core/tracker_store.py",
    "SQLAlchemy": "sqlalchemy/",
    "NLU graph (parse_message)": "_parse_message_with_graph",
    "dialogue policies (predict_next_action)": "_predict_next_with_tracker",
    "action server calls (RemoteAction.run)": "rasa/core/actions/action.py:",
    "new HTTP connection per action call": "aiohttp/connector.py",
    "event class lookup (all_subclasses)": "all_subclasses",
    "SQLite commit": "do_commit",
}


def shares(raw_lines: Iterable[str]) -> tuple[int, dict[str, float]]:
    """From py-spy's raw (collapsed) output: total samples and each cost's share in percent."""
    total = 0
    hits = dict.fromkeys(COSTS, 0)
    for line in raw_lines:
        line = line.rstrip()
        if not line or " " not in line:
            continue
        stack, count_text = line.rsplit(" ", 1)
        count = int(count_text)
        total += count
        for name, needle in COSTS.items():
            if needle in stack:
                hits[name] += count
    return total, {k: round(100 * v / total, 1) if total else 0.0 for k, v in hits.items()}


async def _keep_loading(rasa_url: str, token: str, spy: subprocess.Popen[bytes]) -> list[float]:
    rates = []
    while spy.poll() is None:
        run = await load.load("profile", rasa_url, token, 10, 1)
        rates.append(float(run.summary()["msgs_per_s"]))
    return rates


def profile(variant: str, py_spy: str, seconds: int, out: Path) -> str:
    """Profile `variant` for `seconds`; writes py-spy's raw output to `out`, returns a summary."""
    work = Path(tempfile.mkdtemp(prefix="hotline-profile-"))
    model, _ = train_ours(work, reuse=True)
    bot = our_bot(variant, work, model, None)
    bot.start()
    try:
        asyncio.run(load.converse(bot.rasa_url, "profile-warmup", bot.rasa_token))
        pid = bot.pids()["Rasa server"]
        command = [py_spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "50"]
        command += ["-f", "raw", "-o", str(out), "--nonblocking"]
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rates = asyncio.run(_keep_loading(bot.rasa_url, bot.rasa_token, spy))
    finally:
        bot.stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    total, table = shares(out.read_text(encoding="utf-8").splitlines())
    lines = [f"{variant}: {total} samples of the Rasa server, 10 callers ({' '.join(command)})"]
    lines.append(f"messages/s per round: {', '.join(f'{r:.1f}' for r in rates)}")
    lines += [f"{share:5.1f}%  {name}" for name, share in table.items()]
    return "\n".join(lines)
