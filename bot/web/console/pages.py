"""Rendering console pages: every template gets the user, the CSRF token and a one-time notice."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import aiohttp_jinja2
from aiohttp import web

from bot.domain.categories import category_label
from bot.domain.clock import CHINA_TZ
from bot.domain.districts import official_names
from bot.domain.lifecycle import lifecycle
from bot.domain.tables import load_table
from bot.tickets.routing import load_routing
from bot.web.console.access import actions_for, may
from bot.web.console.keys import CSRF, USER
from bot.web.console.session_store import get_session
from bot.web.console.texts import ROLE_LABELS, channel_label

T = TypeVar("T")


async def db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking database call off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def notify(request: web.Request, text: str, *, error: bool = False) -> None:
    """A message for the next page (after a redirect)."""
    session = await get_session(request)
    session["notice"] = {"text": text, "error": error}


def local_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


async def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    session = await get_session(request)
    notice = session.pop("notice", None)
    account = request.get(USER)
    base = {
        "user": account,
        "role_label": ROLE_LABELS.get(account.role, "") if account else "",
        "csrf": request.get(CSRF, ""),
        "notice": notice,
        "may": (lambda p: may(account, p)),
        "my_actions": actions_for(account) if account else [],
        "local_time": local_time,
        "state_label": lifecycle().state_label,
        "action_label": lifecycle().action_label,
        "category_label": category_label,
        "channel_label": channel_label,
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@functools.cache
def categories() -> list[tuple[str, str]]:
    table = load_table("categories")
    pairs = [(str(e["code"]), str(e["label"])) for e in table["categories"]]
    return [*pairs, (str(table["unclassified"]["code"]), str(table["unclassified"]["label"]))]


@functools.cache
def districts() -> list[str]:
    return official_names()


@functools.cache
def departments() -> list[str]:
    """Every department the routing table can send a ticket to (lead or co-handler), found by
    routing every category, district and sub-type keyword through the real router."""
    router = load_routing()
    table = load_table("routing")
    keywords: dict[str, list[str]] = {}
    for code, entry in (table.get("categories") or {}).items():
        keywords[str(code)] = [
            str(sub["keywords"][0]) for sub in entry.get("subtypes") or [] if sub.get("keywords")
        ]
    names: set[str] = set()
    for code, _label in categories():
        for district in [*districts(), None]:
            for text in ["", *keywords.get(code, [])]:
                route = router.route(code, district, text)
                names.add(route.lead)
                names.update(route.co_handlers)
    return sorted(names)
