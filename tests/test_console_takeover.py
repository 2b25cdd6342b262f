"""Live takeover of a 转人工 conversation through the console, on the gateway's real record:
while a person holds it the bot is not asked (no Rasa runs here: a relay would fail), the
operator's words are recorded as the operator's, and giving it back hands it to the bot."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.conversations.record import ConversationStore
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import Handoff
from bot.web.app import create_app
from bot.web.keys import GATEWAY
from tests.console_support import populate, settings_for, sign_in


async def test_an_operator_takes_over_answers_and_gives_back(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    world = populate(sessions)
    store = ConversationStore(sessions)
    conversation = store.current("web", "cookie-t")
    store.record_inbound(conversation.id, "转人工，我叫张建军，电话13812345678", None)
    world.service.request_handoff(
        conversation.rasa_sender_id, "转人工，我叫张建军，电话13812345678", channel="web"
    )
    with sessions() as session:
        handoff_id = session.query(Handoff.id).scalar()
    app = create_app(settings_for(database_url, tmp_path))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        dept = TestClient(client.server)
        await dept.start_server()
        dept_token = await sign_in(dept, "dept")
        assert (await dept.get(f"/console/handoffs/{handoff_id}")).status == 403
        refused = await dept.post(
            f"/console/handoffs/{handoff_id}/take", data={"csrf_token": dept_token}
        )
        assert refused.status == 403
        await dept._session.close()

        token = await sign_in(client, "op")
        queue_page = await (await client.get("/console/handoffs")).text()
        assert f"/console/handoffs/{handoff_id}" in queue_page and "138****5678" in queue_page
        # The name the person gave is masked like the ticket page masks it (张*), not shown.
        assert "张建军" not in queue_page and "我叫张**" in queue_page
        assert "<td>网页聊天</td>" in queue_page
        page = await (await client.get(f"/console/handoffs/{handoff_id}")).text()
        assert "转人工，我叫张**，电话138****5678" in page and "接管对话" in page
        assert "张建军" not in page
        early = await client.post(
            f"/console/handoffs/{handoff_id}/send", data={"csrf_token": token, "text": "您好"}
        )
        assert "请先接管对话" in await early.text()
        taken = await client.post(
            f"/console/handoffs/{handoff_id}/take", data={"csrf_token": token}
        )
        assert "已接管" in await taken.text() and "人工接管中" in await taken.text()
        # The person writes while a human holds it: recorded, not relayed (no Rasa is running).
        assert await app[GATEWAY].receive("web", "cookie-t", "还在吗") == []
        sent = await client.post(
            f"/console/handoffs/{handoff_id}/send",
            data={"csrf_token": token, "text": "您好，我是12345话务员小李"},
        )
        page = await sent.text()
        assert "人工坐席" in page and "我是12345话务员小李" in page and "还在吗" in page
        rows = store.history(conversation.id)
        assert [r.direction for r in rows] == ["in", "in", "operator"]
        released = await client.post(
            f"/console/handoffs/{handoff_id}/release", data={"csrf_token": token}
        )
        assert "已交还智能助手" in await released.text()
        assert store.get(conversation.id).state == "bot"  # type: ignore[union-attr]
        with sessions() as session:
            assert session.get(Handoff, handoff_id).status == "done"  # type: ignore[union-attr]
        admin = TestClient(client.server)
        await admin.start_server()
        await sign_in(admin, "admin")
        log = await (await admin.get("/console/audit")).text()
        assert "接管对话" in log and "人工回复" in log and "交还智能助手" in log
        await admin._session.close()
    finally:
        await client.close()
        engine.dispose()
