"""An enterprise opening the chat from its page: not asked its profile, and 「一键报送」 files from
the facts said so far — through the real web service, Rasa and action server."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from bot.enterprises.registry import EnterpriseProfile, EnterpriseRegistry
from bot.privacy.keys import load_or_create_key
from bot.store.db import make_session_factory
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


def _verified(registry: EnterpriseRegistry, **values: str) -> tuple[EnterpriseProfile, str]:
    """A registered account an operator has verified: only such an account speaks for its
    company in the chat."""
    profile, token = registry.register(**values)
    verified = registry.verify(profile.id, "电话核实", by="op")
    assert verified is not None
    return verified, token


def test_an_enterprise_from_its_page_files_with_one_click(stack: RunningStack) -> None:
    registry = _registry(stack)
    profile, _token = _verified(
        registry,
        name="洛阳恒信精密机械有限公司",
        uscc=_uscc(uuid.uuid4().int),
        contact_name="周建华",
        phone="13838001234",
    )
    code = registry.issue_chat_link(profile.id)
    browser = requests.Session()
    link = f"{stack.settings.web_url}/enterprise/chat"
    # Opening the link (a GET, which nginx may repeat) only asks, naming the enterprise.
    for _ in range(2):
        asked = browser.get(link, params={"code": code}, timeout=30)
        assert asked.status_code == 200 and profile.name in asked.text
        assert 'id="chat-confirm-form"' in asked.text and "/api/chat" not in asked.text
    forged = browser.post(link, data={"code": code, "csrf_token": "0" * 64}, timeout=30)
    assert forged.status_code == 403
    opened = browser.post(link, data={"code": code, "csrf_token": _csrf(asked.text)}, timeout=30)
    assert opened.status_code == 200 and "12345" in opened.text  # redirected to the chat page
    assert opened.url.rstrip("/") == stack.settings.web_url

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
    # The link is single use: neither asked again nor redeemed again.
    again = browser.get(link, params={"code": code}, timeout=30)
    assert again.status_code == 400 and "失效" in again.text
    twice = browser.post(link, data={"code": code, "csrf_token": _csrf(asked.text)}, timeout=30)
    assert twice.status_code == 400 and "失效" in twice.text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def _tickets_of_all(stack: RunningStack) -> list:
    from sqlalchemy import select

    from bot.store.models import Ticket

    with make_session_factory(stack.engine)() as session:
        return list(session.scalars(select(Ticket)))


def test_a_forged_or_expired_link_is_refused(stack: RunningStack) -> None:
    link = f"{stack.settings.web_url}/enterprise/chat"
    browser = requests.Session()
    reply = browser.get(link, params={"code": "forged"}, timeout=30)
    assert reply.status_code == 400 and "失效" in reply.text
    registry = _registry(stack)
    profile, _token = _verified(
        registry,
        name="洛阳恒信精密机械有限公司",
        uscc=_uscc(uuid.uuid4().int),
        contact_name="周建华",
        phone="13838001234",
    )
    asked = browser.get(link, params={"code": registry.issue_chat_link(profile.id)}, timeout=30)
    posted = browser.post(
        link, data={"code": "forged", "csrf_token": _csrf(asked.text)}, timeout=30
    )
    assert posted.status_code == 400 and "失效" in posted.text


def test_the_enterprise_page_opens_the_chat_with_its_profile(stack: RunningStack) -> None:
    registry = _registry(stack)
    profile, token = _verified(
        registry,
        name="洛阳鼎盛建材有限公司",
        uscc=_uscc(uuid.uuid4().int),
        contact_name="孙丽",
        phone="13838005678",
    )
    web = stack.settings.web_url
    browser = requests.Session()

    signin = browser.get(f"{web}/enterprise/report", timeout=30)
    browser.post(
        f"{web}/enterprise/signin",
        data={"token": token, "csrf_token": _csrf(signin.text)},
        timeout=30,
    )
    page = browser.get(f"{web}/enterprise/report", timeout=30)
    assert "在对话中反映" in page.text
    forged = browser.post(f"{web}/enterprise/chat-link", data={"csrf_token": "0"}, timeout=30)
    assert forged.status_code == 403
    asked = browser.post(
        f"{web}/enterprise/chat-link", data={"csrf_token": _csrf(page.text)}, timeout=30
    )
    assert asked.status_code == 200 and profile.name in asked.text  # the page that asks
    opened = browser.post(
        f"{web}/enterprise/chat",
        data={
            "code": re.search(r'name="code" value="([^"]+)"', asked.text).group(1),  # type: ignore[union-attr]
            "csrf_token": _csrf(asked.text),
        },
        timeout=30,
    )
    assert opened.status_code == 200 and opened.url.rstrip("/") == web  # on the chat page
    reply = browser.post(f"{web}/api/chat", json={"message": "我要投诉"}, timeout=60)
    story = "西工区某局说好年内兑现的稳岗补贴三万块，到现在没给，打电话一直推"
    reply = browser.post(f"{web}/api/chat", json={"message": story}, timeout=60)
    texts = "\n".join(m["text"] for m in reply.json()["messages"])
    assert "一键报送" in texts and profile.name in texts
