"""The load client: N simulated callers, each its own sender id, each sending the script one
message at a time over Rasa's REST channel (and /model/parse for NLU latency).

A caller waits for the bot's answer before the next message, as a person does; so the load is
closed-loop and messages/s is what the bot sustains at that concurrency.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp

from bot.domain import internal_auth
from tools.perf.stats import LoadRun

# 8 messages of a complaint that goes through our complaint form (tests/test_conversation.py:
# description, organisation, district, date, 个人, 匿名; the next question is the phone number)
# and through the stock bot's form with the same questions. Every message after 我要投诉 is
# validated by each bot's action server.
SCRIPT: tuple[str, ...] = (
    "你好",
    "我要投诉",
    "小区门口的路灯坏了两个月了，晚上出行很危险，一直没人修",
    "城市管理局",
    "洛龙区",
    "上个月",
    "个人",
    "匿名",
)

PARSE_TEXT = "洛龙区住建局拖欠我们工程款三十八万元，去年8月就该付了，电话13837901234"
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=120)


def _session(token: str, **kwargs: Any) -> aiohttp.ClientSession:
    """A client for a bot's REST channel: ours wants the internal token (bot/domain/internal_auth.py);
    the stock bot's channel is Rasa's own and ignores the header."""
    return aiohttp.ClientSession(
        timeout=REQUEST_TIMEOUT, headers=internal_auth.headers(token), **kwargs
    )


async def _say(
    session: aiohttp.ClientSession, url: str, sender: str, text: str
) -> list[dict[str, object]]:
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        response.raise_for_status()
        body = await response.json()
    if not isinstance(body, list) or not body:
        raise ValueError(f"no reply to {text!r}: {body!r}")
    return body


async def converse(rasa_url: str, sender: str, token: str) -> list[str]:
    """One conversation, returning the bot's last reply text to each message (for the report:
    the evidence that the script walks the form)."""
    url = f"{rasa_url}/webhooks/rest/webhook"
    replies = []
    async with _session(token) as session:
        for text in SCRIPT:
            body = await _say(session, url, sender, text)
            replies.append(" / ".join(str(r.get("text", "")) for r in body))
    return replies


async def _caller(
    session: aiohttp.ClientSession, url: str, tag: str, rounds: int, run: LoadRun
) -> None:
    for _ in range(rounds):
        sender = f"bench-{tag}-{uuid.uuid4().hex[:12]}"
        for text in SCRIPT:
            started = time.perf_counter()
            try:
                await _say(session, url, sender, text)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                run.errors += 1
                if len(run.error_samples) < 5:
                    run.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            run.latencies.append(time.perf_counter() - started)


async def load(bot: str, rasa_url: str, token: str, callers: int, rounds: int) -> LoadRun:
    """`callers` concurrent callers, each running the script `rounds` times (a new sender each)."""
    url = f"{rasa_url}/webhooks/rest/webhook"
    connector = aiohttp.TCPConnector(limit=callers)
    async with _session(token, connector=connector) as session:
        run = LoadRun(bot=bot, callers=callers, wall_seconds=0.0)
        started = time.perf_counter()
        await asyncio.gather(
            *(_caller(session, url, f"{bot}-{i}", rounds, run) for i in range(callers))
        )
        run.wall_seconds = time.perf_counter() - started
    return run


async def parse_latencies(rasa_url: str, token: str, count: int) -> list[float]:
    """`count` sequential /model/parse calls of one long complaint (NLU only, no dialogue)."""
    url = f"{rasa_url}/model/parse"
    latencies = []
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        for _ in range(count):
            started = time.perf_counter()
            params = {"token": token}  # Rasa's API token (`--auth-token`)
            async with session.post(url, params=params, json={"text": PARSE_TEXT}) as response:
                response.raise_for_status()
                await response.read()
            latencies.append(time.perf_counter() - started)
    return latencies
