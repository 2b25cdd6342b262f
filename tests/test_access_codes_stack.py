"""The access code (提取码) through the real web service, Rasa, action server and database: the
person sees it once, in the filing reply; the gateway's record, the chat's history, Rasa's tracker
(its store and its HTTP API), the console's screens and every log file keep it masked — also the
codes people type to look a ticket up, with the number or alone when the bot asks."""

from __future__ import annotations

import json
import re
import sqlite3
import time

import pytest
import requests
from sqlalchemy import select

from bot.accounts.users import Accounts
from bot.domain.tickets import MASKED_CODE
from bot.store.db import make_session_factory
from bot.store.models import Conversation, ConversationMessage, Ticket
from tests.conftest import RunningStack
from tests.console_support import PASSWORD
from tests.test_gateway import _file_through_http, _history, _person, _say

pytestmark = pytest.mark.stack

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _shows(code: str, text: str, number: str) -> bool:
    """The code standing alone in `text` (not as digits of the ticket number or a phone)."""
    return re.search(rf"(?<!\d){code}(?!\d)", text.replace(number, " ")) is not None


def _texts(messages: list[dict]) -> str:
    return " ".join(m["text"] for m in messages)


def _console(stack: RunningStack, username: str, role: str) -> tuple[requests.Session, str]:
    """A signed-in console session over HTTP, and its CSRF token."""
    accounts = Accounts(make_session_factory(stack.engine))
    if all(a.username != username for a in accounts.all()):
        accounts.add(username, PASSWORD, role)
    browser = requests.Session()
    login = f"{stack.settings.web_url}/console/login"
    found = _CSRF.search(browser.get(login, timeout=30).text)
    assert found
    signed = browser.post(
        login,
        data={"username": username, "password": PASSWORD, "csrf_token": found.group(1)},
        timeout=30,
    )
    assert signed.status_code == 200 and "退出" in signed.text, signed.text[:500]
    token = _CSRF.search(signed.text)
    assert token
    return browser, token.group(1)


def test_the_code_is_shown_once_and_kept_masked_everywhere(stack: RunningStack) -> None:
    person, _ = _person(stack)
    card = _file_through_http(stack, person)
    number, code = card["number"], card["access_code"]  # the one time it is shown
    assert re.fullmatch(r"\d{6}", code)
    # Looked up from other conversations: the code typed with the number, and alone when asked.
    with_number, _ = _person(stack)
    assert f"工单 {number} 的情况" in _texts(_say(stack, with_number, f"查询工单 {number} {code}"))
    asked, _ = _person(stack)
    assert "工单号" in _texts(_say(stack, asked, "查询工单"))
    assert "提取码" in _texts(_say(stack, asked, number))
    assert f"工单 {number} 的情况" in _texts(_say(stack, asked, code))
    time.sleep(1)  # the NLU results recorded after the replies (bot/web/gateway.py)

    # The chat's history after a reload: the filing reply and its card, masked.
    history = _history(stack, person)
    filed = next(m for m in history if m.get("card"))
    assert filed["card"] == {"number": number, "access_code": MASKED_CODE}
    assert not _shows(code, json.dumps(history, ensure_ascii=False), number)

    # The gateway's record: texts, cards, NLU entities.
    with stack.engine.connect() as conn:
        rows = conn.execute(
            select(ConversationMessage.text, ConversationMessage.card, ConversationMessage.entities)
        ).all()
        senders = conn.execute(select(Conversation.rasa_sender_id)).scalars().all()
        sender = conn.execute(select(Ticket.sender_id).where(Ticket.number == number)).scalar_one()
    assert not _shows(code, json.dumps([tuple(r) for r in rows], ensure_ascii=False), number)
    assert any(f"提取码 {MASKED_CODE}" in (r.text or "") for r in rows)

    # Rasa's tracker: over its HTTP API (with its token), and as stored.
    for rasa_sender in senders:
        tracker = requests.get(
            f"{stack.settings.rasa_url}/conversations/{rasa_sender}/tracker",
            params=stack.settings.rasa_auth,
            timeout=30,
        )
        assert tracker.status_code == 200
        assert not _shows(code, json.dumps(tracker.json(), ensure_ascii=False), number)
    with sqlite3.connect(stack.settings.tracker_db) as store:
        events = [row[0] for row in store.execute("SELECT data FROM events")]
    stored = "\n".join(json.loads(e).get("text") or "" for e in events) + "\n".join(events)
    assert f"{number}" in stored and not _shows(code, stored, number)

    # The console: the ticket page and its reveal (audited, full personal data) alike.
    operator, token = _console(stack, "codes-op", "operator")
    page = operator.get(f"{stack.settings.web_url}/console/tickets/{number}", timeout=30)
    assert page.status_code == 200 and sender and "对话记录" in page.text
    assert f"提取码 {MASKED_CODE}" in page.text and not _shows(code, page.text, number)
    revealed = operator.post(
        f"{stack.settings.web_url}/console/tickets/{number}/reveal",
        data={"csrf_token": token},
        timeout=30,
    )
    assert revealed.status_code == 200 and not _shows(code, revealed.text, number)

    # Every log file of the three processes.
    time.sleep(1)  # the last lines through the log copiers
    for log in sorted((stack.settings.var_dir / "logs").glob("*.log")):
        text = log.read_text(encoding="utf-8", errors="replace")
        assert not _shows(code, text, number), log.name
