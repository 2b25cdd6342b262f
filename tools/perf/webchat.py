"""Web chat round trip for one person on an idle machine: `python -m tools.perf.webchat`.

Measures what the person waits for — POST /api/chat until the reply's JSON is read — through the
gateway (record in, Rasa, record out) with the real Rasa server, action server and web service.
Each round is a whole complaint (the form's questions, 确认提交 files a ticket), then 「新的对话」.
By default it starts its own stack on free ports with a throw-away database; --url measures a
service that is already running (its database gets the test tickets).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import requests

from tools.harness import own_stack
from tools.perf.stats import percentile

TARGET_P95_MS = 300.0
DESCRIPTION = "我们小区南门那段路挖开三个月了，一直没人管，下雨全是泥，老人孩子出门都得绕着走。"
# The intake form's questions on the happy path and what a person answers.
ANSWERS = {
    "哪个单位": "城市管理局",
    "哪个区县": "洛龙区",
    "什么时候发生": "上个月",
    "个人身份": "个人",
    "怎么称呼": "匿名",
    "身份保密吗": "不需要",
}


def one_complaint(url: str, session: requests.Session, phone: str) -> list[float]:
    """Round-trip seconds of every message of one filed complaint."""
    timings: list[float] = []

    def say(text: str) -> list[dict[str, Any]]:
        started = time.perf_counter()
        response = session.post(f"{url}/api/chat", json={"message": text}, timeout=60)
        messages = list(response.json()["messages"])
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
        return messages

    say("我要投诉")
    messages = say(DESCRIPTION)
    for _ in range(12):
        buttons = [b for m in messages for b in m.get("buttons") or []]
        confirm = next((b for b in buttons if b["title"] == "确认提交"), None)
        if confirm is not None:
            filed = say(str(confirm["payload"]))
            if not any(m.get("card") for m in filed):
                raise SystemExit(f"no ticket card in the filing reply: {filed}")
            return timings
        text = " ".join(str(m.get("text", "")) for m in messages)
        question = next((q for q in ANSWERS if q in text), None)
        messages = say(phone if "联系电话" in text else ANSWERS[question] if question else "")
    raise SystemExit("the form did not reach its summary")


def measure(url: str, rounds: int) -> list[float]:
    timings: list[float] = []
    for n in range(rounds + 1):
        # One person per complaint: one person sending 100 messages in a minute would be
        # stopped by the per-sender message rate (data/hotline/limits.yml, 20 a minute).
        session = requests.Session()
        session.get(f"{url}/", timeout=10).raise_for_status()
        phone = f"135{time.time_ns() % 10**8:08d}"
        round_timings = one_complaint(url, session, phone)
        if n > 0:  # the first round warms Rasa's and the action server's caches
            timings += round_timings
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running web service (default: start one)")
    parser.add_argument("--rounds", type=int, default=10, help="complaints measured (default 10)")
    options = parser.parse_args()
    if options.url:
        timings = measure(options.url.rstrip("/"), options.rounds)
    else:
        with own_stack("hotline-webchat-") as settings:
            timings = measure(settings.web_url, options.rounds)
    ms = [t * 1000 for t in timings]
    p95 = percentile(ms, 95)
    print(
        f"web chat round trip, 1 person, {len(ms)} messages in {options.rounds} complaints: "
        f"p50 {percentile(ms, 50):.0f} ms, p95 {p95:.0f} ms, max {max(ms):.0f} ms "
        f"(target p95 ≤ {TARGET_P95_MS:.0f} ms: {'met' if p95 <= TARGET_P95_MS else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
