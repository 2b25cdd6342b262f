"""Typed application keys shared by the web modules."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.config import Settings

SETTINGS = web.AppKey("settings", Settings)
HTTP_CLIENT = web.AppKey("http_client", aiohttp.ClientSession)
