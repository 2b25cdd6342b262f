"""Deadlines as the caller hears them («签收后13个工作日内答复»): from the routing table."""

from __future__ import annotations

import functools

from bot.tickets.routing import Router, load_routing


@functools.cache
def _router() -> Router:
    return load_routing()


def deadlines_for(category: str | None, district: str | None) -> tuple[int, int]:
    """(working days to sign, working days to answer) for the matter as known so far."""
    route = _router().route(category or "unclassified", district or None)
    return route.deadlines.sign_working_days, route.deadlines.answer_working_days
