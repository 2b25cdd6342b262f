"""A ticket's page shows only its own part of the conversation that filed it (from the previous
filing to its own), and a department sees none of a conversation in which another ticket is
protected or another department's — per role, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.conversations.record import ConversationStore
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.tickets.service import TicketService
from bot.web.app import create_app
from bot.web.gateway import Reply
from tests.console_support import draft, populate, settings_for, sign_in

FIRST_STORY = "洛龙区住建局拖欠我们工程款三十八万元，两年了"
SECOND_STORY = "还有个事，我邻居家装修天天半夜砸墙，我是刘桂芳，电话13911112222"
THIRD_STORY = "另外区住建局的工程款发票也一直不给开"


@dataclass
class Chat:
    first: str  # the department user's department, not protected
    second: str  # filed after it in the same conversation
    third: str | None = None


def _file_conversation(
    store: ConversationStore, service: TicketService, key: str, second: dict[str, object]
) -> Chat:
    """One chat that files two tickets (and, with `second` in the department's own care, a
    third): each story, its confirmation, the bot's 已受理 — as the gateway records them."""
    conversation = store.current("web", key)
    numbers = []
    stories = [(FIRST_STORY, {}), (SECOND_STORY, second)]
    if not second.get("identity_protected") and "district" not in second:
        stories.append((THIRD_STORY, {}))
    for story, overrides in stories:
        told = store.record_inbound(conversation.id, story, None)
        store.record_replies(conversation.id, told.message_id, [Reply("请核对：" + story)])
        confirming = store.record_inbound(conversation.id, "确认提交", None)
        number = service.file(
            draft(sender_id=conversation.rasa_sender_id, description=story, **overrides)
        ).number
        store.record_replies(
            conversation.id, confirming.message_id, [Reply(f"已受理！您的工单号是 {number}。")]
        )
        numbers.append(number)
    return Chat(*numbers)


@pytest.fixture
async def chats(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, Chat], TestServer]]:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    world = populate(sessions)
    store = ConversationStore(sessions)
    other_department = {
        "category": "livelihood", "district": "涧西区", "organization": "某小区物业",
        "caller_type": "citizen", "enterprise_name": None, "uscc": None, "amount": None,
    }  # fmt: skip
    built = {
        "protected": _file_conversation(
            store, world.service, "k-protected", {"identity_protected": True}
        ),
        "elsewhere": _file_conversation(store, world.service, "k-elsewhere", other_department),
        "own": _file_conversation(store, world.service, "k-own", {}),
    }
    server = TestServer(create_app(settings_for(database_url, tmp_path)))
    await server.start_server()
    try:
        yield built, server
    finally:
        await server.close()
        engine.dispose()


async def _client(server: TestServer, username: str) -> tuple[TestClient, str]:
    client = TestClient(server)
    await client.start_server()
    return client, await sign_in(client, username)


def _transcript(page: str) -> str:
    return page.split('id="transcript"')[1]


@pytest.mark.parametrize("username", ["op", "sup"])
async def test_an_operator_reads_each_ticket_s_own_part_only(
    chats: tuple[dict[str, Chat], TestServer], username: str
) -> None:
    """Operators and supervisors read every ticket, each through its own part."""
    built, server = chats
    operator, token = await _client(server, username)
    try:
        chat = built["protected"]
        first = _transcript(await (await operator.get(f"/console/tickets/{chat.first}")).text())
        assert FIRST_STORY in first and f"工单号是 {chat.first}" in first
        assert "砸墙" not in first and chat.second not in first
        second = _transcript(await (await operator.get(f"/console/tickets/{chat.second}")).text())
        assert "砸墙" in second and FIRST_STORY not in second and chat.first not in second
        # Reveal gives the full personal data of this ticket's part, never the other's words.
        revealed = await operator.post(
            f"/console/tickets/{chat.first}/reveal", data={"csrf_token": token}
        )
        full = _transcript(await revealed.text())
        assert FIRST_STORY in full and "13911112222" not in full and "刘桂芳" not in full
        middle = built["own"]
        third = _transcript(await (await operator.get(f"/console/tickets/{middle.third}")).text())
        assert THIRD_STORY in third and "砸墙" not in third and FIRST_STORY not in third
    finally:
        await operator.close()


async def test_a_department_sees_nothing_of_a_conversation_with_another_s_ticket(
    chats: tuple[dict[str, Chat], TestServer],
) -> None:
    """Its own ticket A, filed in a chat that also filed a protected ticket (its own
    department's) or another department's: no part of that conversation, and no reveal of it."""
    built, server = chats
    department, token = await _client(server, "dept")
    try:
        for name in ("protected", "elsewhere"):
            number = built[name].first
            page = await department.get(f"/console/tickets/{number}")
            assert page.status == 200
            shown = _transcript(await page.text())
            assert "对话记录不向本单位显示" in shown, name
            for words in (FIRST_STORY, "砸墙", "刘桂芳", "139****2222", "13911112222"):
                assert words not in shown, (name, words)
            revealed = await department.post(
                f"/console/tickets/{number}/reveal", data={"csrf_token": token}
            )
            full = _transcript(await revealed.text())
            assert "对话记录不向本单位显示" in full and "13911112222" not in full
    finally:
        await department.close()


async def test_a_department_reads_its_own_ticket_s_part_when_all_are_its_own(
    chats: tuple[dict[str, Chat], TestServer],
) -> None:
    built, server = chats
    department, _ = await _client(server, "dept")
    try:
        chat = built["own"]
        shown = _transcript(await (await department.get(f"/console/tickets/{chat.second}")).text())
        assert "对话记录不向本单位显示" not in shown
        assert "砸墙" in shown and FIRST_STORY not in shown and THIRD_STORY not in shown
    finally:
        await department.close()
