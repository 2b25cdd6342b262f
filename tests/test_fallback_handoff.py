"""Two messages in a row the bot does not understand put the conversation in the operator queue,
exactly as 「转人工」 does — over the real stack (web service → Rasa → action server → ticket
database → console) — and the person is told their place and when a human will be there.
In a browser: the person's chat and the operator's console open at once, the operator takes
the conversation over, sees the person's next message arrive without reloading, answers, and
gives it back."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import requests
from sqlalchemy import select

from actions.handoff import queued_reply
from bot.accounts.users import Accounts
from bot.config import PROJECT_ROOT
from bot.domain.office_hours import load_office_hours
from bot.store.db import make_session_factory
from bot.store.models import Handoff
from tests.browser_support import page_wait
from tests.conftest import RunningStack
from tests.console_support import PASSWORD, csrf_of
from tests.gateway_support import conversations_of
from tests.test_web import browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = pytest.mark.stack

# Nothing the model was trained on: both end as nlu_fallback (checked below through Rasa).
NONSENSE = ("这个那个的", "土豆土豆")
QUEUED = re.compile(r"已为您转人工，您前面还有 (\d+) 位")


def chat(session: requests.Session, stack: RunningStack, text: str) -> list[str]:
    response = session.post(
        f"{stack.settings.web_url}/api/chat", json={"message": text}, timeout=60
    )
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"]]


def when_told(texts: list[str], moment: dt.datetime) -> str:
    """What the office hours say at that moment (the text the action chose must carry it)."""
    found = QUEUED.search(" ".join(texts))
    assert found, texts
    response, values = queued_reply(int(found.group(1)), moment)
    return values.get("opens", "") if response.endswith("after_hours") else "人工客服接入后"


def operator(stack: RunningStack, name: str) -> requests.Session:
    """An operator account in the stack's database, signed in to its console."""
    accounts = Accounts(make_session_factory(stack.engine))
    if not any(a.username == name for a in accounts.all()):
        accounts.add(name, PASSWORD, "operator")
    session = requests.Session()
    login = session.get(f"{stack.settings.web_url}/console/login", timeout=10)
    signed = session.post(
        f"{stack.settings.web_url}/console/login",
        data={"username": name, "password": PASSWORD, "csrf_token": csrf_of(login.text)},
        timeout=10,
    )
    assert signed.status_code == 200 and "退出" in signed.text, signed.text[:500]
    return session


def handoff_of(stack: RunningStack, sender_key: str) -> Handoff:
    [conversation] = conversations_of(stack.engine, sender_key)
    with make_session_factory(stack.engine)() as session:
        return session.scalars(
            select(Handoff).where(Handoff.sender_id == conversation.rasa_sender_id)
        ).one()


def test_two_misunderstood_messages_in_a_row_queue_the_conversation(stack: RunningStack) -> None:
    for text in NONSENSE:
        parsed = requests.post(
            f"{stack.settings.rasa_url}/model/parse",
            params={"token": stack.settings.rasa_token},
            json={"text": text},
            timeout=30,
        ).json()
        assert parsed["intent"]["name"] == "nlu_fallback", parsed["intent"]
    person = requests.Session()
    first = chat(person, stack, NONSENSE[0])
    assert not QUEUED.search(" ".join(first)), first  # once is a question back, not a handoff
    before = dt.datetime.now(dt.UTC)
    second = chat(person, stack, NONSENSE[1])
    after = dt.datetime.now(dt.UTC)
    assert "抱歉，我连续两次没能听懂您的意思，已为您转接人工客服。" in second, second
    assert any(when_told(second, moment) in " ".join(second) for moment in (before, after))
    handoff = handoff_of(stack, person.cookies["hotline_sid"])
    assert handoff.status == "waiting"
    assert handoff.reason == f"连续2次未能理解：{NONSENSE[0]} / {NONSENSE[1]}"
    # The operator sees it in the 转人工 queue, with the transcript behind it.
    console = operator(stack, "op-fallback")
    queue = console.get(f"{stack.settings.web_url}/console/handoffs", timeout=10).text
    assert f"/console/handoffs/{handoff.id}" in queue and "连续2次未能理解" in queue
    feed = console.get(
        f"{stack.settings.web_url}/console/handoffs/{handoff.id}/messages", timeout=10
    ).json()
    said = [m["text"] for m in feed["messages"] if m["who"] == "来电人"]
    assert said == list(NONSENSE) and feed["holder"] == "bot"


def test_asking_for_a_human_says_when_one_will_be_there(stack: RunningStack) -> None:
    person = requests.Session()
    before = dt.datetime.now(dt.UTC)
    texts = chat(person, stack, "转人工")
    after = dt.datetime.now(dt.UTC)
    joined = " ".join(texts)
    assert any(when_told(texts, moment) in joined for moment in (before, after)), texts
    if not load_office_hours().is_open(after):
        assert "工作日 8:30–12:00、14:30–18:00" in joined and "12345" in joined
    assert handoff_of(stack, person.cookies["hotline_sid"]).reason == "转人工"


@pytest.mark.browser
def test_the_person_and_the_operator_in_two_windows(stack: RunningStack, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from selenium.webdriver.common.by import By

    wait = page_wait(browser, 60)
    shots = PROJECT_ROOT / "var" / "screenshots"  # kept after the run (pytest's tmp dirs rotate)
    shots.mkdir(parents=True, exist_ok=True)
    base = stack.settings.web_url

    def bot_texts() -> list[str]:
        return [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".msg.bot")]

    def say(text: str) -> None:
        before = len(browser.find_elements(By.CSS_SELECTOR, ".msg.user"))
        browser.find_element(By.ID, "input").send_keys(text)
        browser.find_element(By.ID, "send").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.user")) > before)

    # The person, on a phone-sized page: two messages the bot cannot place.
    browser.set_window_size(420, 900)
    browser.get(f"{base}/")
    person = browser.current_window_handle
    say(NONSENSE[0])
    wait.until(lambda d: len(bot_texts()) >= 2)  # the welcome and the first answer
    say(NONSENSE[1])
    wait.until(lambda d: any(QUEUED.search(t) for t in bot_texts()))
    assert any("连续两次没能听懂" in t for t in bot_texts())
    handoff = handoff_of(stack, browser.get_cookie("hotline_sid")["value"])

    # The operator, in a second window open at the same time.
    operator(stack, "op-browser")  # the account; the browser signs in itself
    browser.switch_to.new_window("window")
    console = browser.current_window_handle
    browser.set_window_size(1300, 900)
    browser.get(f"{base}/console/login")
    browser.find_element(By.ID, "username").send_keys("op-browser")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait.until(lambda d: d.find_elements(By.ID, "whoami"))
    browser.get(f"{base}/console/handoffs")
    assert "连续2次未能理解" in browser.find_element(By.ID, "handoffs").text
    browser.find_element(By.CSS_SELECTOR, f"a[href='/console/handoffs/{handoff.id}']").click()
    browser.find_element(By.ID, "take").click()
    wait.until(lambda d: d.find_element(By.ID, "holder").text == "人工接管中")

    # The person writes; the bot keeps quiet and the operator's page shows it without a reload.
    browser.switch_to.window(person)
    answers = len(bot_texts())
    say("你好，有人吗？我电话13812345678")
    browser.switch_to.window(console)
    live = wait.until(
        lambda d: [
            e.text
            for e in d.find_elements(By.CSS_SELECTOR, "#transcript-messages tr.live")
            if "你好，有人吗" in e.text
        ]
    )
    assert "138****5678" in live[0] and "13812345678" not in live[0]  # masked here too
    browser.save_screenshot(str(shots / "handoff-console.png"))
    browser.find_element(By.ID, "operator-text").send_keys("您好，我是12345话务员小李，请讲。")
    browser.find_element(By.ID, "send").click()
    wait.until(lambda d: "已发送" in d.find_element(By.ID, "notice").text)

    # The operator's words reach the person's open page.
    browser.switch_to.window(person)
    wait.until(lambda d: any("话务员小李" in t for t in bot_texts()))
    assert len([t for t in bot_texts() if "话务员小李" not in t]) == answers  # the bot said nothing
    browser.save_screenshot(str(shots / "handoff-person.png"))

    browser.switch_to.window(console)
    browser.find_element(By.ID, "release").click()
    wait.until(lambda d: d.find_element(By.ID, "holder").text == "智能助手")
    errors = [
        e
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and "favicon" not in e["message"]
    ]
    assert not errors, errors
    print(f"\nhandoff screenshots: {shots}/handoff-*.png")
