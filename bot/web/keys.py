"""Typed application keys shared by the web modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot.config import Settings

if TYPE_CHECKING:
    from bot.web.gateway import Gateway

SETTINGS = web.AppKey("settings", Settings)
HTTP_CLIENT = web.AppKey("http_client", aiohttp.ClientSession)
# The one way into Rasa and the conversation record, for every channel (bot/web/gateway.py).
GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway")
