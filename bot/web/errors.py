"""One place that turns errors into answers a person can read; no stack trace reaches a user."""

from __future__ import annotations

import logging

from aiohttp import web

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
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "系统繁忙，请稍后再试，或直接拨打12345。"}, status=500)
