"""`python -m tools.perf.enterprise_api`: 50 concurrent one-click reports against the real stack.

Starts Rasa + action server + web service with bot/ops/supervisor.py on free ports and a fresh SQLite
database (or uses --url of a running web service), registers one enterprise, sends N reports at
once (the NLU classifies each: no category given), checks N distinct tickets exist and no
request failed, and prints p50/p95 latency. The rate limit is raised for the run (one
enterprise sending 50 at once is the point of the benchmark, not abuse).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bot.config import PROJECT_ROOT, Settings
from bot.domain.identifiers import uscc_check_char
from tools.perf.machine import process_cpu

STORY = "洛龙区住建局拖欠我们工程款三十八万元，2025年8月验收完成至今未付，多次催要无果。"


def _uscc() -> str:
    first17 = f"914103{int(time.time() * 1000) % 10**11:011d}"
    return first17 + (uscc_check_char(first17) or "0")


def report_body(i: int, *, nlu: bool) -> dict[str, str]:
    """The report; without NLU every fact is given, so Rasa is not asked (for splitting cost)."""
    body = {"description": f"{STORY}（第{i + 1}件）"}
    if not nlu:
        body.update(category="arrears", respondent="洛龙区住建局", district="洛龙区")
    return body


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p95 is a latency that happened)."""
    ordered = sorted(values)
    rank = max(1, int(-(-share * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


async def run(
    url: str, count: int, *, nlu: bool = True, rounds: int = 1, pids: dict[str, int] | None = None
) -> int:
    """`rounds` bursts one after the other (each with its own enterprise); the summary line
    gives the median of the rounds' p95, the number to quote on a machine with neighbours.
    With `pids`, also each process's CPU per report over the bursts alone (not the warm-up
    report, the registration or the listing: the first parse loads jieba's dictionary)."""
    p95s: list[float] = []
    failed = 0
    cpu = dict.fromkeys(pids or {}, 0.0)
    for _ in range(rounds):
        status, p95 = await _burst(url, count, nlu=nlu, pids=pids or {}, cpu=cpu)
        failed += status
        p95s.append(p95)
    if rounds > 1:
        print(
            f"{rounds} rounds: p95 per round {' '.join(f'{p:.0f}' for p in p95s)} ms; "
            f"median p95 {statistics.median(p95s):.0f} ms"
        )
    if pids:
        print(
            "CPU per report in the bursts (utime+stime): "
            + ", ".join(
                f"{name} {1000 * spent / (rounds * count):.1f} ms" for name, spent in cpu.items()
            )
        )
    return 1 if failed else 0


async def _burst(
    url: str, count: int, *, nlu: bool, pids: dict[str, int], cpu: dict[str, float]
) -> tuple[int, float]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        async with http.post(
            f"{url}/api/v1/enterprise/register",
            json={
                "name": "洛阳恒达机械有限公司",
                "uscc": _uscc(),
                "contact_name": "王建国",
                "phone": "13837901234",
            },
        ) as resp:
            if resp.status != 202:
                print("registration failed:", resp.status, await resp.text())
                return 1, float("nan")
            token = (await resp.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}

        async def one(i: int) -> tuple[float, int, str | None]:
            start = time.perf_counter()
            async with http.post(
                f"{url}/api/v1/enterprise/reports",
                json=report_body(i, nlu=nlu),
                headers={**headers, "Idempotency-Key": f"bench-{i}"},
            ) as resp:
                body = await resp.json()
                elapsed = (time.perf_counter() - start) * 1000
                return elapsed, resp.status, body.get("number")

        # One warm-up report (first NLU parse and first DB connection are not the steady state).
        await one(count)
        before = {name: process_cpu(pid) for name, pid in pids.items()}
        results = await asyncio.gather(*(one(i) for i in range(count)))
        for name, pid in pids.items():
            cpu[name] += process_cpu(pid) - before[name]
        latencies = [r[0] for r in results]
        errors = [r for r in results if r[1] != 201]
        numbers = {r[2] for r in results if r[2]}
        async with http.get(f"{url}/api/v1/enterprise/reports?limit=100", headers=headers) as resp:
            listed = {item["number"] for item in (await resp.json())["items"]}
    print(
        f"{count} concurrent reports: {len(errors)} errors, {len(numbers)} distinct tickets, "
        f"{len(numbers & listed)} listed back"
    )
    print(
        f"latency ms: p50 {percentile(latencies, 0.5):.0f}  p95 {percentile(latencies, 0.95):.0f}"
        f"  max {max(latencies):.0f}  mean {statistics.mean(latencies):.0f}"
    )
    return (0 if not errors and len(numbers & listed) == count else 1), percentile(latencies, 0.95)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running web service (else the stack is started)")
    parser.add_argument("-n", "--count", type=int, default=50)
    parser.add_argument("--database-url", default="", help="e.g. an empty PostgreSQL database")
    parser.add_argument("--rounds", type=int, default=1, help="bursts in a row (median p95)")
    parser.add_argument(
        "--no-nlu", action="store_true", help="give category and facts: measures without Rasa"
    )
    args = parser.parse_args(argv)
    if args.url:
        return asyncio.run(
            run(args.url.rstrip("/"), args.count, nlu=not args.no_nlu, rounds=args.rounds)
        )
    from bot.ops.profiles import build_services
    from bot.ops.supervisor import Stack, free_port
    from bot.store.migrate import upgrade
    from bot.training import ensure_model

    os.environ["HOTLINE_ENTERPRISE_RATE_BURST"] = str(args.count * 4)
    with tempfile.TemporaryDirectory(prefix="bench-enterprise-") as tmp:
        settings = Settings(
            rasa_port=free_port(),
            action_port=free_port(),
            web_port=free_port(),
            var_dir=Path(tmp),
            database_url=args.database_url,
            sweep_seconds=0,
        )
        upgrade(settings.database_url)
        stack = Stack(build_services(settings, ensure_model(PROJECT_ROOT / "models", quiet=True)))
        stack.start()
        try:
            pids = {s.name: s.process.pid for s in stack.services if s.process is not None}
            pids["the clients (this process)"] = os.getpid()
            return asyncio.run(
                run(
                    settings.web_url,
                    args.count,
                    nlu=not args.no_nlu,
                    rounds=args.rounds,
                    pids=pids,
                )
            )
        finally:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
