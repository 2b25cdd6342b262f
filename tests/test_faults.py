"""Faults, each through a person's web chat against the real processes (rasa_plugins/faults.py):
an action server killed or hung mid-form, the ticket database refusing the filing, the tracker
store failing. The person always gets a polite answer within seconds, nothing is half-filed, the
bot says 已受理 only for a committed ticket, and the conversation resumes where it was."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.config import Settings
from bot.domain.tickets import MASKED_CODE
from bot.ops.profiles import build_services
from bot.ops.supervisor import Service, Stack, free_port
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import ConversationMessage, Ticket, TicketEvent
from rasa_plugins.faults import system_text
from tests.test_conversation import QUESTIONS

pytestmark = pytest.mark.stack

BUSY = "服务繁忙"


@pytest.fixture(scope="module")
def faulty(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Our own stack: these tests kill and freeze its processes."""
    settings = Settings(
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
        var_dir=tmp_path_factory.mktemp("faults-var"),
        sweep_seconds=0,
    )
    upgrade(settings.database_url)
    stack = Stack(build_services(settings, trained_model))
    stack.settings = settings  # type: ignore[attr-defined]
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def _settings(stack: Stack) -> Settings:
    return stack.settings  # type: ignore[attr-defined,no-any-return]


def _service(stack: Stack, name: str) -> Service:
    return next(s for s in stack.services if s.name == name)


def _restart(service: Service) -> None:
    if service.exited() is None:
        service.stop()
    service.start()
    deadline = time.monotonic() + 120
    while not service.is_ready():
        assert service.exited() is None, service.log_tail()
        assert time.monotonic() < deadline, f"{service.name} did not come back"
        time.sleep(0.3)


class Person:
    def __init__(self, stack: Stack) -> None:
        self.base = _settings(stack).web_url
        self.session = requests.Session()
        self.session.get(f"{self.base}/", timeout=10).raise_for_status()
        self.phone = "139" + str(time.time_ns())[-8:]

    def say(self, text: str) -> tuple[str, list[dict], float]:
        started = time.monotonic()
        response = self.session.post(f"{self.base}/api/chat", json={"message": text}, timeout=60)
        elapsed = time.monotonic() - started
        assert response.status_code in (200, 503), response.text
        messages = list(response.json()["messages"])
        return " ".join(m["text"] for m in messages), messages, elapsed

    def answer(self, asked: str) -> str:
        question = next(q for q in QUESTIONS if q in asked)
        return QUESTIONS[question] or self.phone

    def to_summary(self, text: str, messages: list[dict]) -> list[dict]:
        for _ in range(12):
            if messages and messages[-1].get("buttons") and "请核对" in text:
                return messages
            text, messages, _ = self.say(self.answer(text))
        raise AssertionError(f"no summary: {text}")

    def start(self, story: str) -> str:
        self.say("我要投诉")
        asked, _, _ = self.say(story)
        assert "描述" not in asked
        return asked


def _confirm_payload(summary: list[dict]) -> str:
    return next(b["payload"] for b in summary[-1]["buttons"] if b["title"] == "确认提交")


def _tickets(stack: Stack) -> int:
    engine = make_engine(_settings(stack).database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Ticket)).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("fault", "story"),
    [
        ("killed", "我们小区门口的路灯坏了快一个月了，晚上黑得看不见路，老人都不敢出门。"),
        ("hung", "楼上邻居天天半夜装修电钻响到一两点，说了好几次都不听。"),
    ],
)
def test_an_action_server_killed_or_hung_mid_form(faulty: Stack, fault: str, story: str) -> None:
    """Killed: Rasa cannot connect. Hung (SIGSTOP): Rasa's own wait would be 300 s, then the
    same form predicted again. Either way: a polite answer within 10 s, and after recovery the
    same answer is taken for the question that was pending and the ticket is filed once."""
    person = Person(faulty)
    asked = person.start(story)
    actions = _service(faulty, "action server")
    assert actions.process is not None
    os.killpg(actions.process.pid, signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
    try:
        said, _, elapsed = person.say(person.answer(asked))
        assert BUSY in said
        assert elapsed < 10, f"answered after {elapsed:.1f} s"
    finally:
        if fault == "killed":
            actions.process.wait(timeout=10)
            _restart(actions)
        else:
            os.killpg(actions.process.pid, signal.SIGCONT)
    then, messages, _ = person.say(person.answer(asked))
    assert BUSY not in then and "描述" not in then and then != asked
    before = _tickets(faulty)
    filed, _, _ = person.say(_confirm_payload(person.to_summary(then, messages)))
    assert "已受理" in filed
    assert _tickets(faulty) == before + 1


def test_the_bot_says_accepted_only_for_a_committed_ticket(faulty: Stack) -> None:
    person = Person(faulty)
    asked = person.start("小区垃圾站好几天没人清运了，臭得要命，苍蝇到处飞。")
    summary = person.to_summary(*person.say(person.answer(asked))[:2])
    database = _settings(faulty).database_url.removeprefix("sqlite:///")
    before = _tickets(faulty)
    with sqlite3.connect(database) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_filing BEFORE INSERT ON tickets "
            "BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END"
        )
    try:
        said, messages, _ = person.say(_confirm_payload(summary))
        assert "已受理" not in said and "没能保存" in said
        assert _tickets(faulty) == before
    finally:
        with sqlite3.connect(database) as conn:
            conn.execute("DROP TRIGGER refuse_filing")
    # The caller's words were kept: confirming again files the one ticket.
    said, _, _ = person.say("确认")
    if "请核对" in said:
        said, _, _ = person.say("确认提交")
    assert "已受理" in said
    assert _tickets(faulty) == before + 1


def test_a_failing_tracker_store_fails_loudly_and_nothing_is_served_from_memory(
    faulty: Stack,
) -> None:
    person = Person(faulty)
    asked = person.start("我家楼下的排水井盖丢了好几天了，一直没人来修，报了物业也不管。")
    tracker_db = _settings(faulty).tracker_db
    with sqlite3.connect(tracker_db) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_events BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'tracker store down (test)'); END"
        )
    try:
        said, _, elapsed = person.say(person.answer(asked))
        assert said == system_text("tracker_failed") and elapsed < 10
    finally:
        with sqlite3.connect(tracker_db) as conn:
            conn.execute("DROP TRIGGER refuse_events")
    log = _service(faulty, "Rasa server").log_path.read_text(encoding="utf-8", errors="replace")
    assert "refusing to serve from memory" in log
    # No stand-in tracker took the turn: the same answer is taken for the pending question.
    then, _, _ = person.say(person.answer(asked))
    assert "描述" not in then and then != asked and BUSY not in then


def test_a_filing_that_commits_after_the_reply_was_lost_gives_number_and_a_fresh_code(
    faulty: Stack,
) -> None:
    """The filing commits after the action's budget (a slow disk: a trigger that keeps the
    INSERT busy), so the person is told the system is busy and never sees the number. A status
    question in the same conversation gives the number and a fresh code: the code works, the
    re-issue is in the ticket's history, the reply is recorded (its code masked); a plain status
    question once the number was told gives no second code, 「刚才提交成功了吗」 does."""
    person = Person(faulty)
    asked = person.start("小区门口的下水道堵了一个星期，污水漫到人行道上，臭气熏天。")
    summary = person.to_summary(*person.say(person.answer(asked))[:2])
    database = _settings(faulty).database_url.removeprefix("sqlite:///")
    before = _tickets(faulty)
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE slow_rows (x INTEGER)")
        conn.executemany("INSERT INTO slow_rows VALUES (?)", [(i,) for i in range(600)])
        conn.execute(
            "CREATE TRIGGER slow_filing AFTER INSERT ON tickets BEGIN SELECT count(*) "
            "FROM slow_rows a, slow_rows b, slow_rows c WHERE a.x + b.x + c.x < 0; END"
        )
    try:
        said, _, _ = person.say(_confirm_payload(summary))
        assert "已受理" not in said and BUSY in said, said
        deadline = time.monotonic() + 300
        while _tickets(faulty) == before:  # the action server's filing goes on and commits
            assert time.monotonic() < deadline, "the filing never committed"
            time.sleep(0.5)
    finally:
        with sqlite3.connect(database) as conn:
            conn.execute("DROP TRIGGER IF EXISTS slow_filing")
            conn.execute("DROP TABLE IF EXISTS slow_rows")
    engine = make_engine(_settings(faulty).database_url)
    try:
        with engine.connect() as conn:
            number, ticket_id = conn.execute(
                select(Ticket.number, Ticket.id).order_by(Ticket.id.desc()).limit(1)
            ).one()

        said, messages, _ = person.say("查询工单")  # the record holds no reply naming it
        told = re.search(rf"工单号是 {number}，提取码 (\d{{6}})", said)
        assert told, said
        code = told.group(1)
        assert {"number": number, "access_code": code} in [m.get("card") for m in messages]
        assert f"工单 {number} 的情况" in said
        elsewhere = Person(faulty)
        looked_up, _, _ = elsewhere.say(f"查询工单 {number} {code}")
        assert f"工单 {number} 的情况" in looked_up, looked_up
        with engine.connect() as conn:
            actions = conn.execute(
                select(TicketEvent.action).where(TicketEvent.ticket_id == ticket_id)
            ).scalars()
            assert "reissue_code" in list(actions)
            recorded = (
                conn.execute(
                    select(ConversationMessage.text).where(
                        ConversationMessage.direction == "out",
                        ConversationMessage.text.contains(number),
                    )
                )
                .scalars()
                .all()
            )
        assert any(f"提取码 {MASKED_CODE}" in text for text in recorded)
        assert not any(code in text.replace(number, "") for text in recorded)

        # A plain status question once the number was told: no second code.
        again, _, _ = person.say("查询工单")
        assert f"工单 {number} 的情况" in again and "新生成" not in again, again
        # Asking whether it went through says the person did not get it (WeChat's fallback
        # can fail after the reply was recorded): a fresh code again; the one before is void.
        asked, _, _ = person.say("刚才提交成功了吗")
        fresh = re.search(rf"工单号是 {number}，提取码 (\d{{6}})", asked)
        assert fresh, asked
        if fresh.group(1) != code:
            void, _, _ = Person(faulty).say(f"查询工单 {number} {code}")
            assert f"工单 {number} 的情况" not in void, void
    finally:
        engine.dispose()
