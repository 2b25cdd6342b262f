"""Load proof: `python -m tools.proofs.load` (or `hotline proof load`).

Starts the production profile (default; `--profile default` for the one-of-each SQLite profile)
on free ports with fresh databases, and drives N simulated callers (default 20) through whole
complaint conversations over the public endpoint — nginx's public port, the web chat's
/api/chat, a cookie per person (tools/proofs/load_drive.py) — for a bounded soak (`--minutes`,
default 2). It reports messages/s, conversations/s, p50/p95/p99 per message and errors; checks
that tickets created == conversations confirmed (every 已受理 card's number is a row of the
ticket database, no row that no card announced, no phone with two tickets); and samples each
Rasa server's resident memory every few seconds. Results: var/proofs/load.md (production) or
var/proofs/load-default.md, with the machine and the exact command.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shlex
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.config import PROJECT_ROOT
from bot.store.db import make_engine
from bot.store.models import Ticket
from tools.perf.bots import rasa_python
from tools.perf.machine import machine_info, tree_rss_mib
from tools.perf.stats import percentile
from tools.proofs.load_drive import Drive, drive
from tools.proofs.profile_stack import RunningProfile, running_profile

OUT_DIR = PROJECT_ROOT / "var" / "proofs"
# Flat: after the first half of the soak (warm-up: Rasa's caches and TensorFlow's allocations
# fill in the first conversations, +150 MiB seen in docs/bench.md), resident memory grows by at
# most this share. A leak grows with every conversation and would keep climbing.
FLAT_SHARE = 0.05


@dataclass(frozen=True)
class TicketCheck:
    confirmed: int
    announced: int
    rows: int
    lost: list[str]
    announced_twice: list[str]
    unannounced: list[str]
    phones_with_two: list[str]

    @property
    def ok(self) -> bool:
        return not (self.lost or self.announced_twice or self.unannounced or self.phones_with_two)


def check_tickets(database_url: str, result: Drive) -> TicketCheck:
    """Tickets in the database against the 已受理 cards the callers got."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = [(r[0], r[1]) for r in conn.execute(select(Ticket.number, Ticket.phone))]
    finally:
        engine.dispose()
    numbers = {number for number, _ in rows}
    cards = [c.number for c in result.conversations if c.number]
    per_phone = Counter(phone for _, phone in rows)
    return TicketCheck(
        confirmed=sum(c.confirmed for c in result.conversations),
        announced=len(cards),
        rows=len(rows),
        lost=sorted(set(cards) - numbers),
        announced_twice=sorted(n for n, k in Counter(cards).items() if k > 1),
        unannounced=sorted(numbers - set(cards)),
        phones_with_two=sorted(p[:3] + "****" + p[-4:] for p, k in per_phone.items() if k > 1),
    )


class RssSampler(threading.Thread):
    """Resident memory (VmRSS, /proc/<pid>/status, with children) of each named process every
    `every` seconds: [(seconds since start, MiB)]."""

    def __init__(self, pids: dict[str, int], every: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
        self._halt = threading.Event()
        self._t0 = time.monotonic()

    def sample(self) -> None:
        at = round(time.monotonic() - self._t0, 1)
        for name, pid in self.pids.items():
            self.samples[name].append((at, tree_rss_mib(pid)))

    def run(self) -> None:
        while not self._halt.wait(self.every):
            self.sample()

    def finish(self) -> None:
        self._halt.set()
        self.join(timeout=self.every + 5)
        self.sample()


@dataclass(frozen=True)
class Memory:
    name: str
    start: float
    warm: float
    end: float
    peak: float

    @property
    def growth_after_warmup(self) -> float:
        return max(self.end, self.peak_after_warm) - self.warm

    peak_after_warm: float = 0.0

    @property
    def flat(self) -> bool:
        return self.growth_after_warmup <= FLAT_SHARE * self.warm


def memory(name: str, samples: list[tuple[float, float]]) -> Memory:
    """Start (idle, before the load), warm (the first sample of the soak's second half), end,
    peak. The first sample is taken before the load; the rest cover it."""
    live = [s for s in samples if s[1] > 0]
    if not live:
        return Memory(name, 0.0, 0.0, 0.0, 0.0)
    half = live[-1][0] / 2
    second = [rss for at, rss in live if at >= half]
    return Memory(
        name,
        start=live[0][1],
        warm=second[0],
        end=live[-1][1],
        peak=max(rss for _, rss in live),
        peak_after_warm=max(second),
    )


@dataclass
class Proof:
    profile: str
    callers: int
    result: Drive
    tickets: TicketCheck
    memory: list[Memory]
    rss_samples: dict[str, list[tuple[float, float]]]
    notes: list[str] = field(default_factory=list)

    def numbers(self) -> dict[str, Any]:
        run = self.result.run
        convs = self.result.conversations
        filed = sum(1 for c in convs if c.number)
        wall = run.wall_seconds or float("nan")
        return {
            **run.summary(),
            "conversations": len(convs),
            "filed": filed,
            "conversations_per_s": round(filed / wall, 3),
            "polite_refusals": sum(len(c.polite) for c in convs),
            "retries": sum(c.retries for c in convs),
            "gave_up": sum(1 for c in convs if c.gave_up),
            "p50_ms": round(percentile(run.latencies, 50) * 1000, 1),
        }

    @property
    def ok(self) -> bool:
        convs = self.result.conversations
        return (
            self.result.run.errors == 0
            and self.tickets.ok
            and all(c.number for c in convs)
            and all(m.flat for m in self.memory)
        )


def prove(
    running: RunningProfile,
    callers: int,
    *,
    conversations: int | None = None,
    seconds: float | None = None,
    sample_every: float = 5.0,
    during: tuple[float, Callable[[], None]] | None = None,
    pause: float = 2.0,
) -> Proof:
    """Drive the callers against a running profile, sample Rasa's memory, check the tickets.
    `during`: (seconds after the start, what to do then) — e.g. restart PostgreSQL."""
    pids = {s.name: s.process.pid for s in running.rasa_servers() if s.process is not None}
    sampler = RssSampler(pids, sample_every)
    sampler.sample()
    sampler.start()
    notes: list[str] = []
    timer: threading.Timer | None = None
    if during is not None:
        at, action = during

        def act() -> None:
            began = time.monotonic()
            action()
            notes.append(
                f"at {at:.0f} s: {action.__doc__ or action} ({time.monotonic() - began:.1f} s)"
            )

        timer = threading.Timer(at, act)
        timer.start()
    try:
        result = asyncio.run(
            drive(
                running.public_url,
                callers,
                conversations=conversations,
                seconds=seconds,
                pause=pause,
            )
        )
    finally:
        if timer is not None:
            timer.join()
        sampler.finish()
    tickets = check_tickets(running.settings.database_url, result)
    mem = [memory(name, samples) for name, samples in sampler.samples.items()]
    return Proof(running.settings.profile, callers, result, tickets, mem, sampler.samples, notes)


def report(proof: Proof, command: str, machine: dict[str, Any], started_at: str) -> str:
    n = proof.numbers()
    t = proof.tickets
    where = (
        "production profile: nginx → 2 web replicas → nginx → 2 Rasa (PostgreSQL tracker store, "
        "Redis locks, RabbitMQ events) → nginx → 2 action servers; tickets in PostgreSQL"
        if proof.profile == "production"
        else "default profile: 1 web service, 1 Rasa (SQL tracker store on SQLite), "
        "1 action server; tickets in SQLite"
    )
    lines = [
        f"# Load proof ({proof.profile} profile)",
        "",
        f"Measured {started_at} with `{command}`.",
        "",
        f"Machine: {machine['cpu_model']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM, "
        f"{machine['os']}; Python {machine['python_service']} (callers, web, actions), "
        f"{machine['python_rasa']} (Rasa). Load average at start "
        f"{', '.join(map(str, machine['load_average_at_start']))}, at the end "
        f"{', '.join(map(str, [round(x, 2) for x in os.getloadavg()]))} (the machine is shared).",
        "",
        f"What ran: {where}. {proof.callers} simulated callers, each conversation a new person "
        "(its own cookie and phone number) filing a whole complaint over the public web-chat API "
        "(我要投诉 → description → the form's questions → 确认提交), waiting for every answer "
        "(closed loop).",
        "",
        "| callers | conversations filed | messages | errors | messages/s | conversations/s "
        "| p50 ms | p95 ms | p99 ms | wall s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {n['callers']} | {n['filed']} of {n['conversations']} | {n['messages']} "
        f"| {n['errors']} | {n['msgs_per_s']} | {n['conversations_per_s']} | {n['p50_ms']} "
        f"| {n['p95_ms']} | {n['p99_ms']} | {n['wall_s']} |",
        "",
        f"Polite refusals seen: {n['polite_refusals']}; messages sent again after one: "
        f"{n['retries']}; conversations given up: {n['gave_up']}.",
        "",
        "## Tickets",
        "",
        f"- conversations confirmed (确认提交 sent): {t.confirmed}; 已受理 cards: {t.announced}; "
        f"ticket rows: {t.rows}",
        f"- lost (a card whose number is not in the database): {len(t.lost)} {t.lost[:5] or ''}",
        f"- duplicated: a number on two cards {len(t.announced_twice)}, rows no card announced "
        f"{len(t.unannounced)} {t.unannounced[:5] or ''}, phones with two tickets "
        f"{len(t.phones_with_two)}",
        f"- verdict: **{'tickets == confirmations' if t.ok else 'MISMATCH'}**",
        "",
        "## Rasa's resident memory (VmRSS of each Rasa server, sampled every few seconds)",
        "",
        f"Flat means: from the first sample of the soak's second half (after warm-up) to the end, "
        f"resident memory grows by at most {FLAT_SHARE:.0%}. The first conversations warm Rasa "
        "up (caches, TensorFlow's allocations); a leak would keep growing with every "
        "conversation after that.",
        "",
        "| process | start MiB (idle) | second half starts MiB | end MiB | max MiB "
        "| growth after warm-up MiB | flat |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in proof.memory:
        lines.append(
            f"| {m.name} | {m.start} | {m.warm} | {m.end} | {m.peak} "
            f"| {m.growth_after_warmup:.1f} | {'yes' if m.flat else '**no**'} |"
        )
    for name, samples in proof.rss_samples.items():
        lines += ["", f"{name}: " + ", ".join(f"{at:.0f}s {rss:.0f}" for at, rss in samples)]
    if proof.notes:
        lines += ["", "## During the run", "", *[f"- {note}" for note in proof.notes]]
    polite = [p for c in proof.result.conversations for p in c.polite][:5]
    if polite:
        lines += ["", "Polite refusals (samples):", "", *[f"- `{p}`" for p in polite]]
    errors = proof.result.run.error_samples
    stuck = [c.gave_up for c in proof.result.conversations if c.gave_up][:5]
    if errors or stuck:
        lines += ["", "## Errors and given-up conversations (samples)", ""]
        lines += [f"- error: `{e}`" for e in errors] + [f"- gave up after: `{s}`" for s in stuck]
    lines += ["", f"Overall: **{'passed' if proof.ok else 'FAILED'}**", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from bot.training import ensure_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["production", "default"], default="production")
    parser.add_argument("--callers", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=2.0, help="soak length (default 2)")
    parser.add_argument(
        "--conversations", type=int, help="per caller, instead of a timed soak (no RSS verdict)"
    )
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--out", help="default var/proofs/load.md (load-default.md)")
    args = parser.parse_args(argv)
    name = "load.md" if args.profile == "production" else "load-default.md"
    out = Path(args.out) if args.out else OUT_DIR / name
    command = "python -m tools.proofs.load " + shlex.join(sys.argv[1:] if argv is None else argv)
    machine = machine_info(rasa_python())
    started_at = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    model = ensure_model(PROJECT_ROOT / "models", quiet=True)
    print(f"[load] starting the {args.profile} profile …", flush=True)
    with running_profile(args.profile, model) as running:
        print(f"[load] {args.callers} callers on {running.public_url} …", flush=True)
        proof = prove(
            running,
            args.callers,
            conversations=args.conversations,
            seconds=None if args.conversations else args.minutes * 60,
            sample_every=args.sample_seconds,
        )
    text = report(proof, command.strip(), machine, started_at)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text)
    print(f"[load] written to {out}")
    return 0 if proof.ok else 1


if __name__ == "__main__":
    sys.exit(main())
