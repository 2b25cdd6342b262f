"""Privacy proof: synthetic conversations full of phone and ID numbers and access codes (提取码),
then every log file of the stack scanned for them.

Each synthetic person has a mobile number (1[3-9] + 9 digits) and a 居民身份证 number (18 digits,
a Luoyang region, a real birth date, the GB 11643 check character). Short conversations (2–3
messages) put them where a caller would — in the story, as an answer, in a status query, inside
a typed `/intent{"phone": …}` payload (Rasa quotes a payload it cannot parse in a warning) and in
a message the gateway refuses — through the web chat, WeChat (signed XML) and the enterprise API,
at a set concurrency. Then every file under the stack's log directory is read and every number
looked for: in full (a leak) and masked (138****5678: proof the logs did see the messages).

`python -m tools.proofs.privacy --conversations 1000` starts its own stack (Rasa at DEBUG, which
logs every message it receives; WeChat on) and writes var/proofs/privacy.md;
tests/test_proofs.py runs 100 against the test session's stack.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import requests

from bot.config import PROJECT_ROOT
from bot.domain.identifiers import id_check_char, uscc_check_char
from bot.domain.privacy import mask_phone

REPORT = PROJECT_ROOT / "var" / "proofs" / "privacy.md"
LUOYANG_REGIONS = ("410302", "410303", "410304", "410305", "410311", "410322", "410323", "410381")
WECHAT_TOKEN = "privacy-proof-token"


@dataclass(frozen=True)
class Person:
    phone: str
    id_number: str
    # A 提取码 the person types in a status query (with the number, and alone when asked).
    access_code: str = ""


def synthetic_person(rng: random.Random) -> Person:
    phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 55))
    first17 = f"{rng.choice(LUOYANG_REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return Person(phone, first17 + id_check_char(first17), f"{rng.randrange(10**6):06d}")


def masked_id(id_number: str) -> str:
    """How bot.domain.privacy.mask_text writes an ID number."""
    return f"{id_number[:6]}********{id_number[14:]}"


# What people say, by channel: (text, expected HTTP status) per message.
Script = Callable[[Person], list[tuple[str, int]]]
WEB_SCRIPTS: list[Script] = [
    lambda p: [
        ("我要投诉", 200),
        (f"小区门口路灯坏了两个月没人修，我的电话是{p.phone}", 200),
        (f"身份证号{p.id_number}", 200),
    ],
    lambda p: [
        (f"你好，我手机{p.phone}，身份证{p.id_number}，想反映物业乱收费", 200),
        ("算了", 200),
    ],
    lambda p: [
        (f"查询工单 LY20260101-0001 {p.access_code} 我电话{p.phone}", 200),
        (f'/file_complaint{{"phone":"{p.phone}","id_number":"{p.id_number}"}}', 200),
    ],
    lambda p: [
        ("我要投诉", 200),
        (f'/complain{{"phone":"{p.phone}"}}', 200),
        (f"{p.id_number}\x1b[0m 电话 {p.phone}", 400),  # refused by the gateway: not relayed
    ],
    # The status form: the number, then the code alone as the answer to 「请发一下6位提取码」.
    lambda p: [
        (f"查询工单，我电话{p.phone}", 200),
        ("LY20260101-0001", 200),
        (p.access_code, 200),
    ],
]
WECHAT_SCRIPT: Script = lambda p: [  # noqa: E731
    ("我要投诉", 200),
    (f"路灯坏了没人修，电话{p.phone}，身份证{p.id_number}", 200),
]


@dataclass
class Target:
    """A running stack: its web service, the directory its processes log to, WeChat's token
    when the WeChat channel is on."""

    web_url: str
    log_dir: Path
    wechat_token: str | None = None


@dataclass
class DriveResult:
    people: list[Person] = field(default_factory=list)
    conversations: Counter[str] = field(default_factory=Counter)
    messages: int = 0
    unexpected: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _web(target: Target, person: Person, script: Script) -> list[str]:
    session = requests.Session()
    session.get(f"{target.web_url}/", timeout=30)
    problems = []
    for text, expected in script(person):
        response = session.post(f"{target.web_url}/api/chat", json={"message": text}, timeout=120)
        if response.status_code != expected:
            problems.append(f"web chat: {response.status_code} (expected {expected})")
    return problems


def _wechat(target: Target, person: Person, index: int) -> list[str]:
    assert target.wechat_token
    openid = "o" + secrets.token_urlsafe(20)[:27]
    problems = []
    for number, (text, expected) in enumerate(WECHAT_SCRIPT(person)):
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        signature = hashlib.sha1(
            "".join(sorted([target.wechat_token, timestamp, nonce])).encode()
        ).hexdigest()
        xml = (
            f"<xml><ToUserName><![CDATA[gh_proof]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{index * 10 + number}</MsgId></xml>"
        )
        response = requests.post(
            f"{target.web_url}/wechat",
            params={"signature": signature, "timestamp": timestamp, "nonce": nonce},
            data=xml.encode(),
            headers={"Content-Type": "text/xml"},
            timeout=120,
        )
        if response.status_code != expected:
            problems.append(f"wechat: {response.status_code} (expected {expected})")
    return problems


def _uscc(rng: random.Random) -> str:
    first17 = f"91410300{rng.randrange(100_000_000, 999_999_999):09d}"
    return first17 + str(uscc_check_char(first17))


def _enterprise(target: Target, person: Person, rng: random.Random) -> list[str]:
    """The contact's phone in the registration, both numbers in the report's description."""
    base = f"{target.web_url}/api/v1/enterprise"
    registration = {
        "name": "洛阳隐私测试机械有限公司",
        "uscc": _uscc(rng),
        "contact_name": "王先生",
        "phone": person.phone,
    }
    registered = requests.post(f"{base}/register", json=registration, timeout=60)
    if registered.status_code != 202:
        return [f"enterprise register: {registered.status_code}"]
    report = {
        "description": f"洛龙区住建局拖欠我们工程款三十八万元，联系人{person.phone}，"
        f"身份证{person.id_number}",
        "category": "arrears",
    }
    filed = requests.post(
        f"{base}/reports",
        json=report,
        headers={"Authorization": f"Bearer {registered.json()['token']}"},
        timeout=120,
    )
    return [] if filed.status_code == 201 else [f"enterprise report: {filed.status_code}"]


def drive(target: Target, conversations: int, concurrency: int, seed: int) -> DriveResult:
    """`conversations` conversations, `concurrency` at a time: 5% enterprise API, 10% WeChat
    (when on), the rest web chat across its scripts."""
    rng = random.Random(seed)
    result = DriveResult(people=[synthetic_person(rng) for _ in range(conversations)])
    plans: list[tuple[str, Callable[[], list[str]]]] = []
    for index, person in enumerate(result.people):
        if index % 20 == 0:
            local = random.Random(seed * 100_003 + index)
            plans.append(("enterprise API", partial(_enterprise, target, person, local)))
        elif index % 10 == 1 and target.wechat_token:
            plans.append(("WeChat", partial(_wechat, target, person, index)))
        else:
            script = WEB_SCRIPTS[index % len(WEB_SCRIPTS)]
            plans.append(("web chat", partial(_web, target, person, script)))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [(channel, pool.submit(run)) for channel, run in plans]
        for channel, future in futures:
            result.conversations[channel] += 1
            try:
                result.unexpected.extend(future.result())
            except requests.RequestException as exc:
                result.unexpected.append(f"{channel}: {type(exc).__name__}")
    result.seconds = time.monotonic() - started
    result.messages = sum(
        len(WEB_SCRIPTS[i % len(WEB_SCRIPTS)](p)) if channel == "web chat" else 2
        for i, ((channel, _), p) in enumerate(zip(plans, result.people, strict=True))
    )
    return result


@dataclass
class FileScan:
    path: str
    size: int
    lines: int
    leaked: Counter[str] = field(default_factory=Counter)  # number → times found in full
    codes_leaked: Counter[str] = field(default_factory=Counter)  # access code → times found
    masked_seen: int = 0  # our people's numbers found masked


_SIX_DIGITS = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def _windows(text: str, width: int) -> Iterator[str]:
    for match in re.finditer(rf"(?=(\d{{{width - 1}}}[\dXx]))", text):
        yield match.group(1).upper()


def scan(log_dir: Path, people: list[Person]) -> list[FileScan]:
    """Every file under `log_dir`: each 11- and 18-character digit window checked against the
    people's numbers (a full number anywhere, also inside a longer run of digits), and every
    run of exactly six digits against their access codes (a six-digit window inside a longer
    number would match codes by chance)."""
    phones = {p.phone for p in people}
    codes = {p.access_code for p in people if p.access_code}
    ids = {p.id_number.upper() for p in people}
    masked = {mask_phone(p.phone) for p in people} | {masked_id(p.id_number) for p in people}
    scans = []
    for path in sorted(p for p in log_dir.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        found = FileScan(str(path.relative_to(log_dir)), path.stat().st_size, text.count("\n"))
        found.leaked.update(w for w in _windows(text, 11) if w in phones)
        found.leaked.update(w for w in _windows(text, 18) if w in ids)
        found.codes_leaked.update(c for c in _SIX_DIGITS.findall(text) if c in codes)
        shapes = re.findall(r"\d{3}\*{4}\d{4}|\d{6}\*{8}\d{3}[\dXx]", text)
        found.masked_seen = sum(1 for s in shapes if s in masked)
        scans.append(found)
    return scans


def report(result: DriveResult, scans: list[FileScan], command: str, note: str) -> str:
    leaks = sum(sum(s.leaked.values()) for s in scans)
    code_leaks = sum(sum(s.codes_leaked.values()) for s in scans)
    lines = [
        "# Privacy: phone and ID numbers in the logs after synthetic conversations",
        "",
        f"- command: `{command}`",
        f"- {time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores; {note}",
        f"- conversations: **{sum(result.conversations.values())}** "
        f"({', '.join(f'{c} {n}' for c, n in result.conversations.items())}), "
        f"{result.messages} messages in {result.seconds:.0f} s; unexpected answers: "
        f"{len(result.unexpected)}",
        f"- numbers sent: {len(result.people)} mobile numbers and {len(result.people)} "
        "居民身份证 numbers (valid check character)",
        f"- **numbers found in full in the logs: {leaks}**; access codes (提取码, one per "
        f"person, typed in the web chat's status queries) **found in the logs: {code_leaks}**",
        "",
        "| log file | bytes | lines | numbers in full | access codes | our numbers seen masked |",
        "|---|---|---|---|---|---|",
    ]
    for s in scans:
        lines.append(
            f"| {s.path} | {s.size} | {s.lines} | {sum(s.leaked.values())} "
            f"| {sum(s.codes_leaked.values())} | {s.masked_seen} |"
        )
    if result.unexpected:
        lines += ["", "Unexpected answers:", ""]
        lines += [f"- {problem} ×{n}" for problem, n in Counter(result.unexpected).items()]
    return "\n".join(lines) + "\n"


@contextmanager
def _own_stack_env(debug: bool) -> Iterator[None]:
    """The environment the started processes inherit: WeChat on (its customer-service API on a
    closed local port), no rate limit in the way of one enterprise per conversation, Rasa at
    DEBUG when asked (it then logs every message it receives)."""
    wanted = {
        "HOTLINE_WECHAT_TOKEN": WECHAT_TOKEN,
        "HOTLINE_WECHAT_APPID": "wxprivacyproof",
        "HOTLINE_WECHAT_SECRET": "privacy-proof-secret",
        "HOTLINE_WECHAT_API_BASE": "http://127.0.0.1:9/cgi-bin/",
        "HOTLINE_WECHAT_DEADLINE_SECONDS": "30",
        **({"LOG_LEVEL": "DEBUG"} if debug else {}),
    }
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _broker_dump(queue: str, folder: Path) -> int:
    """Every message of RabbitMQ's event queue, one JSON line each, into `folder` to be scanned
    like a log file (the issue's rule: no number in any log file *or broker message*)."""
    from tools.proofs.profile_stack import drain_event_queue

    events = drain_event_queue(queue)["events"]
    folder.mkdir(parents=True, exist_ok=True)
    dump = folder / "rabbitmq-events.jsonl"
    with dump.open("w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
    return len(events)


@contextmanager
def _started(profile: str) -> Iterator[tuple[str, Path, str | None]]:
    """A stack of the profile: (the URL people use, its var directory, its event queue or None)."""
    if profile == "production":
        from bot.training import ensure_model
        from tools.proofs.profile_stack import running_profile

        model = ensure_model(PROJECT_ROOT / "models")
        with running_profile("production", model, sweep_seconds=0) as running:
            yield running.public_url, running.settings.var_dir, running.settings.event_queue
    else:
        from tools.harness import own_stack

        with own_stack("hotline-privacy-") as settings:
            yield settings.web_url, settings.var_dir, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-debug", action="store_true", help="Rasa at INFO, not DEBUG")
    parser.add_argument(
        "--profile",
        choices=("default", "production"),
        default="default",
        help="production: nginx, replicas, PostgreSQL, and RabbitMQ's messages scanned too",
    )
    options = parser.parse_args()
    level = "INFO" if options.no_debug else "DEBUG"
    command = f"python -m tools.proofs.privacy --conversations {options.conversations}"
    if options.profile == "production":
        command += " --profile production"
        note = "production profile (nginx, 2 web, 2 Rasa on PostgreSQL + Redis, RabbitMQ events, "
        note += f"2 action servers; Rasa at {level}), seed {options.seed}"
    else:
        note = f"own stack (Rasa, action server, web service; Rasa at {level}), seed {options.seed}"
    with _own_stack_env(not options.no_debug), _started(options.profile) as (url, var, queue):
        target = Target(url, var / "logs", WECHAT_TOKEN)
        result = drive(target, options.conversations, options.concurrency, options.seed)
        time.sleep(1)  # the last lines through the log copiers (bot/privacy/masked_logs.py)
        scans = scan(target.log_dir, result.people)
        if queue is not None:
            published = _broker_dump(queue, var / "broker")
            for found in scan(var / "broker", result.people):
                found.path = f"RabbitMQ queue (all {published} messages)"
                scans.append(found)
    report_path = (
        REPORT if options.profile == "default" else REPORT.with_name("privacy-production.md")
    )
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report(result, scans, command, note), encoding="utf-8")
    leaks = sum(sum(s.leaked.values()) + sum(s.codes_leaked.values()) for s in scans)
    print(
        f"{sum(result.conversations.values())} conversations, {leaks} numbers in logs"
        f"{' and broker messages' if options.profile == 'production' else ''} — {report_path}"
    )


if __name__ == "__main__":
    main()
