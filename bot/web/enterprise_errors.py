"""JSON errors for the enterprise API, the per-token rate limit and the registration limits.

Every refusal is {"error": {"code", "message" (Chinese), "field"}} with the status a client
expects; anything unexpected is logged (personal data masked) and answered 500 without a trace.
"""

from __future__ import annotations

import ipaddress
import logging

from aiohttp import web

from bot.config import Settings
from bot.domain.addresses import address_block
from bot.domain.privacy import mask_text
from bot.domain.tables import load_table
from bot.enterprises.texts import error_message
from bot.web.rate_limit import RateLimiter

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


class RegistrationLimits:
    """Registrations per client address and in all, per hour (limits.yml
    enterprise_registration): each account is a token with its own rate limit, so without them
    one script could mint accounts as fast as it likes and file through all of them.

    Loopback is not counted (our own tools, proofs and tests on the host), as in the chat: a
    client reaches the service through nginx, which is another host — or, on the same host, a
    trusted proxy (HOTLINE_TRUSTED_PROXIES) whose forwarded address is counted. An IPv6 client
    counts by its /64 (bot/domain/addresses.py). Shared among the production replicas as the
    API's rate limit is (RateLimiter.shared)."""

    def __init__(self, settings: Settings) -> None:
        table = load_table("limits")["enterprise_registration"]
        per_ip, in_all = int(table["per_ip_per_hour"]), int(table["per_hour"])
        self._per_ip = RateLimiter.shared(settings, per_ip, per_ip / 3600)
        self._in_all = RateLimiter.shared(settings, in_all, in_all / 3600)

    def take(self, client_ip: str | None) -> int | None:
        """None when this registration may go ahead; else the seconds to wait."""
        if not client_ip or _is_loopback(client_ip):
            return None
        wait = self._per_ip.take(address_block(client_ip))
        return wait if wait is not None else self._in_all.take("all")


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def registration_limits(settings: Settings) -> RegistrationLimits:
    return RegistrationLimits(settings)


def enterprise_limiter(settings: Settings) -> RateLimiter:
    """The API's limit per enterprise token (HOTLINE_ENTERPRISE_RATE_BURST, _PER_SECOND)."""
    return RateLimiter.shared(
        settings, settings.enterprise_rate_burst, settings.enterprise_rate_per_second
    )
