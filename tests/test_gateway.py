"""The gateway through HTTP against the real web service, Rasa and database: history, 「新的对话」,
duplicates answered once, an operator's conversation not relayed, pushed messages over SSE, and
bad input refused in Chinese with nothing stored."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from sqlalchemy import func, select, update

from bot.conversations.record import ConversationStore
from bot.store.db import make_session_factory
from bot.store.models import Conversation, ConversationMessage, Ticket
from bot.tickets.notices import ANSWER_NOTICE
from bot.web.gateway import Reply
from bot.web.push import HEARTBEAT_SECONDS
from tests.conftest import RunningStack
from tests.gateway_support import ANSWER, answer_ticket, conversations_of, count_messages
from tests.test_conversation import QUESTIONS

pytestmark = pytest.mark.stack


def _person(stack: RunningStack) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.get(f"{stack.settings.web_url}/", timeout=10).raise_for_status()
    return session, session.cookies["hotline_sid"]


def _say(stack: RunningStack, session: requests.Session, text: str, **headers: str) -> list[dict]:
    response = session.post(
        f"{stack.settings.web_url}/api/chat", json={"message": text}, headers=headers, timeout=60
    )
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def _history(stack: RunningStack, session: requests.Session) -> list[dict]:
    response = session.get(f"{stack.settings.web_url}/api/chat/history", timeout=10)
    assert response.status_code == 200
    return list(response.json()["messages"])


def test_history_and_a_new_conversation(stack: RunningStack) -> None:
    session, key = _person(stack)
    first = _say(stack, session, "我要投诉")
    assert "描述" in first[0]["text"]
    history = _history(stack, session)
    assert [(m["direction"], m["text"]) for m in history] == [
        ("in", "我要投诉"), *[("out", m["text"]) for m in first]
    ]  # fmt: skip
    started = session.post(f"{stack.settings.web_url}/api/chat/new", timeout=10)
    assert started.status_code == 200
    assert _history(stack, session) == []
    # A fresh Rasa conversation: the complaint form is not waiting for a description any more.
    assert "描述" not in " ".join(m["text"] for m in _say(stack, session, "你好"))
    old, new = conversations_of(stack.engine, key)
    assert old.state == "closed" and new.state == "bot"
    assert old.rasa_sender_id != new.rasa_sender_id


def test_a_retried_message_is_answered_once(stack: RunningStack) -> None:
    session, key = _person(stack)
    results: list[list[dict]] = []

    def send() -> None:
        results.append(_say(stack, session, "我要投诉", **{"X-Message-Id": "retry-1"}))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and results[0] == results[1] == results[2]
    (conversation,) = conversations_of(stack.engine, key)
    with stack.engine.connect() as conn:
        directions = conn.execute(
            select(ConversationMessage.direction).where(
                ConversationMessage.conversation_id == conversation.id
            )
        ).scalars()
        assert list(directions).count("in") == 1
    # Rasa saw it once: had it seen it twice, the form would now take 我要投诉 as the description.
    assert "单位" in " ".join(m["text"] for m in _say(stack, session, "小区门口路灯坏了两个月"))


def test_a_conversation_held_by_an_operator_is_recorded_not_relayed(stack: RunningStack) -> None:
    session, key = _person(stack)
    _say(stack, session, "你好")
    (conversation,) = conversations_of(stack.engine, key)
    with stack.engine.begin() as conn:
        conn.execute(
            update(Conversation).where(Conversation.id == conversation.id).values(state="human")
        )
    assert _say(stack, session, "我的电话是13812345678，请人工帮我") == []
    assert _history(stack, session)[-1]["text"] == "我的电话是13812345678，请人工帮我"  # as typed
    tracker = requests.get(
        f"{stack.settings.rasa_url}/conversations/{conversation.rasa_sender_id}/tracker",
        params=stack.settings.rasa_auth,
        timeout=10,
    ).json()
    assert "13812345678" not in json.dumps(tracker, ensure_ascii=False)


def _file_through_http(stack: RunningStack, session: requests.Session) -> dict:
    """The complaint form answered through /api/chat; returns the card of the filing reply."""
    phone = "139" + str(time.time_ns())[-8:]
    messages = _say(stack, session, "我要投诉")
    messages = _say(stack, session, "我们小区南门那段路挖开三个月了，一直没人管，下雨全是泥。")
    for _ in range(12):
        if messages[-1].get("buttons") and "请核对" in " ".join(m["text"] for m in messages):
            break
        text = " ".join(m["text"] for m in messages)
        question = next(q for q in QUESTIONS if q in text)
        messages = _say(stack, session, QUESTIONS[question] or phone)
    payload = next(b["payload"] for b in messages[-1]["buttons"] if b["title"] == "确认提交")
    filed = _say(stack, session, payload)
    card = next(m["card"] for m in filed if m.get("card"))
    assert card["number"].startswith("LY") and card["access_code"]
    return dict(card)


def test_a_ticket_filed_in_the_web_chat_says_so(stack: RunningStack) -> None:
    """The ticket's channel is the gateway's (web), not Rasa's REST channel it went through."""
    session, _ = _person(stack)
    card = _file_through_http(stack, session)
    with stack.engine.connect() as conn:
        channel = conn.execute(
            select(Ticket.channel).where(Ticket.number == card["number"])
        ).scalar_one()
    assert channel == "web"


def test_an_answered_ticket_is_pushed_over_sse(stack: RunningStack) -> None:
    session, _ = _person(stack)
    card = _file_through_http(stack, session)
    after = session.get(f"{stack.settings.web_url}/api/chat/history", timeout=10).json()["last_id"]
    events = session.get(
        f"{stack.settings.web_url}/api/chat/events",
        params={"after": after},
        stream=True,
        timeout=(5, 30),
    )
    assert events.status_code == 200
    assert events.headers["Content-Type"].startswith("text/event-stream")
    answer_ticket(stack.engine, card["number"])
    data = ""
    for raw in events.iter_lines(decode_unicode=True):
        if raw.startswith("data: "):
            data = raw.removeprefix("data: ")
            break
    events.close()
    pushed = json.loads(data)
    assert pushed["text"] == ANSWER_NOTICE.format(number=card["number"], reply=ANSWER)
    assert _history(stack, session)[-1]["text"] == pushed["text"]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "words"),
    [
        ("post", "/api/chat/new", None, {}, 400, "刷新"),
        ("get", "/api/chat/events", None, {}, 400, "刷新"),
        ("post", "/api/chat", {"message": "你好"}, {"X-Message-Id": "<x>"}, 400, "编号"),
        ("post", "/api/chat", {"message": "你好"}, {"X-Message-Id": "9" * 65}, 400, "编号"),
        ("post", "/api/chat", {"message": "a\x00b"}, {}, 400, "字符"),
        ("post", "/api/chat", {"text": "你好"}, {}, 400, "请输入"),
        ("put", "/api/chat/history", None, {}, 405, "不支持"),
        ("get", "/api/chat/new", None, {}, 405, "不支持"),
    ],
)
def test_bad_requests_get_a_clear_answer_and_store_nothing(
    stack: RunningStack,
    method: str,
    path: str,
    body: dict | None,
    headers: dict[str, str],
    status: int,
    words: str,
) -> None:
    before = count_messages(stack.engine)
    with stack.engine.connect() as conn:
        conversations = conn.execute(select(func.count()).select_from(Conversation)).scalar_one()
    response = requests.request(
        method, f"{stack.settings.web_url}{path}", json=body, headers=headers, timeout=10
    )
    assert response.status_code == status
    assert words in response.json()["error"] and "Traceback" not in response.text
    assert count_messages(stack.engine) == before
    with stack.engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(Conversation)).scalar_one()
    assert after == conversations


def test_history_for_a_stranger_is_empty_and_opens_nothing(stack: RunningStack) -> None:
    response = requests.get(f"{stack.settings.web_url}/api/chat/history", timeout=10)
    assert response.status_code == 200 and response.json()["messages"] == []


def test_a_message_recorded_by_another_process_reaches_the_stream(stack: RunningStack) -> None:
    """The multi-replica path: nothing wakes this process's hub, the stream's re-read finds it."""
    session, key = _person(stack)
    _say(stack, session, "你好")
    (conversation,) = conversations_of(stack.engine, key)
    after = session.get(f"{stack.settings.web_url}/api/chat/history", timeout=10).json()["last_id"]
    events = session.get(
        f"{stack.settings.web_url}/api/chat/events",
        params={"after": after},
        stream=True,
        timeout=(5, 30),
    )
    lines = (line for line in events.iter_lines(decode_unicode=True) if line)
    assert next(lines) == ": connected"
    store = ConversationStore(make_session_factory(stack.engine))
    started = time.monotonic()
    store.push(conversation.id, [Reply("您好，我是12345的工作人员，这就帮您处理。")], "operator")
    event = [next(lines) for _ in range(3)]
    events.close()
    assert event[0].startswith("id: ") and event[1] == "event: message"
    pushed = json.loads(event[2].removeprefix("data: "))
    assert (pushed["direction"], pushed["text"]) == (
        "operator",
        "您好，我是12345的工作人员，这就帮您处理。",
    )
    assert time.monotonic() - started < 10  # the re-read interval is 3 s


def test_a_quiet_stream_gets_heartbeats(stack: RunningStack) -> None:
    """Proxies close idle connections (nginx after 60 s): a comment line keeps the stream alive."""
    session, _ = _person(stack)
    started = time.monotonic()
    events = session.get(f"{stack.settings.web_url}/api/chat/events", stream=True, timeout=(5, 30))
    lines = (line for line in events.iter_lines(decode_unicode=True) if line)
    assert next(lines) == ": connected"
    assert next(lines) == ": heartbeat"
    events.close()
    assert HEARTBEAT_SECONDS <= time.monotonic() - started < HEARTBEAT_SECONDS + 5
