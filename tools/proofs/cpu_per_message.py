"""`python -m tools.proofs.cpu_per_message --profile production`: CPU core-ms per message, per part.

Starts a profile (tools/proofs/profile_stack.py: fresh databases, free ports), warms it with the
load proof's callers for 8 s, then drives them for `--seconds` and reads every process's CPU
time (utime + stime from /proc/<pid>/stat) before and after: Rasa, the web services, the action
servers, PostgreSQL, RabbitMQ, nginx, Redis and the callers themselves, by command line. Divided
by the messages answered in that window it says where a message's CPU goes — steadier than
messages/s on a shared machine, because other jobs slow a part down without adding to its CPU
time. docs/bench.md quotes it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from bot.config import PROJECT_ROOT
from tools.perf.machine import process_cpu

PARTS = (
    ("rasa_serve", "Rasa"),
    ("rasa_sdk", "action servers"),
    ("spawn_main", "action servers"),  # rasa-sdk's worker processes
    ("bot.web", "web services"),
    ("postgres", "PostgreSQL"),
    ("beam.smp", "RabbitMQ"),
    ("nginx", "nginx"),
    ("redis", "Redis"),
    ("cpu_per_message", "callers (this process)"),
)


def cpu_by_part() -> dict[str, float]:
    """Seconds of CPU so far of every running process, summed by part (unknown ones left out)."""
    parts: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmd_file:
                command = cmd_file.read().replace(b"\0", b" ").decode(errors="replace")
            part = next((name for key, name in PARTS if key in command), None)
            if part is not None:
                parts[part] = parts.get(part, 0.0) + process_cpu(int(entry))
        except OSError:  # the process ended meanwhile
            continue
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("production", "default"), default="production")
    parser.add_argument("--callers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=45)
    args = parser.parse_args(argv)
    from bot.training import ensure_model
    from tools.proofs.load_drive import drive
    from tools.proofs.profile_stack import running_profile

    model = ensure_model(PROJECT_ROOT / "models", quiet=True)
    with running_profile(args.profile, model, sweep_seconds=0) as running:
        asyncio.run(drive(running.public_url, args.callers, seconds=8))
        before, started = cpu_by_part(), time.monotonic()
        result = asyncio.run(drive(running.public_url, args.callers, seconds=args.seconds))
        after, wall = cpu_by_part(), time.monotonic() - started
    messages = result.run.messages
    print(
        f"{args.profile} profile, {args.callers} callers: {messages} messages in {wall:.1f} s "
        f"= {messages / wall:.1f} messages/s, {result.run.errors} errors"
    )
    print("| part | CPU core-ms per message |\n|---|---:|")
    used = {part: after[part] - before.get(part, 0.0) for part in after}
    for part, seconds in sorted(used.items(), key=lambda item: -item[1]):
        print(f"| {part} | {1000 * seconds / messages:.1f} |")
    print(f"| **total** | **{1000 * sum(used.values()) / messages:.1f}** |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
