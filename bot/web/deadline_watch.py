"""The clock of the closed loop: every few minutes, lapsed deadlines get their 催办/督办.

It runs inside the web service (always up while the bot serves) so a single-machine install
needs no cron; `hotline sweep` does one round for deployments that prefer a scheduler. With
several web replicas each round is claimed first (bot/jobs/rounds.py): one replica sweeps
per interval, whichever timer fires first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.jobs.rounds import claim_round
from bot.store.db import make_engine, make_session_factory
from bot.tickets.service import TicketService
from bot.web.keys import SETTINGS
from bot.web.periodic import periodic

logger = logging.getLogger(__name__)


ROUND = "deadline_sweep"


def sweep_once(database_url: str) -> tuple[int, int]:
    """One sweep now: (催办 count, 督办 count)."""
    swept = _sweep(database_url, every_seconds=0)
    assert swept is not None  # unclaimed sweeps always run
    return swept


def sweep_round(database_url: str, every_seconds: float) -> tuple[int, int] | None:
    """The web service's round: None when another replica swept within the interval."""
    return _sweep(database_url, every_seconds)


def _sweep(database_url: str, every_seconds: float) -> tuple[int, int] | None:
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        now = dt.datetime.now(dt.UTC)
        if every_seconds and not claim_round(sessions, ROUND, every_seconds, now):
            return None
        result = TicketService(sessions).sweep()
    finally:
        engine.dispose()
    return len(result.urged), len(result.supervised)


async def deadline_watch(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]

    async def sweep() -> None:
        swept = await asyncio.to_thread(sweep_round, settings.database_url, settings.sweep_seconds)
        if swept is None:
            return
        urged, supervised = swept
        if urged or supervised:
            logger.info("deadline sweep: %d 催办, %d 督办", urged, supervised)

    async with periodic("deadline sweep", settings.sweep_seconds, sweep):
        yield
