"""The retraining loop in a real browser (headless Chromium) against the web service process:
an operator sees the intent beside a person's message on the ticket page, marks the right one
with an entity, finds it among the corrections, downloads the export, and follows the 待复核
flags to a conversation; a department handler is not shown the review at all."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from bot.conversations.record import ConversationStore, Understanding
from bot.review import flags as review_flags
from bot.store.models import Conversation
from bot.tickets import queue
from bot.web.gateway import Reply
from tests.browser_support import page_wait
from tests.console_support import draft
from tests.test_console_browser import _sign_in, console  # noqa: F401  (the web process fixture)
from tests.test_web import _screenshot, browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = pytest.mark.browser

STORY = "锦程物业把小区消防通道锁了半年，电话13812345678"


def _seed(world) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """A filed complaint the NLU got wrong, a conversation that ended in two fallbacks, one left
    in the form, and the model's second opinion on a ticket — as the gateway and 重新检查 leave
    them (this page needs no Rasa)."""
    store = ConversationStore(world.sessions)

    def say(key: str, *turns: tuple[str, str, float]) -> Conversation:
        conversation = store.current("web", key)
        for text, intent, confidence in turns:
            inbound = store.record_inbound(conversation.id, text, None)
            store.record_replies(conversation.id, inbound.message_id, [Reply("好的")])
            store.record_understanding(inbound.message_id, Understanding(intent, confidence, []))
        return conversation

    filed = say("b-filed", (STORY, "complain_unfair_market", 0.38))
    number = world.service.file(
        draft(sender_id=filed.rasa_sender_id, description=STORY, category="unfair_market")
    ).number
    lost = say("b-lost", ("那个", "nlu_fallback", 0.2), ("xyz", "nlu_fallback", 0.2))
    left = say("b-left", ("我要投诉", "complain", 0.97))
    now = dt.datetime.now(dt.UTC)
    with world.sessions.begin() as session:
        session.execute(
            update(Conversation)
            .where(Conversation.id.in_([lost.id, left.id]))
            .values(last_active_at=now - dt.timedelta(hours=2))
        )
    for last_message, sender in review_flags.forms_to_check(world.sessions, now):
        form = "complaint_form" if sender == left.rasa_sender_id else None
        review_flags.record_form(world.sessions, last_message, form)
    ticket = queue.by_number(world.sessions, number)
    assert ticket is not None
    review_flags.record_check(
        world.sessions,
        ticket.id,
        "hotline-test.tar.gz",
        "complain_livelihood",
        0.8,
        "livelihood",
        now,
    )
    return number, lost.id


def test_an_operator_marks_exports_and_follows_the_flags(console, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, world, _ = console
    number, lost_id = _seed(world)
    wait = page_wait(browser, 30)
    browser.set_window_size(1400, 1000)
    _sign_in(browser, base, "op")
    wait.until(lambda d: d.find_elements(By.ID, "queue"))
    browser.get(f"{base}/console/tickets/{number}")
    wait.until(lambda d: d.find_elements(By.ID, "transcript-messages"))
    row = browser.find_element(By.CSS_SELECTOR, "#transcript-messages tr")
    assert "损害公平竞争（complain_unfair_market）" in row.text and "0.38" in row.text
    assert "138****5678" in row.text
    browser.execute_script("document.getElementById('transcript').scrollIntoView()")
    _screenshot(browser, "review-ticket-transcript")
    row.find_element(By.CSS_SELECTOR, "a.mark").click()
    wait.until(lambda d: d.find_elements(By.ID, "correction"))
    assert "138****5678" in browser.find_element(By.ID, "message-text").text
    Select(browser.find_element(By.ID, "intent")).select_by_value("complain_livelihood")
    Select(browser.find_element(By.ID, "entity_0")).select_by_visible_text("organization")
    browser.find_element(By.ID, "span_0").send_keys("锦程物业")
    browser.find_element(By.ID, "save-correction").click()
    wait.until(lambda d: "已记录" in d.find_element(By.ID, "notice").text)
    assert (
        "complain_livelihood，organization：锦程物业"
        in browser.find_element(By.ID, "existing").text
    )
    browser.find_element(By.LINK_TEXT, "意图纠正").click()
    wait.until(lambda d: d.find_elements(By.ID, "corrections"))
    listed = browser.find_element(By.CSS_SELECTOR, "#corrections tbody tr").text
    assert "民生诉求（complain_livelihood）" in listed and "organization：锦程物业" in listed
    assert "可导出" in listed
    _screenshot(browser, "review-corrections")
    # The download, fetched by the page itself (same session cookie).
    exported = browser.execute_async_script(
        "const done = arguments[0];"
        "fetch('/console/review/corrections.yml').then(r => r.text()).then(done);"
    )
    assert "- intent: complain_livelihood" in exported
    assert "[锦程物业](organization)" in exported and "13812345678" not in exported
    browser.find_element(By.LINK_TEXT, "待复核").click()
    wait.until(lambda d: d.find_elements(By.ID, "flag-fallback"))
    assert browser.find_element(By.ID, "count-fallback").text == "1"
    assert browser.find_element(By.ID, "count-gave-up").text == "1"
    assert browser.find_element(By.ID, "count-category").text == "1"
    assert number in browser.find_element(By.ID, "flag-category").text
    _screenshot(browser, "review-flags")
    browser.find_element(By.CSS_SELECTOR, f'#flag-fallback a[href$="/{lost_id}"]').click()
    wait.until(lambda d: d.find_elements(By.ID, "transcript-messages"))
    assert browser.find_element(By.TAG_NAME, "h1").text == f"对话 {lost_id}"
    assert browser.page_source.count("未能理解（nlu_fallback）") == 2
    errors = [
        e
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and "favicon" not in e["message"]
    ]
    assert not errors, errors
    browser.find_element(By.ID, "logout").click()
    wait.until(lambda d: d.find_elements(By.ID, "login"))
    _sign_in(browser, base, "dept")
    wait.until(lambda d: d.find_elements(By.ID, "queue"))
    assert "待复核" not in browser.find_element(By.TAG_NAME, "nav").text
    browser.get(f"{base}/console/review")
    wait.until(lambda d: "无权访问" in d.page_source)
