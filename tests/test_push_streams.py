"""The web chat's live-update streams over HTTP, on SQLite and PostgreSQL: only a sender key the
service signed opens one, a sender holds only a few (a new one ends the oldest), an address only
a few more (then 429), and one poller per process reads the record for every open stream — an
idle stream costs no database reads."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.conversations.record import ConversationStore
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.web import push
from bot.web.app import create_app
from bot.web.chat import SENDER_COOKIE
from bot.web.gateway import Reply
from bot.web.keys import GATEWAY
from bot.web.push import PUSH_HUB, STREAMS_PER_ADDRESS, STREAMS_PER_SENDER, TOO_MANY_STREAMS
from tests.console_support import settings_for

POLL = 0.2


@dataclasses.dataclass
class Web:
    server: TestServer
    store: ConversationStore  # another replica's view of the same record

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


@pytest.fixture
async def web(database_url: str, tmp_path: Path) -> AsyncIterator[Web]:
    upgrade(database_url)
    engine = make_engine(database_url)
    settings = dataclasses.replace(
        settings_for(database_url, tmp_path),
        notice_poll_seconds=POLL,
        trusted_proxies=("127.0.0.1",),
    )
    server = TestServer(create_app(settings))
    await server.start_server()
    try:
        yield Web(server, ConversationStore(make_session_factory(engine)))
    finally:
        await server.close()
        engine.dispose()


async def _cookie(client: aiohttp.ClientSession, web: Web, address: str = "203.0.113.1") -> str:
    page = await client.get(web.url("/"), headers={"X-Forwarded-For": address})
    assert page.status == 200
    return page.cookies[SENDER_COOKIE].value


@dataclasses.dataclass
class _Stream:
    """A client with its own connection, and the stream it opened with it."""

    client: aiohttp.ClientSession
    response: aiohttp.ClientResponse | None = None

    async def close(self) -> None:
        if self.response is not None:
            self.response.close()
        await self.client.close()


async def _open(
    web: Web, cookie: str, address: str = "203.0.113.1"
) -> tuple[_Stream, aiohttp.ClientResponse]:
    """A stream with its own client (its own connection), its first line read."""
    stream = _Stream(aiohttp.ClientSession(cookies={SENDER_COOKIE: cookie}))
    response = await stream.client.get(
        web.url("/api/chat/events"), headers={"X-Forwarded-For": address}
    )
    stream.response = response
    if response.status == 200:
        assert (await response.content.readline()).startswith(b": connected")
    return stream, response


async def _error(response: aiohttp.ClientResponse) -> str:
    body = await response.json()
    error = body["error"]
    return str(error["message"] if isinstance(error, dict) else error)


async def test_only_a_signed_sender_key_opens_a_stream(web: Web) -> None:
    async with aiohttp.ClientSession() as client:
        issued = await _cookie(client, web)
    sender_id, _, signature = issued.partition(".")
    assert len(sender_id) == 32 and len(signature) == 32
    forged = [
        sender_id,  # the old unsigned form
        f"{'0' * 32}.{signature}",
        f"{sender_id}.{'0' * 32}",
        f"{sender_id}.{signature[:-1]}",
    ]
    for cookie in forged:
        client, response = await _open(web, cookie)
        assert response.status == 400 and "刷新" in await _error(response), cookie
        await client.close()
    client, response = await _open(web, issued)
    assert response.status == 200
    await client.close()


async def test_a_sender_and_an_address_hold_only_a_few_streams(web: Web) -> None:
    opened: list[_Stream] = []
    try:
        async with aiohttp.ClientSession() as client:
            cookie = await _cookie(client, web)
        for _ in range(STREAMS_PER_SENDER):
            client, response = await _open(web, cookie)
            opened.append(client)
            assert response.status == 200
        # One more (a reloaded page, whose old connection is not seen closed yet) ends the
        # oldest: never more than STREAMS_PER_SENDER open, and the newest always served.
        for _ in range(2 * STREAMS_PER_SENDER):
            client, response = await _open(web, cookie)
            opened.append(client)
            assert response.status == 200
            oldest = opened.pop(0)
            assert oldest.response is not None
            rest = await asyncio.wait_for(oldest.response.content.read(), 5)
            assert rest.strip() == b"retry: 60000"  # ended, the browser told to wait a minute
            await oldest.close()
        assert len(web.server.app[PUSH_HUB]._by_sender[cookie]) == STREAMS_PER_SENDER
        # New senders from one address: up to the address's limit (counted by its /64).
        for n in range(STREAMS_PER_ADDRESS):
            async with aiohttp.ClientSession() as fetch:
                other = await _cookie(fetch, web, "2001:db8:5:5::1")
            client, response = await _open(web, other, f"2001:db8:5:5::{n + 2:x}")
            opened.append(client)
            assert response.status == 200, n
        async with aiohttp.ClientSession() as fetch:
            other = await _cookie(fetch, web, "2001:db8:5:5::1")
        client, response = await _open(web, other, "2001:db8:5:5:ffff::1")
        opened.append(client)
        assert response.status == 429 and await _error(response) == TOO_MANY_STREAMS
        client, response = await _open(web, other, "2001:db8:5:6::1")  # another /64
        opened.append(client)
        assert response.status == 200
    finally:
        for client in opened:
            await client.close()


async def test_one_poller_wakes_the_stream_a_message_from_another_replica_is_for(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = web.server.app[GATEWAY]
    reads: list[str] = []
    pushed_since = gateway.store.pushed_since

    def counted(channel: str, sender_key: str, after_id: int):  # type: ignore[no-untyped-def]
        reads.append(sender_key)
        return pushed_since(channel, sender_key, after_id)

    monkeypatch.setattr(gateway.store, "pushed_since", counted)
    rounds: list[int] = []
    senders_since = push.pushed_senders_since

    def counted_round(*args):  # type: ignore[no-untyped-def]
        rounds.append(1)
        return senders_since(*args)

    monkeypatch.setattr(push, "pushed_senders_since", counted_round)
    streams = []
    try:
        for n in range(5):
            async with aiohttp.ClientSession() as client:
                cookie = await _cookie(client, web, f"203.0.113.{n + 10}")
            streams.append((cookie, *await _open(web, cookie, f"203.0.113.{n + 10}")))
        assert len(reads) == 5  # each stream read the record once, when it opened
        await asyncio.sleep(POLL * 10)
        assert len(reads) == 5  # idle streams: no reads of their own
        assert len(rounds) >= 5  # the one poller, for all of them
        # Another replica records a pushed message for the third person.
        cookie, _, response = streams[2]
        conversation = web.store.current("web", cookie)
        web.store.push(conversation.id, [Reply("您反映的问题已有答复。")], "out")
        line = await asyncio.wait_for(_next_data(response), timeout=POLL * 20)
        assert "您反映的问题已有答复。" in line
        assert reads[5:] == [cookie]  # only the woken stream read the record
    finally:
        for _, client, _ in streams:
            await client.close()


async def _next_data(response: aiohttp.ClientResponse) -> str:
    while True:
        line = (await response.content.readline()).decode()
        if line.startswith("data: "):
            return line
