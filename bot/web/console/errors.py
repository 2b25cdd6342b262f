"""Console errors as pages a person can read (the chat's JSON errors are for the chat API)."""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web

from bot.web.console.access import Forbidden, Handler

logger = logging.getLogger("bot.web.console")

_TITLES = {403: "无权访问", 404: "页面不存在", 405: "不支持的请求方式", 413: "内容太长"}


def _page(request: web.Request, status: int, message: str) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "error.html",
        request,
        {"title": _TITLES.get(status, "出错了"), "message": message, "status": status},
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def console_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Forbidden as exc:
        return _page(request, 403, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Our refusals are Chinese; aiohttp's own texts (its 413 "Maximum request body size …")
        # are English and give way to the page's Chinese title.
        text = exc.text if exc.text and not exc.text.isascii() else ""
        return _page(request, exc.status, text or _TITLES.get(exc.status, "请求没有成功。"))
    except Exception:
        logger.exception("console error on %s %s", request.method, request.path)
        return _page(request, 500, "系统出错了，请稍后再试。")
