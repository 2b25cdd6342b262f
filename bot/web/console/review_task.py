"""重新检查 once an hour inside the web service, so the 待复核 flags (a ticket's category against
what the current model says, a quiet conversation's open form) are current without anyone
pressing the button. Claimed (bot/jobs/rounds.py): one web replica per round; audited as
the schedule. `review_every_seconds` 0 turns it off."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.jobs.rounds import claim_round_in
from bot.web.console.keys import AUDIT, CONSOLE_SETTINGS, SESSIONS
from bot.web.console.review import recheck
from bot.web.periodic import periodic
from bot.web.rasa_api import RasaApi

logger = logging.getLogger(__name__)
ROUND = "review_recheck"


async def review_schedule(app: web.Application) -> AsyncIterator[None]:
    settings = app[CONSOLE_SETTINGS]
    every = settings.review_every_seconds

    async def round_() -> None:
        if not await asyncio.to_thread(claim_round_in, settings.database_url, ROUND, every):
            return
        # The console is a sub-application: the main app's HTTP client is not in reach here.
        async with aiohttp.ClientSession() as http:
            rasa = RasaApi(http, settings.rasa_url, settings.rasa_auth)
            done = await recheck(app[SESSIONS], rasa, dt.datetime.now(dt.UTC))
        if done is None:
            logger.warning("review round: Rasa did not answer; next round as usual")
            return
        model, checked, asked = done
        if checked or asked:
            await asyncio.to_thread(
                app[AUDIT].write,
                username="（定时）",
                role="system",
                action="review_refresh",
                detail=f"工单 {checked} 张，对话 {asked} 个（{model}）",
            )

    async with periodic("review recheck", every, round_):
        yield
