"""The retraining loop over HTTP on SQLite and PostgreSQL: the NLU result beside each person's
message, marking the right intent and entity spans (CSRF, audited, refused with a reason),
the corrections list and its export as Rasa NLU YAML without copies of the evaluation sets and
without real phone numbers, and who may do it (never a department handler)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot import cli
from bot.conversations.record import ConversationStore, Understanding
from bot.domain.identifiers import is_valid_id_number
from bot.nlu_data import read_nlu_file
from bot.store.models import AuditEntry, NluCorrection
from bot.web.gateway import Reply
from tests.conftest import require_real_eval_set
from tests.console_support import World, draft, sign_in
from tools.eval.datasets import DEV_SET

STORY = "西工区那个物业天天半夜施工，吵得睡不着，我电话13812345678，身份证410302199001011234"


def said(store: ConversationStore, key: str, texts: list[tuple[str, str, float]]) -> list[int]:
    """A conversation as the gateway records it: each message, the bot's answer, the NLU result."""
    conversation = store.current("web", key)
    ids = []
    for text, intent, confidence in texts:
        inbound = store.record_inbound(conversation.id, text, None)
        store.record_replies(conversation.id, inbound.message_id, [Reply("好的")])
        store.record_understanding(inbound.message_id, Understanding(intent, confidence, []))
        ids.append(inbound.message_id)
    return ids


async def client(server: TestServer, username: str) -> tuple[TestClient, str]:
    c = TestClient(server)
    await c.start_server()
    return c, await sign_in(c, username)


def audited(w: World, action: str) -> list[AuditEntry]:
    with w.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_a_reviewer_marks_a_message_and_exports_it(
    world: tuple[World, TestServer], tmp_path: Path
) -> None:
    require_real_eval_set()
    w, server = world
    store = ConversationStore(w.sessions)
    [story] = said(store, "cookie-r1", [(STORY, "complain_dereliction", 0.41)])
    conversation = store.current("web", "cookie-r1")
    number = w.service.file(draft(sender_id=conversation.rasa_sender_id)).number
    dev_text = read_nlu_file(DEV_SET)[0].text
    copied, near = said(
        store,
        "cookie-r2",
        [(dev_text, "complain", 0.3), (dev_text[:-3] + "，谢谢啦", "complain", 0.3)],
    )
    op, token = await client(server, "op")
    try:
        page = await (await op.get(f"/console/tickets/{number}")).text()
        # The NLU result beside the person's message, and the way to correct it.
        assert "履职不到位（complain_dereliction）" in page and "0.41" in page
        assert f'href="/console/review/messages/{story}"' in page
        assert "13812345678" not in page
        form = await (await op.get(f"/console/review/messages/{story}")).text()
        assert "138****5678" in form and "13812345678" not in form
        assert '<option value="complain_livelihood">' in form  # every domain intent offered

        async def mark(message: int, **fields: str) -> tuple[int, str]:
            response = await op.post(
                f"/console/review/messages/{message}",
                data={"csrf_token": token, **fields},
                allow_redirects=False,
            )
            return response.status, await response.text()

        # Refused, with the reason, nothing stored: no token, an unknown intent, a span that
        # is not in the message.
        forged = await op.post(
            f"/console/review/messages/{story}", data={"intent": "complain_livelihood"}
        )
        assert forged.status == 403
        status, text = await mark(story, intent="make_coffee")
        assert status == 422 and "请选择领域文件" in text
        status, text = await mark(
            story, intent="complain_livelihood", entity_0="organization", span_0="东城物业"
        )
        assert status == 422 and "消息原文中找不到「东城物业」" in text
        # The span as the reviewer sees it (the phone masked) is found all the same.
        status, _ = await mark(
            story,
            intent="complain_livelihood",
            entity_0="district",
            span_0="西工区",
            entity_1="phone",
            span_1="138****5678",
        )
        assert status == 303
        assert (await mark(copied, intent="complain_livelihood"))[0] == 303
        assert (await mark(near, intent="complain_livelihood"))[0] == 303
        with w.sessions() as session:
            rows = {r.message_id: r for r in session.scalars(select(NluCorrection))}
        assert set(rows) == {story, copied, near}
        saved = rows[story]
        assert (saved.intent, saved.predicted_intent, saved.reviewer) == (
            "complain_livelihood",
            "complain_dereliction",
            "op",
        )
        # Stored without the real numbers: same shape, same length, so the spans stay right.
        assert "13812345678" not in saved.text and "410302199001011234" not in saved.text
        assert len(saved.text) == len(STORY)
        assert len(audited(w, "nlu_correction")) == 3
        listing = await (await op.get("/console/review/corrections")).text()
        assert listing.count("不导出：") == 2 and "与评测集相同" in listing
        assert "可导出" in listing and "13812345678" not in listing
        download = await op.get("/console/review/corrections.yml")
        assert download.status == 200 and "attachment" in download.headers["Content-Disposition"]
        exported = await download.text()
        assert dev_text not in exported and "13812345678" not in exported
        assert re.search(
            r"纠正 #\d+（complain_livelihood）与评测集消息相同：tests/nlu/dev_set.yml", exported
        )
        assert "与评测集消息近似" in exported
        out = tmp_path / "corrections.yml"
        out.write_text(exported, encoding="utf-8")
        assert yaml.safe_load(exported)["version"] == "3.1"
        [example] = read_nlu_file(out)
        assert example.intent == "complain_livelihood"
        phone = dict(example.entities)["phone"]
        assert re.fullmatch(r"1[3-9]\d{9}", phone) and phone != "13812345678"
        assert dict(example.entities)["district"] == "西工区"
        fake_id = re.search(r"\d{17}[\dX]", example.text)
        assert (
            fake_id
            and is_valid_id_number(fake_id.group())
            and fake_id.group() != "410302199001011234"
        )
        [entry] = audited(w, "export_corrections")
        assert entry.username == "op" and "导出 1 条，未导出 2 条" in entry.detail
        # Marking again replaces the verdict (one per message).
        assert (await mark(story, intent="complain_unfair_market"))[0] == 303
        with w.sessions() as session:
            assert session.scalars(
                select(NluCorrection.intent).where(NluCorrection.message_id == story)
            ).all() == ["complain_unfair_market"]
    finally:
        await op._session.close()


async def test_department_handlers_and_admins_never_reach_the_review(
    world: tuple[World, TestServer],
) -> None:
    w, server = world
    [message] = said(ConversationStore(w.sessions), "cookie-r3", [("那个", "nlu_fallback", 0.2)])
    conversation = ConversationStore(w.sessions).current("web", "cookie-r3")
    pages = [
        "/console/review",
        "/console/review/corrections",
        "/console/review/corrections.yml",
        f"/console/review/messages/{message}",
        f"/console/conversations/{conversation.id}",
    ]
    for username in ("dept", "admin"):
        c, token = await client(server, username)
        try:
            for page in pages:
                response = await c.get(page)
                assert response.status == 403, (username, page)
                assert "无权访问" in await response.text()
            posted = await c.post(
                f"/console/review/messages/{message}",
                data={"csrf_token": token, "intent": "greet"},
            )
            assert posted.status == 403
            refresh = await c.post("/console/review/refresh", data={"csrf_token": token})
            assert refresh.status == 403
            nav = await (await c.get("/console/")).text()
            assert "待复核" not in nav
        finally:
            await c._session.close()
    with w.sessions() as session:
        assert session.scalars(select(NluCorrection)).all() == []
    sup, _ = await client(server, "sup")
    try:
        assert (await sup.get(f"/console/review/messages/{message}")).status == 200
        page = await (await sup.get(f"/console/conversations/{conversation.id}")).text()
        assert "未能理解（nlu_fallback）" in page and "0.20" in page
    finally:
        await sup._session.close()


def test_hotline_corrections_export_writes_the_file_and_names_refusals(
    database_url: str,
    tmp_path: Path,
    monkeypatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    require_real_eval_set()
    from bot.nlu_data import domain_entities, domain_intents
    from bot.review import corrections
    from bot.store.db import make_engine, make_session_factory
    from bot.store.migrate import upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    store = ConversationStore(sessions)
    dev_text = read_nlu_file(DEV_SET)[5].text
    mine, copied = said(
        store,
        "cli",
        [
            ("俺想问问那个补贴啥时候能发下来，电话0379-63331234", "ask_service", 0.5),
            (dev_text, "greet", 0.9),
        ],
    )
    for message in (mine, copied):
        corrections.mark(
            sessions, message, "complain_policy_not_honored", [], reviewer="sup", role="supervisor",
            intents=domain_intents(), entity_types=domain_entities(),
        )  # fmt: skip
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    out = tmp_path / "nlu.yml"
    assert cli.main(["corrections", "export", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "已导出 1 条纠正" in printed.out
    assert "未导出：纠正 #" in printed.err and "tests/nlu/dev_set.yml" in printed.err
    [example] = read_nlu_file(out)
    assert example.intent == "complain_policy_not_honored"
    assert "63331234" not in example.text and re.search(r"0379-\d{8}", example.text)
    with sessions() as session:
        assert session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "export_corrections")
        ).all() == ["导出 1 条，未导出 1 条"]
    engine.dispose()
