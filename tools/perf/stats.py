"""What a load run measured, summarised: throughput, latency percentiles, errors, ratios.

Pure functions over recorded timings, so the numbers in docs/bench.md can be checked by a fast
test without starting any server.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# The targets at 10 callers: ours ≥ 1.5× the stock bot's messages/s, p95 ≤ stock's p95.
TARGET_CALLERS = 10
TARGET_THROUGHPUT_RATIO = 1.5


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks (numpy's
    default), so small samples give sensible p99s; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class LoadRun:
    """One bot at one concurrency: every message's latency (seconds) and the wall time."""

    bot: str
    callers: int
    wall_seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return len(self.latencies) + self.errors

    def summary(self) -> dict[str, float | int | str]:
        """The row the report prints (milliseconds, messages per second)."""
        ok = len(self.latencies)
        return {
            "bot": self.bot,
            "callers": self.callers,
            "messages": self.messages,
            "errors": self.errors,
            "wall_s": round(self.wall_seconds, 3),
            "msgs_per_s": round(ok / self.wall_seconds, 2) if self.wall_seconds > 0 else 0.0,
            "p50_ms": round(percentile(self.latencies, 50) * 1000, 1),
            "p95_ms": round(percentile(self.latencies, 95) * 1000, 1),
            "p99_ms": round(percentile(self.latencies, 99) * 1000, 1),
        }


def ratio(ours: float, stock: float) -> float:
    """ours / stock, NaN when the stock number is missing or zero."""
    if not stock or math.isnan(stock):
        return math.nan
    return ours / stock


@dataclass(frozen=True)
class TargetCheck:
    """Whether the issue's targets at TARGET_CALLERS callers are met, with the numbers."""

    throughput_ratio: float
    p95_ours_ms: float
    p95_stock_ms: float

    @property
    def throughput_met(self) -> bool:
        return self.throughput_ratio >= TARGET_THROUGHPUT_RATIO

    @property
    def p95_met(self) -> bool:
        return self.p95_ours_ms <= self.p95_stock_ms

    @property
    def met(self) -> bool:
        return self.throughput_met and self.p95_met


def check_targets(rows: list[dict], ours: str, stock: str) -> TargetCheck | None:
    """The target check from summary rows; None when either bot has no row at TARGET_CALLERS."""
    at = {r["bot"]: r for r in rows if r["callers"] == TARGET_CALLERS}
    if ours not in at or stock not in at:
        return None
    return TargetCheck(
        throughput_ratio=ratio(float(at[ours]["msgs_per_s"]), float(at[stock]["msgs_per_s"])),
        p95_ours_ms=float(at[ours]["p95_ms"]),
        p95_stock_ms=float(at[stock]["p95_ms"]),
    )


def latency_summary(latencies: list[float]) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds (for /model/parse)."""
    return {
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "mean_ms": round(sum(latencies) / len(latencies) * 1000, 2) if latencies else math.nan,
    }
