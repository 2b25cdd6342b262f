"""Token buckets kept in this process: per enterprise (the API) and per client address (chat).

Several web replicas share a limit by each keeping its share of it (`shared`): nginx hands
requests to the replicas in turn, so a client meets the configured limit across them, give or
take one request per replica — with no shared store to ask on every call.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable
from dataclasses import dataclass

from bot.config import Settings

MAX_KEYS = 10_000  # buckets kept before the full (idle) ones are dropped


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    @classmethod
    def shared(cls, settings: Settings, burst: float, per_second: float) -> RateLimiter:
        """`burst` and `per_second` divided among the production profile's web replicas."""
        share = max(1, settings.web_replicas) if settings.profile == "production" else 1
        return cls(max(1.0, burst / share), per_second / share)

    def __init__(self, burst: float, per_second: float, *, max_keys: int = MAX_KEYS) -> None:
        self._burst = float(burst)
        self._rate = per_second
        self._max_keys = max_keys
        self._buckets: dict[Hashable, _Bucket] = {}

    def take(self, key: Hashable) -> int | None:
        """None when allowed; else the whole seconds to wait (the Retry-After value)."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.stamp) * self._rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self._rate)) if self._rate > 0 else 60

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: forgetting them changes no answer. Many
        addresses (IPv6 gives a client plenty) cannot grow the table without bound; when none
        has refilled yet, the oldest half goes — a flood of new addresses then costs the
        forgotten ones their count, never anyone a refusal."""
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self._rate >= self._burst
        ]
        if not full:
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].stamp)
            full = oldest[: len(oldest) // 2]
        for key in full:
            del self._buckets[key]
