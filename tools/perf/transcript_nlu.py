"""Where the transcript's NLU result costs least: `python -m tools.perf.transcript_nlu`.

The gateway records each message a person sends and needs, for the console, the intent Rasa
gave it. Three ways to learn it after Rasa's REST channel has answered, measured per message on a
real Rasa server (SQL tracker store, our model) through whole complaints in one conversation, so
the tracker grows as it does in service:

- `tracker NONE`     GET /conversations/{id}/tracker?include_events=NONE (latest_message only)
- `tracker AFTER_RESTART`  the same with every event since the last restart (Rasa's default)
- `model/parse`      POST /model/parse of the same text (the NLU runs a second time)

Each is timed right after the REST reply, alternating the order so none always runs warm.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any

import requests

from bot.domain import internal_auth
from tools.harness import own_stack
from tools.perf.stats import percentile
from tools.perf.webchat import ANSWERS, DESCRIPTION

WAYS = ("tracker NONE", "tracker AFTER_RESTART", "model/parse")


def _timed(session: requests.Session, way: str, rasa: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    if way == "model/parse":
        response = session.post(f"{rasa}/model/parse", json={"text": text}, timeout=30)
    else:
        verbosity = way.split()[1]
        response = session.get(
            f"{rasa}/conversations/{sender}/tracker",
            params={"include_events": verbosity},
            timeout=30,
        )
    response.raise_for_status()
    response.json()
    return (time.perf_counter() - started) * 1000


def measure(rasa: str, token: str, complaints: int) -> dict[str, list[tuple[int, float]]]:
    """(turn number in the conversation, ms) per way, for every message of every complaint."""
    session = requests.Session()
    session.params = {"token": token}  # Rasa's API token (`--auth-token`), on every call
    session.headers.update(internal_auth.headers(token))  # and the REST channel's
    sender = f"bench-{uuid.uuid4().hex[:8]}"
    results: dict[str, list[tuple[int, float]]] = {way: [] for way in WAYS}
    turn = 0

    def say(text: str) -> list[dict[str, Any]]:
        nonlocal turn
        response = session.post(
            f"{rasa}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
        )
        response.raise_for_status()
        turn += 1
        order = WAYS if turn % 2 else tuple(reversed(WAYS))
        for way in order:
            results[way].append((turn, _timed(session, way, rasa, sender, text)))
        return [r for r in response.json() if isinstance(r, dict)]

    for n in range(complaints):
        messages = say("我要投诉")
        messages = say(DESCRIPTION)
        for _ in range(12):
            buttons = [b for m in messages for b in m.get("buttons") or []]
            confirm = next((b for b in buttons if b["title"] == "确认提交"), None)
            if confirm is not None:
                say(str(confirm["payload"]))
                break
            text = " ".join(str(m.get("text", "")) for m in messages)
            question = next((q for q in ANSWERS if q in text), None)
            phone = f"135{(n * 7919 + 12345678) % 10**8:08d}"
            messages = say(phone if "联系电话" in text else ANSWERS[question] if question else "")
    return results


def report(results: dict[str, list[tuple[int, float]]]) -> str:
    lines = ["| way | messages | p50 ms | p95 ms | p50 first 10 turns | p50 after turn 40 |"]
    lines.append("|---|---:|---:|---:|---:|---:|")
    for way, rows in results.items():
        ms = [m for _, m in rows[1:]]  # the first call warms the route
        early = [m for t, m in rows if 1 < t <= 10]
        late = [m for t, m in rows if t > 40]
        lines.append(
            f"| {way} | {len(ms)} | {percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} | "
            f"{percentile(early, 50):.1f} | {percentile(late, 50):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rasa-url",
        help="an already running Rasa server (default: start one); its API token in "
        "HOTLINE_RASA_TOKEN",
    )
    parser.add_argument("--complaints", type=int, default=6, help="complaints in one conversation")
    options = parser.parse_args()
    if options.rasa_url:
        token = os.environ.get("HOTLINE_RASA_TOKEN", "")
        results = measure(options.rasa_url.rstrip("/"), token, options.complaints)
    else:
        with own_stack("hotline-transcript-nlu-", with_web=False) as settings:
            results = measure(settings.rasa_url, settings.rasa_token, options.complaints)
    print(report(results))


if __name__ == "__main__":
    main()
