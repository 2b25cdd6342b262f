"""`hotline eval --callers`: whole messy-caller conversations (tests/callers/) through the real
Rasa and action servers, and the tickets they file checked fact by fact.

The driver plays the caller: it says the scripted opening, then answers whatever the form asks
(the form's `requested_slot`, read from Rasa's tracker API) from the conversation's answers,
says the scripted side remarks and summary changes, and confirms. It never looks at the bot's
wording, so a rephrased prompt does not break the measurement.
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.domain import internal_auth
from bot.review.eval_sets import load_conversations
from bot.store.models import Ticket

MAX_STEPS = 40
FACTS = (
    "organization", "district", "occurred_on", "amount", "caller_type", "caller_name",
    "enterprise_name", "uscc", "phone", "identity_protected",
)  # fmt: skip
HONORIFICS = ("先生", "女士", "师傅", "老师", "阿姨", "大姐", "大哥")


@dataclass
class Outcome:
    id: str
    who: str
    filed: bool = False
    wrong: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # fact → (expected, stored)
    asked_again: list[str] = field(default_factory=list)
    questions: int = 0
    category_right: bool = False
    category: tuple[Any, Any] = (None, None)  # (expected, stored)
    story_as_answer: bool = False
    transcript: list[str] = field(default_factory=list)

    @property
    def facts_right(self) -> bool:
        return self.filed and not self.wrong


class CallerDriver:
    def __init__(self, rasa_url: str, rasa_token: str, engine: Engine) -> None:
        self.rasa_url = rasa_url
        self.engine = engine
        self.http = requests.Session()
        self.http.params = {"token": rasa_token}  # Rasa's API token, for the tracker reads
        self.http.headers.update(internal_auth.headers(rasa_token))  # the REST channel's

    def _say(self, sender: str, text: str, outcome: Outcome) -> list[dict[str, Any]]:
        outcome.transcript.append(f"> {text}")
        response = self.http.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=60,
        )
        response.raise_for_status()
        replies = [r for r in response.json() if isinstance(r, dict)]
        outcome.transcript += [f"< {r.get('text', '')}" for r in replies]
        return replies

    def _tracker(self, sender: str) -> dict[str, Any]:
        response = self.http.get(f"{self.rasa_url}/conversations/{sender}/tracker", timeout=30)
        response.raise_for_status()
        return dict(response.json())

    def run(self, conv: dict[str, Any]) -> Outcome:
        outcome = Outcome(id=str(conv["id"]), who=str(conv.get("who", "person")))
        sender = f"caller-{conv['id']}-{uuid.uuid4().hex[:8]}"
        answers: dict[str, Any] = dict(conv.get("answers") or {})
        before: dict[str, str] = dict(conv.get("before") or {})
        at_summary = list(conv.get("at_summary") or [])
        given = set(conv.get("given") or [])
        also_given: dict[str, list[str]] = dict(conv.get("also_given") or {})
        times_asked: Counter[str] = Counter()
        outcome.story_as_answer = "description" in answers
        replies: list[dict[str, Any]] = []
        for text in conv.get("say") or []:
            replies = self._say(sender, str(text), outcome)
        for _ in range(MAX_STEPS):
            tracker = self._tracker(sender)
            slots = tracker.get("slots") or {}
            requested = slots.get("requested_slot")
            active = (tracker.get("active_loop") or {}).get("name")
            buttons = [b for r in replies for b in r.get("buttons") or []]
            if requested == "confirmed" or (not active and _is_summary(replies)):
                if at_summary:
                    replies = self._say(sender, str(at_summary.pop(0)), outcome)
                    continue
                if slots.get("district_conflict") == "asked":
                    replies = self._say(sender, str(answers.get("district", "")), outcome)
                    continue
                replies = self._say(sender, "确认提交", outcome)
                break
            if buttons and (requested in ("category", "matter_choice") or not active):
                choice = _pick(buttons, conv.get("pick") or answers.get("category"))
                replies = self._say(sender, choice, outcome)
                continue
            if not active or not requested:
                break  # the conversation left the form without a summary
            slot = str(requested)
            # A remark scripted for a question the bot never asks (the fact was already known)
            # is said at the first question that comes after it in the form's order.
            early = next((s for s in before if s == slot or _comes_after(slot, s, slots)), None)
            if early is not None:
                replies = self._say(sender, str(before.pop(early)), outcome)
                continue
            outcome.questions += 1
            if slot in given:
                outcome.asked_again.append(slot)
            reply = _answer(answers, slot, times_asked[slot])
            times_asked[slot] += 1
            replies = self._say(sender, reply, outcome)
            if slot not in given:
                given.update(also_given.get(slot) or [])
        self._judge(conv, sender, outcome)
        return outcome

    def _judge(self, conv: dict[str, Any], sender: str, outcome: Outcome) -> None:
        with Session(self.engine) as session:
            ticket = session.scalars(select(Ticket).where(Ticket.sender_id == sender)).first()
            if ticket is None:
                return
            outcome.filed = True
            expect = dict(conv.get("expect") or {})
            outcome.category = (expect.get("category"), ticket.category)
            outcome.category_right = ticket.category == expect.get("category")
            for fact in FACTS:
                if fact in expect and not _matches(fact, expect[fact], getattr(ticket, fact)):
                    outcome.wrong[fact] = (expect[fact], getattr(ticket, fact))
            for piece in expect.get("description_contains") or []:
                if str(piece) not in (ticket.description or ""):
                    outcome.wrong.setdefault("description", (piece, ticket.description))


ORDER = (
    "description", "matter_choice", "category", "organization", "district", "occurred_on",
    "amount", "caller_type", "caller_name", "enterprise_name", "uscc", "phone",
    "identity_protected",
)  # fmt: skip


def _comes_after(asked: str, scripted: str, slots: dict[str, Any]) -> bool:
    """The form asks `asked` although `scripted` came before it and is already known."""
    if asked not in ORDER or scripted not in ORDER or slots.get(scripted) is None:
        return False
    return ORDER.index(asked) > ORDER.index(scripted)


def _is_summary(replies: list[dict[str, Any]]) -> bool:
    return any("请核对" in str(r.get("text", "")) for r in replies)


def _pick(buttons: list[dict[str, Any]], label: Any) -> str:
    for button in buttons:
        if label and str(button.get("title")) == str(label):
            return str(button.get("payload"))
    for button in buttons:  # 「只登记：拖欠工资」 when two matters were heard
        if label and str(label) in str(button.get("title")):
            return str(button.get("payload"))
    for button in buttons:
        if button.get("title") == "都不是":
            return str(button.get("payload"))
    return str(buttons[0].get("payload"))


def _answer(answers: dict[str, Any], slot: str, times: int) -> str:
    value = answers.get(slot, "不知道")
    if isinstance(value, list):
        value = value[min(times, len(value) - 1)]
    return str(value)


def _core_name(value: Any) -> str:
    name = str(value or "")
    for word in HONORIFICS:
        name = name.replace(word, "")
    return name.strip()


def _matches(fact: str, expected: Any, stored: Any) -> bool:
    if fact == "organization":
        return all(str(part) in str(stored or "") for part in expected or [])
    if expected == "any":
        return stored not in (None, "")
    if expected is None:
        return stored in (None, "", False) if fact != "caller_type" else stored == "citizen"
    if fact == "amount":
        return stored is not None and Decimal(str(stored)) == Decimal(str(expected))
    if fact == "caller_name":
        return _core_name(expected) == _core_name(stored)
    if fact == "enterprise_name":
        a, b = str(expected), str(stored or "")
        return bool(b) and (a in b or b in a)
    if fact == "identity_protected":
        return bool(stored) is bool(expected)
    return str(expected) == str(stored)


def summarise(outcomes: list[Outcome]) -> dict[str, Any]:
    """The numbers the issue asks for, over the whole set."""
    total = len(outcomes)
    filed = [o for o in outcomes if o.filed]

    def median_questions(who: str) -> float:
        values = [o.questions for o in filed if o.who == who]
        return float(statistics.median(values)) if values else 0.0

    story = [o for o in filed if o.story_as_answer]
    opening = [o for o in filed if not o.story_as_answer]
    return {
        "conversations": total,
        "filed": len(filed),
        "facts_all_right": sum(o.facts_right for o in outcomes),
        "facts_asked_again": sum(len(o.asked_again) for o in outcomes),
        "median_questions_person": median_questions("person"),
        "median_questions_enterprise": median_questions("enterprise"),
        "category_right": sum(o.category_right for o in filed),
        "category_right_story_as_answer": f"{sum(o.category_right for o in story)}/{len(story)}",
        "category_right_opening": f"{sum(o.category_right for o in opening)}/{len(opening)}",
    }


def markdown(outcomes: list[Outcome], command: str) -> str:
    s = summarise(outcomes)
    n = s["conversations"] or 1
    lines = [
        "# Messy callers",
        "",
        f"`{command}` — {s['conversations']} conversations from tests/callers/.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| filed | {s['filed']}/{s['conversations']} ({s['filed'] / n:.0%}) | 100% |",
        f"| every fact right at the summary | {s['facts_all_right']}/{s['conversations']} "
        f"({s['facts_all_right'] / n:.0%}) | ≥ 95% |",
        f"| facts asked again after the caller gave them | {s['facts_asked_again']} | 0 |",
        f"| median questions per ticket, person | {s['median_questions_person']:g} | ≤ 7 |",
        f"| median questions per ticket, enterprise | {s['median_questions_enterprise']:g} | ≤ 9 |",
        f"| category right | {s['category_right']}/{s['filed']} | — |",
        f"| category right, story told as the description answer | "
        f"{s['category_right_story_as_answer']} | same as opening |",
        f"| category right, story in the opening | {s['category_right_opening']} | — |",
        "",
    ]
    misses = [o for o in outcomes if not o.facts_right or o.asked_again or not o.category_right]
    if misses:
        lines += ["## Where it went wrong", ""]
        for o in misses:
            parts = []
            if not o.filed:
                parts.append("not filed")
            parts += [f"{k}: expected {e!r}, stored {g!r}" for k, (e, g) in o.wrong.items()]
            if o.asked_again:
                parts.append("asked again: " + ", ".join(o.asked_again))
            if o.filed and not o.category_right:
                parts.append("category: expected {}, stored {}".format(*o.category))
            lines.append(f"- `{o.id}`: " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def run_callers(
    settings: Any, *, only: str | None = None
) -> tuple[list[Outcome], list[dict[str, Any]]]:
    """Start the real stack on free ports with its own database, drive every conversation."""
    import tempfile

    from bot.config import Settings
    from bot.ops.profiles import build_services
    from bot.ops.supervisor import Stack, free_port
    from bot.store.db import make_engine
    from bot.store.migrate import upgrade
    from bot.training import ensure_model

    conversations = [c for c in load_conversations() if only is None or c["id"] == only]
    model = ensure_model(settings.models_dir, quiet=True)
    var_dir = Path(tempfile.mkdtemp(prefix="hotline-callers-"))
    run_settings = Settings(
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
        var_dir=var_dir,
        models_dir=settings.models_dir,
        sweep_seconds=0,
    )
    upgrade(run_settings.database_url)
    stack = Stack(build_services(run_settings, model, with_web=False))
    stack.start()
    engine = make_engine(run_settings.database_url)
    try:
        driver = CallerDriver(run_settings.rasa_url, run_settings.rasa_token, engine)
        return [driver.run(c) for c in conversations], conversations
    finally:
        engine.dispose()
        stack.stop()
