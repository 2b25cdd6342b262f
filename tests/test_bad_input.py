"""Bad input over HTTP against the real stack, endpoint by endpoint (issue 14, "Proof"): empty,
100 KB, emoji-only, control characters, HTML/script, SQL, malformed JSON, wrong content type,
intent payloads with entities typed by the person, wrong tokens. Each gets a clear 4xx (JSON on
the APIs, a Chinese page on forms) or a polite Chinese reply — never a 500, a traceback or
Rasa's internals — and the database is checked afterwards: a refusal stores nothing, a payload
sets no slot, odd but valid text is stored as typed.

Cases already covered elsewhere are not repeated: the enterprise API's field validation
(tests/test_enterprise_errors.py), the chat's X-Message-Id and missing-session refusals
(tests/test_gateway.py), WeChat's signature check on GET (tests/test_wechat.py).
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, func, select

from bot.store.models import (
    AuditEntry,
    Conversation,
    ConversationMessage,
    Enterprise,
    EnterpriseReport,
    Ticket,
)
from bot.web import wechat_texts
from bot.web.gateway import UNREADABLE
from tests.conftest import RunningStack
from tests.console_support import csrf_of
from tests.enterprise_support import make_uscc
from tests.gateway_support import conversations_of, messages_of
from tests.wechat_harness import message_xml, new_openid, next_msgid, running_wechat, text_xml

pytestmark = pytest.mark.stack

HAN = re.compile(r"[\u4e00-\u9fff]")
# What must never reach a person: a Python trace, our or Rasa's module names, SQL errors.
INTERNALS = re.compile(
    r"Traceback|File \"|sqlalchemy|psycopg|sqlite3|rasa[._]|RegexMessageHandler|Exception|"
    r"\bError:|aiohttp\.|site-packages"
)
HUNDRED_KB = 100 * 1024
SCRIPT = "<script>alert('x')</script>"
SQL = "'; DROP TABLE tickets; -- 1' OR '1'='1"
# A JSON text with a lone surrogate: valid JSON, no UTF-8 for it.
SURROGATE_JSON = b'{"message": "\\ud800\\u4f60\\u597d"}'
UNREADABLE_TEXTS = {
    "nul": "你好\x00",
    "ansi-escape": "\x1b[31m我要投诉\x1b[0m",
    "rtl-override": "我要投诉\u202e",
    "c1-control": "我要\x9b投诉",
    "delete": "我要\x7f投诉",
}


def _counts(engine: Engine) -> dict[str, int]:
    tables = {
        "tickets": Ticket,
        "conversations": Conversation,
        "messages": ConversationMessage,
        "enterprises": Enterprise,
        "reports": EnterpriseReport,
    }
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(model)).scalar_one())
            for name, model in tables.items()
        }


def _clean(text: str) -> None:
    """Nothing internal in what a person gets back."""
    assert not INTERNALS.search(text), text[:500]


def _json_error(response: requests.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    _clean(response.text)
    error = response.json()["error"]
    message = error["message"] if isinstance(error, dict) else error
    assert HAN.search(message), message
    return str(message)


def _person(stack: RunningStack) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.get(f"{stack.settings.web_url}/", timeout=10).raise_for_status()
    return session, str(session.cookies["hotline_sid"])


def _chat(session: requests.Session, stack: RunningStack, text: str) -> list[dict]:
    response = session.post(
        f"{stack.settings.web_url}/api/chat", json={"message": text}, timeout=60
    )
    assert response.status_code == 200, response.text[:300]
    _clean(response.text)
    messages = list(response.json()["messages"])
    assert messages and all(HAN.search(m["text"]) for m in messages), messages
    return messages


# -- the web chat -----------------------------------------------------------------------------

JSON = "application/json"
CHAT_REFUSALS: list[tuple[str, bytes, str, int, str]] = [
    ("empty body", b"", JSON, 400, "格式"),
    ("100 KB body", b'{"message": "' + b"a" * HUNDRED_KB + b'"}', JSON, 413, "太长"),
    ("100 KB of Chinese", json.dumps({"message": "字" * 40000}).encode(), JSON, 413, "太长"),
    ("malformed JSON", b'{"message": "\xe4\xbd\xa0', JSON, 400, "格式"),
    ("truncated JSON", b'{"message": ', JSON, 400, "格式"),
    ("not UTF-8", b'{"message": "\xff\xfe"}', JSON, 400, "格式"),
    ("JSON array", b'["\xe4\xbd\xa0\xe5\xa5\xbd"]', JSON, 400, "请输入"),
    ("JSON null", b"null", JSON, 400, "请输入"),
    ("message a number", b'{"message": 12345}', JSON, 400, "请输入"),
    ("message an object", b'{"message": {"text": "hi"}}', JSON, 400, "请输入"),
    ("spaces only", b'{"message": " \\t\\n "}', JSON, 400, "请输入"),
    ("2001 characters", json.dumps({"message": "字" * 2001}).encode(), JSON, 413, "2000"),
    ("lone surrogate", SURROGATE_JSON, JSON, 400, "字符"),
    ("text/plain", b'{"message": "hi"}', "text/plain", 415, "格式"),
    ("form-encoded", b"message=hi", "application/x-www-form-urlencoded", 415, "格式"),
    ("no content type", b'{"message": "hi"}', "", 415, "格式"),
    *[
        (name, json.dumps({"message": text}).encode(), JSON, 400, "字符")
        for name, text in UNREADABLE_TEXTS.items()
    ],
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [case[1:] for case in CHAT_REFUSALS],
    ids=[case[0] for case in CHAT_REFUSALS],
)
def test_the_chat_refuses_bad_input_and_stores_nothing(
    stack: RunningStack, body: bytes, content_type: str, status: int, words: str
) -> None:
    session, key = _person(stack)
    before = _counts(stack.engine)
    headers = {"Content-Type": content_type} if content_type else {}
    response = session.post(
        f"{stack.settings.web_url}/api/chat", data=body, headers=headers, timeout=30
    )
    assert words in _json_error(response, status)
    assert _counts(stack.engine) == before
    assert conversations_of(stack.engine, key) == []


def test_unreadable_characters_get_one_clear_answer() -> None:
    assert "字符" in UNREADABLE


@pytest.mark.parametrize(
    "text",
    ["😀😀😀🙏", SCRIPT, SQL, "\u200b\u200b你好", "Robert'); DROP TABLE conversations;--"],
    ids=["emoji only", "script", "sql", "zero-width", "sql-conversations"],
)
def test_odd_but_readable_text_gets_a_polite_reply_and_is_kept_as_typed(
    stack: RunningStack, text: str
) -> None:
    session, key = _person(stack)
    tickets = _counts(stack.engine)["tickets"]
    _chat(session, stack, text)
    (conversation,) = conversations_of(stack.engine, key)
    inbound = [m.text for m in messages_of(stack.engine, conversation.id) if m.direction == "in"]
    assert inbound == [text]  # as typed: the console escapes it when it shows it
    assert _counts(stack.engine)["tickets"] == tickets
    history = session.get(f"{stack.settings.web_url}/api/chat/history", timeout=10)
    assert history.status_code == 200 and history.json()["messages"][0]["text"] == text


# Values nobody offered: none of them may end up in a slot or a ticket.
JUNK = ["x", "13800000000", "火星区", SCRIPT, "-5", "X", SQL, "000000", "110101199003070000"]


def _payload(intent: str, **entities: str) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}"


STORY_OPENING = ["我要投诉", "小区门口路灯坏了两个月没人修"]
PAYLOADS: list[tuple[list[str], str]] = [
    ([], '/file_complaint{"phone":"x"}'),
    ([], _payload("complain", phone="13800000000", district="火星区", organization=SCRIPT)),
    (["我要投诉"], _payload("complain_arrears", phone="x", amount="-5", uscc="X")),
    (STORY_OPENING, _payload("inform", phone="13800000000")),
    (STORY_OPENING, _payload("affirm", organization=SCRIPT)),
    ([], _payload("query_status", ticket_id=SQL, access_code="000000")),
    ([], _payload("supplement", ticket_id="x", id_number="110101199003070000")),
    ([], '/complain{"phone": '),
    ([], "/"),
]


@pytest.mark.parametrize(
    ("before", "payload"), PAYLOADS, ids=[f"payload-{i}" for i in range(len(PAYLOADS))]
)
def test_a_typed_payload_sets_no_slot_and_files_nothing(
    stack: RunningStack, before: list[str], payload: str
) -> None:
    """`/intent{"entity": value}` typed by the person (not a button the bot offered) is read as
    plain text: its entities fill no slot, whatever the form asks next."""
    session, key = _person(stack)
    for text in before:
        _chat(session, stack, text)
    tickets = _counts(stack.engine)["tickets"]
    _chat(session, stack, payload)
    # The next answer must not pick the payload's values up either.
    _chat(session, stack, "我不知道")
    (conversation,) = conversations_of(stack.engine, key)
    tracker = requests.get(
        f"{stack.settings.rasa_url}/conversations/{conversation.rasa_sender_id}/tracker",
        params=stack.settings.rasa_auth,
        timeout=30,
    ).json()
    slots = {name: value for name, value in tracker["slots"].items() if value is not None}
    for name, value in slots.items():
        assert str(value) not in JUNK, (name, value)
        assert not any(j in str(value) for j in JUNK if len(j) > 3), (name, value)
    assert _counts(stack.engine)["tickets"] == tickets


def _stream_opens(session: requests.Session, url: str, **kwargs: object) -> None:
    events = session.get(url, stream=True, timeout=(5, 30), **kwargs)  # type: ignore[arg-type]
    try:
        assert events.status_code == 200
        assert next(line for line in events.iter_lines(decode_unicode=True) if line) == (
            ": connected"
        )
    finally:
        events.close()


def test_history_events_and_new_take_junk_without_harm(stack: RunningStack) -> None:
    web = stack.settings.web_url
    before = _counts(stack.engine)
    for cookie in ["x", "g" * 32, "A" * 32, "0" * 33, "'; DROP TABLE conversations;--"]:
        jar = {"hotline_sid": cookie}
        history = requests.get(f"{web}/api/chat/history", cookies=jar, timeout=10)
        assert history.status_code == 200 and history.json()["messages"] == []
        for method, path in [("post", "/api/chat/new"), ("get", "/api/chat/events")]:
            response = requests.request(method, f"{web}{path}", cookies=jar, timeout=10)
            assert "刷新" in _json_error(response, 400)
    assert _counts(stack.engine) == before  # a stranger opens nothing
    session, key = _person(stack)
    _chat(session, stack, "你好")
    for after in ["abc", "-1", "9" * 40, "9" * 5000, "1e9", "١٢", "²", SQL]:
        _stream_opens(session, f"{web}/api/chat/events", params={"after": after})
        if after.isascii():  # a header is Latin-1 on the wire
            _stream_opens(session, f"{web}/api/chat/events", headers={"Last-Event-ID": after})
    history = session.get(f"{web}/api/chat/history", params={"limit": SQL}, timeout=10)
    assert history.status_code == 200 and history.json()["messages"][0]["text"] == "你好"
    # 「新的对话」 does not read a body: junk in it changes nothing but the conversation.
    junk = session.post(
        f"{web}/api/chat/new", data=b"\x00" * HUNDRED_KB, headers={"Content-Type": JSON}
    )
    assert junk.status_code in (200, 413), junk.text[:200]
    _clean(junk.text)
    assert all(m.text == "你好" for c in conversations_of(stack.engine, key)
               for m in messages_of(stack.engine, c.id) if m.direction == "in")  # fmt: skip


# -- WeChat (signed requests) -----------------------------------------------------------------


async def test_wechat_refuses_bad_bodies_and_answers_odd_text_politely(
    stack: RunningStack, tmp_path: Path
) -> None:
    async with running_wechat(stack, tmp_path) as wechat:
        openid = new_openid()
        refused = [
            b"",
            b"<xml>" + b"a" * HUNDRED_KB + b"</xml>",
            b"<xml><ToUserName>",
            b'{"message": "hi"}',
            b"\x00\xff\xfe",
            message_xml(openid, "text", "<Content>\x1b[31m</Content>", next_msgid()).encode(),
            b"<xml><MsgType>text</MsgType><Content>hi</Content></xml>",  # no sender
        ]
        for body in refused:
            response = await wechat.post(body)
            assert 400 <= response.status < 500, (body[:40], response.status)
            _clean(await response.text())
        # An external entity is not expanded (XXE): the file's text is never answered.
        xxe = (
            '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY f SYSTEM "file:///etc/passwd">]>'
            + text_xml(new_openid(), "&f;", next_msgid()).replace("<![CDATA[&f;]]>", "&f;")
        )
        response = await wechat.post(xxe)
        assert "root:" not in await response.text()
        # Unsigned, or signed with another token: refused before the body is read.
        unsigned = await wechat.post(text_xml(openid, "你好", next_msgid()), {"signature": "x"})
        assert unsigned.status == 403
        assert wechat.recorded(openid) == []
        # Readable but odd text: a polite answer; unreadable characters: the gateway's sentence.
        for text in ["😀😀😀", SCRIPT, SQL, '/complain{"phone":"13800000000"}']:
            reply = await wechat.answer(openid, text)
            assert HAN.search(reply) and not INTERNALS.search(reply), reply
        assert await wechat.say(openid, "我要投诉\u202e") == UNREADABLE
        assert await wechat.say(openid, " ") == wechat_texts.EMPTY
        assert await wechat.say(openid, "字" * 2001) == wechat_texts.TOO_LONG.format(limit=2000)
        stored = [m.text for m in wechat.recorded(openid) if m.direction == "in"]
        assert stored == ["😀😀😀", SCRIPT, SQL, '/complain{"phone":"13800000000"}']


# -- the enterprise API and its pages ---------------------------------------------------------


def _uscc() -> str:
    return make_uscc(700_000_000 + uuid.uuid4().int % 200_000_000)


def _register(web: str) -> str:
    body = {
        "name": "洛阳恒达机械有限公司",
        "uscc": _uscc(),
        "contact_name": "王建国",
        "phone": "13837901234",
    }
    response = requests.post(f"{web}/api/v1/enterprise/register", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["token"])


STORY = "洛龙区住建局拖欠我们工程款三十八万元，至今未付。"


def test_the_enterprise_api_refuses_bad_requests_with_json_errors(stack: RunningStack) -> None:
    web = stack.settings.web_url
    token = _register(web)
    auth = {"Authorization": f"Bearer {token}"}
    before = _counts(stack.engine)
    reports, register = f"{web}/api/v1/enterprise/reports", f"{web}/api/v1/enterprise/register"
    for url, headers in [(reports, auth), (register, {})]:
        for body, content_type, status in [
            (json.dumps({"description": STORY}).encode(), "text/plain", 415),
            (b"description=x", "application/x-www-form-urlencoded", 415),
            (b"", JSON, 400),
            (b"{'description': 1}", JSON, 400),
            (b"\xff", JSON, 400),
            (b'{"description": "' + b"a" * HUNDRED_KB + b'"}', JSON, 413),
        ]:
            response = requests.post(
                url, data=body, headers={**headers, "Content-Type": content_type}, timeout=30
            )
            _json_error(response, status)
    for name in ["😀😀😀😀", SCRIPT, SQL, "\x00\x1b", "\u202e\u202e\u202e\u202e"]:
        response = requests.post(
            register,
            json={"name": name, "uscc": _uscc(), "contact_name": name, "phone": "x"},
            timeout=30,
        )
        _json_error(response, 422)
    for bad in ["", "Bearer", "Bearer ", f"Bearer {token}x", f"Bearer {SQL}",
                "Bearer " + "a" * 8000, f"Basic {token}", f"bearer\t{token}"]:  # fmt: skip
        response = requests.get(reports, headers={"Authorization": bad}, timeout=30)
        _json_error(response, 401)
    for number in ["%00", SQL, "<script>", "x" * 5000, "LY20261129-0001%0d%0aX-Injected: 1"]:
        response = requests.get(f"{reports}/{number}", headers=auth, timeout=30)
        assert response.status_code in (404, 414), response.status_code
        _clean(response.text)
        assert "X-Injected" not in response.headers
    for query in ["limit=abc", "limit=-1", "limit=" + "9" * 40, "limit=²", "cursor=" + SQL,
                  "cursor=-1", "cursor=²", "cursor=" + "9" * 5000]:  # fmt: skip
        _json_error(requests.get(f"{reports}?{query}", headers=auth, timeout=30), 422)
    assert _counts(stack.engine) == before


def test_unreadable_characters_never_reach_a_ticket(stack: RunningStack) -> None:
    """Through the API a value is cleaned where every ticket value is (clean_free_text): the
    report is filed without them; one that is nothing but them is refused."""
    web = stack.settings.web_url
    auth = {"Authorization": f"Bearer {_register(web)}", "Content-Type": JSON}
    url = f"{web}/api/v1/enterprise/reports"
    raw = (
        '{"description": "\\u001b[31m洛龙区住建局\\u202e拖欠我们工程款\\ud800三十八万元\\u0000",'
        ' "respondent": "\\ud800\\u0007", "category": "arrears"}'
    )
    filed = requests.post(url, data=raw.encode(), headers=auth, timeout=60)
    assert filed.status_code == 201, filed.text
    _clean(filed.text)
    with stack.engine.connect() as conn:
        ticket = conn.execute(select(Ticket).where(Ticket.number == filed.json()["number"])).one()
    assert ticket.description == "[31m洛龙区住建局拖欠我们工程款三十八万元"
    assert ticket.organization != "\ud800\x07"
    before = _counts(stack.engine)
    only_junk = '{"description": "\\u0000\\u001b\\u202e\\ud800"}'
    refused = requests.post(url, data=only_junk.encode(), headers=auth, timeout=30)
    _json_error(refused, 422)
    assert _counts(stack.engine) == before


def test_the_enterprise_pages_answer_junk_with_a_chinese_page(stack: RunningStack) -> None:
    web = stack.settings.web_url
    browser = requests.Session()
    before = _counts(stack.engine)
    forged = browser.post(f"{web}/enterprise/register", data={"name": SCRIPT}, timeout=30)
    assert forged.status_code == 403 and HAN.search(forged.text)
    page = browser.get(f"{web}/enterprise/register", timeout=30)
    csrf = csrf_of(page.text)
    for form in [
        {"name": SCRIPT, "uscc": SQL, "contact_name": "\x1b[31m", "phone": "😀"},
        {"name": "", "uscc": "", "contact_name": "", "phone": ""},
    ]:
        answer = browser.post(
            f"{web}/enterprise/register", data={**form, "csrf_token": csrf}, timeout=30
        )
        assert answer.status_code == 422 and HAN.search(answer.text)
        _clean(answer.text)
        assert SCRIPT not in answer.text  # shown back escaped, never as markup
    big = browser.post(
        f"{web}/enterprise/register",
        data={"name": "a" * HUNDRED_KB, "csrf_token": csrf},
        timeout=30,
    )
    assert big.status_code == 413
    _clean(big.text)
    signin = browser.get(f"{web}/enterprise/report", timeout=30)
    for token in ["", SQL, "ent_" + "a" * 5000, "\x00"]:
        answer = browser.post(
            f"{web}/enterprise/signin",
            data={"token": token, "csrf_token": csrf_of(signin.text)},
            timeout=30,
            allow_redirects=False,
        )
        assert answer.status_code == 401 and HAN.search(answer.text)
        _clean(answer.text)
        signin = answer  # each refusal renders the form again with a fresh CSRF pair
    assert _counts(stack.engine) == before


# -- the operator console's sign-in -----------------------------------------------------------


def test_console_login_takes_junk_as_a_wrong_login(stack: RunningStack) -> None:
    web = stack.settings.web_url
    browser = requests.Session()
    with stack.engine.connect() as conn:
        audited = int(conn.execute(select(func.max(AuditEntry.id))).scalar() or 0)
    for username, password in [
        (SQL, SQL),
        (SCRIPT, "x"),
        ("admin\x00\x1b[2J\u202e", "\x00"),
        ("😀😀😀", "😀"),
        ("", ""),
    ]:
        page = browser.get(f"{web}/console/login", timeout=30)
        answer = browser.post(
            f"{web}/console/login",
            data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
            timeout=30,
            allow_redirects=False,
        )
        assert answer.status_code == 401 and HAN.search(answer.text), answer.status_code
        _clean(answer.text)
        assert SCRIPT not in answer.text
    page = browser.get(f"{web}/console/login", timeout=30)
    big = browser.post(
        f"{web}/console/login",
        data={"username": "a" * HUNDRED_KB, "csrf_token": csrf_of(page.text)},
        timeout=30,
    )
    assert big.status_code == 413 and HAN.search(big.text)
    forged = requests.post(f"{web}/console/login", data={"username": SQL}, timeout=30)
    assert forged.status_code == 403 and HAN.search(forged.text)
    with stack.engine.connect() as conn:
        details = list(
            conn.execute(select(AuditEntry.detail).where(AuditEntry.id > audited)).scalars()
        )
    assert details and not any(re.search(r"[\x00-\x08\x1b\u202e]", d) for d in details), details


def test_the_one_click_form_files_clean_text_or_refuses(stack: RunningStack) -> None:
    web = stack.settings.web_url
    token = _register(web)
    browser = requests.Session()
    signin = browser.get(f"{web}/enterprise/report", timeout=30)
    signed = browser.post(
        f"{web}/enterprise/signin",
        data={"token": token, "csrf_token": csrf_of(signin.text)},
        timeout=30,
    )
    assert signed.status_code == 200 and 'name="description"' in signed.text
    form_key = re.compile(r'name="form_key" value="([^"]+)"')

    def submit(page: str, **fields: str) -> requests.Response:
        data = {"csrf_token": csrf_of(page), "form_key": form_key.findall(page)[0], **fields}
        return browser.post(f"{web}/enterprise/report", data=data, timeout=60)

    before = _counts(stack.engine)
    for description in ["\x00\x1b\u202e", "😀😀😀"]:
        answer = submit(signed.text, description=description)
        assert answer.status_code == 422 and HAN.search(answer.text), answer.status_code
        _clean(answer.text)
    # Past 64 KB (the textarea stops a browser at 2,000 characters): the app's JSON 413.
    _json_error(submit(signed.text, description="a" * HUNDRED_KB), 413)
    forged = browser.post(
        f"{web}/enterprise/report", data={"description": STORY, "csrf_token": "0"}, timeout=30
    )
    assert forged.status_code == 403
    assert _counts(stack.engine) == before
    filed = submit(signed.text, description=f"{SCRIPT}\x1b[2J{STORY}\u202e", respondent=SQL)
    assert filed.status_code == 200 and "LY" in filed.text, filed.text[:300]
    assert SCRIPT not in filed.text
    with stack.engine.connect() as conn:
        ticket = conn.execute(select(Ticket).order_by(Ticket.id.desc()).limit(1)).one()
    assert ticket.description == f"{SCRIPT}[2J{STORY}"  # as typed, without the controls
    assert ticket.organization == SQL  # a name is text; the database never ran it
