"""The ticket page shows the gateway's record of the conversation that filed the ticket: masked,
revealed only on request (audited), and never to a department for a protected complainant."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.conversations.record import ConversationStore
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.web.app import create_app
from tests.console_support import draft, populate, settings_for, sign_in


async def test_the_transcript_on_the_ticket_page(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    world = populate(sessions)
    store = ConversationStore(sessions)
    chats = []
    for key, protected in (("cookie-a", False), ("cookie-b", True)):
        conversation = store.current("web", key)
        store.record_inbound(conversation.id, "我叫张伟，电话13812345678，住建局欠我们工程款", None)
        # A name said in the chat that is not the ticket's (the ticket has 张伟): masked too.
        store.record_inbound(conversation.id, "对了我是老刘，刚才说错了", None)
        number = world.service.file(
            draft(sender_id=conversation.rasa_sender_id, identity_protected=protected)
        ).number
        chats.append(number)
    server = TestServer(create_app(settings_for(database_url, tmp_path)))
    try:
        op = TestClient(server)
        await op.start_server()
        token = await sign_in(op, "op")
        page = await (await op.get(f"/console/tickets/{chats[0]}")).text()
        assert "我叫张*，电话138****5678，住建局欠我们工程款" in page and "来电人" in page
        assert "我是老*，刚才说错了" in page and "老刘" not in page
        full = await op.post(f"/console/tickets/{chats[0]}/reveal", data={"csrf_token": token})
        revealed = await full.text()
        assert "我叫张伟，电话13812345678" in revealed and "我是老刘" in revealed
        # No recorded chat behind a ticket: said so.
        plain = await (await op.get(f"/console/tickets/{world.own.number}")).text()
        assert "不是由已记录的对话受理的" in plain
        dept = TestClient(server)
        await dept.start_server()
        await sign_in(dept, "dept")
        hidden = await (await dept.get(f"/console/tickets/{chats[1]}")).text()
        assert "对话记录不向承办单位显示" in hidden and "张" not in hidden.split("对话记录")[-1]
        assert "13812345678" not in hidden and "138****5678" not in hidden
        visible = await (await dept.get(f"/console/tickets/{chats[0]}")).text()
        assert "138****5678" in visible
        await dept._session.close()
        await op._session.close()
    finally:
        await server.close()
        engine.dispose()
