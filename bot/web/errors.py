"""One place that turns errors into answers a person can read; no stack trace reaches a user."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

logger = logging.getLogger("bot.web")


class UserError(Exception):
    """A refusal whose Chinese message is safe to show the user, with its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_MESSAGES = {
    400: "请求格式不正确。",
    404: "页面不存在。",
    405: "不支持的请求方式。",
    413: "内容太长了，请精简后再发送。",
}


DATABASE_DOWN = "系统正在恢复，请过几秒钟再发送一次。如有急事请直接拨打12345。"


def database_unreachable(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection (a restart, a failover),
    as opposed to a query it refused: the first passes in seconds and deserves a 503."""
    if isinstance(exc, DisconnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return isinstance(exc, OperationalError | InterfaceError)
    return False


@web.middleware
async def error_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except UserError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = _MESSAGES.get(exc.status, "请求没有成功，请稍后再试。")
        return web.json_response({"error": message}, status=exc.status)
    except Exception as exc:
        if database_unreachable(exc):
            # PostgreSQL restarting or a cut connection: passes in seconds, and the person sends
            # the message again (the gateway records a message before relaying it to Rasa, and
            # rides out a blip when recording Rasa's answer: bot/web/gateway.py).
            logger.warning(
                "database unreachable on %s %s: %s",
                request.method,
                request.path,
                type(getattr(exc, "orig", None) or exc).__name__,
            )
            return web.json_response({"error": DATABASE_DOWN}, status=503)
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "系统繁忙，请稍后再试，或直接拨打12345。"}, status=500)
