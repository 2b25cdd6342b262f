"""The web chat gateway: bad input gets a clear Chinese answer, Rasa down is said politely,
and a person in a real (headless Chromium) browser can chat."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.config import PROJECT_ROOT
from bot.store.migrate import upgrade
from tests.conftest import RunningStack, free_port, require

pytestmark = pytest.mark.stack


def _post(stack: RunningStack, data: bytes | str, **headers: str) -> requests.Response:
    return requests.post(
        f"{stack.settings.web_url}/api/chat",
        data=data.encode() if isinstance(data, str) else data,
        headers={"Content-Type": "application/json", **headers},
        timeout=60,
    )


def test_chat_api_relays_to_rasa_and_keeps_the_conversation(stack: RunningStack) -> None:
    session = requests.Session()
    page = session.get(f"{stack.settings.web_url}/", timeout=10)
    assert page.status_code == 200 and "12345" in page.text
    assert "hotline_sid" in session.cookies
    first = session.post(
        f"{stack.settings.web_url}/api/chat", json={"message": "我要投诉"}, timeout=60
    )
    assert first.status_code == 200
    assert "描述" in first.json()["messages"][0]["text"]
    # Same cookie → same conversation: the form goes on to the next question.
    second = session.post(
        f"{stack.settings.web_url}/api/chat",
        json={"message": "路边的下水道井盖丢了一个，晚上很危险"},
        timeout=60,
    )
    assert "单位" in second.json()["messages"][0]["text"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ("{not json", 400, "格式"),
        ('"just a string"', 400, "请输入"),
        ('{"message": ""}', 400, "请输入"),
        ('{"message": "   "}', 400, "请输入"),
        ('{"message": 42}', 400, "请输入"),
        ('{"message": "' + "投" * 2001 + '"}', 413, "2000"),
    ],
)
def test_bad_input_gets_a_clear_answer(
    stack: RunningStack, body: str, status: int, words: str
) -> None:
    response = _post(stack, body)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert "Traceback" not in response.text


def test_oversized_body_is_refused_without_a_trace(stack: RunningStack) -> None:
    response = _post(stack, b'{"message": "' + b"a" * 200_000 + b'"}')
    assert response.status_code == 413
    assert "太长" in response.json()["error"]


@pytest.mark.parametrize(
    "message",
    ["😀😀😀 你好", "我要投訴，謝謝", "'; DROP TABLE tickets; --", "<script>alert(1)</script>"],
)
def test_odd_input_is_answered(stack: RunningStack, message: str) -> None:
    response = requests.post(
        f"{stack.settings.web_url}/api/chat", json={"message": message}, timeout=60
    )
    assert response.status_code == 200
    assert response.json()["messages"], "the bot always says something"


def test_rasa_down_is_said_politely(stack: RunningStack, tmp_path: Path) -> None:
    nobody_there = f"http://127.0.0.1:{free_port()}"
    env_port = free_port()
    database_url = f"sqlite:///{tmp_path / 'tickets.db'}"
    upgrade(database_url)  # the gateway records the message even when Rasa is down
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.web"],
        env={
            **os.environ,
            "HOTLINE_RASA_URL": nobody_there,
            "HOTLINE_WEB_PORT": str(env_port),
            "HOTLINE_VAR_DIR": str(tmp_path),
            "HOTLINE_DATABASE_URL": database_url,
        },
        cwd=PROJECT_ROOT,
    )
    try:
        _wait_http(f"http://127.0.0.1:{env_port}/healthz")
        response = requests.post(
            f"http://127.0.0.1:{env_port}/api/chat", json={"message": "你好"}, timeout=30
        )
        assert response.status_code == 503
        assert "12345" in response.json()["error"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    require(
        bool(chromium and driver_path),
        "Debian's chromium and chromium-driver are needed for browser tests: `make test` installs "
        "them when run as root with apt-get, or run: sudo apt-get install -y chromium chromium-driver",
    )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.browser
def test_a_person_can_chat_in_the_browser(stack: RunningStack, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{stack.settings.web_url}/")
    assert "12345" in browser.title
    box = browser.find_element(By.ID, "input")
    box.send_keys("我要投诉")
    browser.find_element(By.ID, "send").click()
    wait = WebDriverWait(browser, 60)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.bot")) >= 2)
    assert "描述" in browser.find_elements(By.CSS_SELECTOR, ".msg.bot")[-1].text
    # Text is shown as text, never as HTML.
    box.send_keys("<b>路灯</b>坏了好久了，晚上走路看不见")
    browser.find_element(By.ID, "send").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.bot")) >= 3)
    users = browser.find_elements(By.CSS_SELECTOR, ".msg.user")
    assert users[-1].text == "<b>路灯</b>坏了好久了，晚上走路看不见"
    assert not browser.find_elements(By.CSS_SELECTOR, ".msg.user b")
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".msg.bot:last-child")))
    browser.save_screenshot(str(stack.settings.var_dir / "chat.png"))


def _screenshot(browser, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = PROJECT_ROOT / "var" / "screenshots"  # kept after the run (pytest's tmp dirs rotate)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    browser.save_screenshot(str(path))
    print(f"screenshot: {path}")


@pytest.mark.browser
def test_a_person_files_reloads_and_is_told_the_answer(stack: RunningStack, browser) -> None:  # type: ignore[no-untyped-def]
    """End to end on a phone-sized page: the quick-start button, the whole form, the ticket card,
    the history after a reload, and the department's answer pushed without sending anything."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.gateway_support import ANSWER, answer_ticket
    from tests.test_conversation import QUESTIONS

    browser.set_window_size(390, 844)
    browser.get(f"{stack.settings.web_url}/")
    wait = WebDriverWait(browser, 60)

    def bots() -> list:  # type: ignore[type-arg]
        return list(browser.find_elements(By.CSS_SELECTOR, ".msg.bot"))

    def answered(before: int) -> None:
        wait.until(
            lambda d: len(bots()) > before and not d.find_element(By.ID, "typing").is_displayed()
        )

    def say(text: str) -> None:
        before = len(bots())
        browser.find_element(By.ID, "input").send_keys(text)
        browser.find_element(By.ID, "send").click()
        answered(before)

    before = len(bots())
    browser.find_element(By.CSS_SELECTOR, "button.quick-btn[data-message='我要投诉']").click()
    answered(before)
    assert browser.find_elements(By.CSS_SELECTOR, ".msg.user")[-1].text == "我要投诉"
    say("我们小区南门那段路挖开三个月了，一直没人管，下雨全是泥。")
    phone = "137" + str(time.time_ns())[-8:]

    def latest_turn() -> str:
        texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#log .msg")]
        classes = [
            e.get_attribute("class") for e in browser.find_elements(By.CSS_SELECTOR, "#log .msg")
        ]
        last_user = max(i for i, c in enumerate(classes) if "user" in c.split())
        return " ".join(texts[last_user + 1 :])

    def confirm_button() -> object | None:
        buttons = bots()[-1].find_elements(By.CSS_SELECTOR, ".buttons button")
        return next((b for b in buttons if b.text == "确认提交"), None)

    for _ in range(12):
        if confirm_button() is not None:
            break
        text = latest_turn()
        question = next(q for q in QUESTIONS if q in text)
        say(QUESTIONS[question] or phone)
    confirm = confirm_button()
    assert confirm is not None, latest_turn()
    before = len(bots())
    confirm.click()
    answered(before)
    assert browser.find_elements(By.CSS_SELECTOR, ".msg.user")[-1].text == "确认提交"
    number = browser.find_element(By.CSS_SELECTOR, ".card .card-number").text
    code = browser.find_element(By.CSS_SELECTOR, ".card .card-code").text
    assert number.startswith("LY") and code.isdigit()
    assert browser.find_element(By.CSS_SELECTOR, ".card button.copy").is_displayed()
    # Nothing wider than the phone's screen.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    _screenshot(browser, "filed")
    users = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".msg.user")]

    browser.refresh()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".card .card-number"))
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".msg.user")] == users
    assert browser.find_element(By.CSS_SELECTOR, ".card .card-number").text == number
    # The code was shown once: the history keeps it masked and the card says so.
    assert "只显示一次" in browser.find_element(By.CSS_SELECTOR, ".card .card-code").text
    _screenshot(browser, "reloaded")

    answer_ticket(stack.engine, number)
    pushed = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.pushed"))
    assert pushed[-1].text == f"您的工单 {number} 已有答复：{ANSWER}"
    _screenshot(browser, "answer-pushed")
