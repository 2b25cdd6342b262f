"""An enterprise opening the chat from its page: not asked its profile, and 「一键报送」 files from
the facts said so far — through the real web service, Rasa and action server."""

from __future__ import annotations

import uuid

import pytest
import requests

from bot.tickets.db import make_session_factory
from bot.tickets.enterprises import EnterpriseRegistry
from bot.tickets.secret_keys import load_or_create_key
from tests.conftest import RunningStack
from tests.test_conversation import TICKET_RE

pytestmark = pytest.mark.stack


def _uscc(seed: int) -> str:
    """A valid 统一社会信用代码 (GB 32100 check character) of this test's own."""
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    body = "91410300" + f"MA{seed % 10**7:07d}"[:9]
    total = sum(chars.index(c) * w for c, w in zip(body, weights, strict=True))
    return body + chars[(31 - total % 31) % 31]


def _registry(stack: RunningStack) -> EnterpriseRegistry:
    key = load_or_create_key(stack.settings.var_dir, stack.settings.enterprise_key)
    return EnterpriseRegistry(make_session_factory(stack.engine), key)


def test_an_enterprise_from_its_page_files_with_one_click(stack: RunningStack) -> None:
    registry = _registry(stack)
    profile, _token = registry.register(
        name="洛阳恒信精密机械有限公司",
        uscc=_uscc(uuid.uuid4().int),
        contact_name="周建华",
        phone="13838001234",
    )
    code = registry.issue_chat_link(profile.id)
    browser = requests.Session()
    opened = browser.get(
        f"{stack.settings.web_url}/enterprise/chat", params={"code": code}, timeout=30
    )
    assert opened.status_code == 200 and "12345" in opened.text  # redirected to the chat page

    def say(text: str) -> str:
        reply = browser.post(
            f"{stack.settings.web_url}/api/chat", json={"message": text}, timeout=60
        )
        assert reply.status_code == 200, reply.text
        return "\n".join(m["text"] for m in reply.json()["messages"])

    say("我要投诉")
    offered = say("洛龙区某街道办事处去年答应给我们的技改补贴二十万到现在没兑现")
    assert "一键报送" in offered and "洛阳恒信精密机械有限公司" in offered
    filed = say("一键报送")
    assert TICKET_RE.search(filed), filed
    assert "个人身份" not in filed and "怎么称呼" not in filed and "联系电话" not in filed
    tickets = [t for t in _tickets_of_all(stack) if t.uscc == profile.uscc]
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket.caller_type == "enterprise" and ticket.enterprise_name == profile.name
    assert ticket.phone == "13838001234" and ticket.caller_name == "周建华"
    assert ticket.amount == 200000
    # The link is single use.
    again = browser.get(
        f"{stack.settings.web_url}/enterprise/chat", params={"code": code}, timeout=30
    )
    assert again.status_code == 400 and "失效" in again.text


def _tickets_of_all(stack: RunningStack) -> list:
    from sqlalchemy import select

    from bot.tickets.models import Ticket

    with make_session_factory(stack.engine)() as session:
        return list(session.scalars(select(Ticket)))


def test_a_forged_or_expired_link_is_refused(stack: RunningStack) -> None:
    reply = requests.get(
        f"{stack.settings.web_url}/enterprise/chat", params={"code": "forged"}, timeout=30
    )
    assert reply.status_code == 400 and "失效" in reply.text


def test_the_enterprise_page_opens_the_chat_with_its_profile(stack: RunningStack) -> None:
    import re

    registry = _registry(stack)
    profile, token = registry.register(
        name="洛阳鼎盛建材有限公司",
        uscc=_uscc(uuid.uuid4().int),
        contact_name="孙丽",
        phone="13838005678",
    )
    web = stack.settings.web_url
    browser = requests.Session()

    def csrf(html: str) -> str:
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
        assert found, html
        return found.group(1)

    signin = browser.get(f"{web}/enterprise/report", timeout=30)
    browser.post(
        f"{web}/enterprise/signin",
        data={"token": token, "csrf_token": csrf(signin.text)},
        timeout=30,
    )
    page = browser.get(f"{web}/enterprise/report", timeout=30)
    assert "在对话中反映" in page.text
    forged = browser.post(f"{web}/enterprise/chat-link", data={"csrf_token": "0"}, timeout=30)
    assert forged.status_code == 403
    opened = browser.post(
        f"{web}/enterprise/chat-link", data={"csrf_token": csrf(page.text)}, timeout=30
    )
    assert opened.status_code == 200 and opened.url.rstrip("/") == web  # on the chat page
    reply = browser.post(f"{web}/api/chat", json={"message": "我要投诉"}, timeout=60)
    story = "西工区某局说好年内兑现的稳岗补贴三万块，到现在没给，打电话一直推"
    reply = browser.post(f"{web}/api/chat", json={"message": story}, timeout=60)
    texts = "\n".join(m["text"] for m in reply.json()["messages"])
    assert "一键报送" in texts and profile.name in texts
