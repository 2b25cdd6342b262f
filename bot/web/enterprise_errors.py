"""JSON errors for the enterprise API, and the per-token rate limit.

Every refusal is {"error": {"code", "message" (Chinese), "field"}} with the status a client
expects; anything unexpected is logged (personal data masked) and answered 500 without a trace.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from aiohttp import web

from bot.config import Settings
from bot.domain.privacy import mask_text
from bot.web.enterprise_texts import error_message

logger = logging.getLogger("bot.web.enterprise")

# aiohttp's own refusals, by status → our code.
_HTTP_CODES = {
    400: "malformed_json",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, field: str | None = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.field = field
        self.retry_after = retry_after


def error_response(
    status: int, code: str, field: str | None = None, retry_after: int | None = None
) -> web.Response:
    body = {"error": {"code": code, "message": error_message(code, field), "field": field}}
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response(body, status=status, headers=headers)


@web.middleware
async def api_error_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Only for /api/v1/ paths (the pages answer HTML); mounted in the app's middleware list."""
    if not request.path.startswith("/api/v1/"):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.field, exc.retry_after)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, _HTTP_CODES.get(exc.status, "server_error"))
    except Exception as exc:
        logger.error(
            "enterprise API error on %s %s: %s",
            request.method,
            request.path,
            mask_text(f"{type(exc).__name__}: {exc}")[:300],
        )
        return error_response(500, "server_error")


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per enterprise, in this process. Several web replicas share the limit by
    each keeping its share of it (`for_settings`): nginx hands requests to the replicas in turn,
    so an enterprise meets its configured limit across them, give or take one request per
    replica — with no shared store to ask on every call."""

    @classmethod
    def for_settings(cls, settings: Settings) -> RateLimiter:
        """The configured burst and rate, divided among the production profile's web replicas."""
        share = max(1, settings.web_replicas) if settings.profile == "production" else 1
        return cls(
            max(1.0, settings.enterprise_rate_burst / share),
            settings.enterprise_rate_per_second / share,
        )

    def __init__(self, burst: float, per_second: float) -> None:
        self._burst = float(burst)
        self._rate = per_second
        self._buckets: dict[int, _Bucket] = {}

    def take(self, enterprise_id: int) -> int | None:
        """None when allowed; else the whole seconds to wait (the Retry-After value)."""
        now = time.monotonic()
        bucket = self._buckets.setdefault(enterprise_id, _Bucket(self._burst, now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.stamp) * self._rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self._rate)) if self._rate > 0 else 60
