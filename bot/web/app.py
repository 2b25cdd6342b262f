"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.config import Settings
from bot.web import chat, enterprise_chat, wechat
from bot.web.console import setup_console
from bot.web.deadline_watch import deadline_watch
from bot.web.enterprise_api import setup_enterprise_api
from bot.web.enterprise_errors import api_error_middleware
from bot.web.enterprise_pages import setup_enterprise_pages
from bot.web.errors import error_middleware
from bot.web.gateway import gateway_context
from bot.web.keys import HTTP_CLIENT, SETTINGS
from bot.web.push import push_context
from bot.web.security import setup_security

HERE = Path(__file__).resolve().parent


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[HTTP_CLIENT] = session
        yield


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, api_error_middleware], client_max_size=64 * 1024
    )
    app[SETTINGS] = settings
    setup_security(app)  # headers and Secure cookies on every response, console included
    app.cleanup_ctx.append(_http_client)
    app.cleanup_ctx.append(gateway_context)  # needs the HTTP client; channels need it
    app.cleanup_ctx.append(push_context)
    app.cleanup_ctx.append(deadline_watch)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    app.router.add_get("/healthz", healthz)
    chat.setup_routes(app)
    setup_enterprise_api(app)
    setup_enterprise_pages(app)
    enterprise_chat.setup_routes(app)
    setup_console(app, settings)
    if settings.wechat_enabled:
        wechat.setup_wechat(app)
    app.router.add_static("/static/", HERE / "static", name="static")
    return app
