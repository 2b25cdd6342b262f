"""The production profile as it runs (bot/ops/production.py, deploy/): nginx in front of two web
replicas, two Rasa servers on one PostgreSQL tracker store with Redis locks and a RabbitMQ event
broker, two action servers, tickets in PostgreSQL. A person files a complaint through nginx's
public port; Rasa and the action servers are not reachable from it; one Rasa instance killed
mid-conversation, the other carries the same conversation on."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests

from bot.config import Settings
from bot.ops.production import layout, nginx_executable, render_nginx
from bot.ops.supervisor import Stack, free_port
from tests.production_support import REDIS, production_profile
from tests.test_conversation import QUESTIONS
from tools.proofs.profile_stack import drain_event_queue

pytestmark = pytest.mark.stack


def _redis(*command: str) -> bytes:
    """One Redis command over its wire protocol (no client library in this environment)."""
    payload = f"*{len(command)}\r\n" + "".join(
        f"${len(part.encode())}\r\n{part}\r\n" for part in command
    )
    with socket.create_connection(REDIS, timeout=5) as sock:
        sock.sendall(payload.encode())
        time.sleep(0.2)
        return sock.recv(1 << 20)


@dataclass
class Production:
    settings: Settings
    stack: Stack
    public: str
    tracker_db: str
    ticket_db: str

    def rasa(self, index: int):  # type: ignore[no-untyped-def]
        return next(s for s in self.stack.services if s.name == f"Rasa server {index}")


@pytest.fixture(scope="module")
def production(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Production]:
    var_dir = tmp_path_factory.mktemp("production-var")
    with production_profile(trained_model, var_dir, sweep_seconds=2) as running:
        yield Production(
            running.settings,
            running.stack,
            running.public_url,
            running.tracker_db,
            running.ticket_db,
        )


def _say(base: str, session: requests.Session, text: str) -> list[dict]:
    response = session.post(f"{base}/api/chat", json={"message": text}, timeout=60)
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def _answer_until_summary(base: str, session: requests.Session, messages: list[dict]) -> list[dict]:
    phone = "139" + str(time.time_ns())[-8:]
    for _ in range(12):
        text = " ".join(m["text"] for m in messages)
        if messages[-1].get("buttons") and "请核对" in text:
            return messages
        question = next(q for q in QUESTIONS if q in text)
        messages = _say(base, session, QUESTIONS[question] or phone)
    raise AssertionError(f"no summary: {messages}")


def _confirm(base: str, session: requests.Session, summary: list[dict]) -> dict:
    payload = next(b["payload"] for b in summary[-1]["buttons"] if b["title"] == "确认提交")
    card = next(m["card"] for m in _say(base, session, payload) if m.get("card"))
    assert card["number"].startswith("LY") and card["access_code"]
    return dict(card)


def _rows(database: str, query: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}") as conn:
        return list(conn.execute(query, args).fetchall())


def test_a_complaint_through_nginx_lands_in_postgres_and_rabbitmq(production: Production) -> None:
    base = production.public
    session = requests.Session()
    session.get(f"{base}/", timeout=10).raise_for_status()
    _say(base, session, "我要投诉")
    summary = _say(base, session, "我们小区南门那段路挖开三个月了，一直没人管，下雨全是泥。")
    card = _confirm(base, session, _answer_until_summary(base, session, summary))

    tickets = _rows(production.ticket_db, "SELECT number, status FROM tickets")
    assert [t[0] for t in tickets] == [card["number"]]
    # Rasa's trackers are in PostgreSQL: the conversation's events, under Rasa's sender id.
    senders = _rows(production.tracker_db, "SELECT DISTINCT sender_id FROM events")
    assert len(senders) == 1
    rasa_sender = senders[0][0]
    assert _rows(production.tracker_db, "SELECT count(*) FROM events")[0][0] > 20
    # Both web replicas served requests (nginx balances them), both Rasa instances are in use
    # through the internal balancer, and Rasa held a Redis connection for its lock store.
    where = layout(production.settings)
    access = (production.settings.var_dir / "logs" / "nginx-access.log").read_text()
    assert all(f"127.0.0.1:{port}" in access for port in where.web_ports)
    assert b"db=1" in _redis("CLIENT", "LIST")
    # The event broker published the same conversation's events to RabbitMQ.
    events = drain_event_queue(production.settings.event_queue)["events"]
    assert isinstance(events, list)
    mine = [e for e in events if e.get("sender_id") == rasa_sender]
    assert {"user", "bot", "action"} <= {e.get("event") for e in mine}
    # The person's phone number went through the conversation, masked in every broker message
    # (rasa_plugins/event_broker.py) — in the text, the entities and the slot alike.
    published = json.dumps(mine, ensure_ascii=False)
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", published)
    assert re.search(r"1[3-9]\d\*{4}\d{4}", published)
    # The access code was shown to the person once (the card above) and is masked in every
    # broker message and every stored tracker event (rasa_plugins/event_masking.py).
    code = card["access_code"]
    stored = "\n".join(
        row[0] for row in _rows(production.tracker_db, "SELECT data FROM events")
    )  # fmt: skip
    for kept in (published, stored):
        assert not re.search(rf"(?<!\d){code}(?!\d)", kept.replace(card["number"], " "))
    assert "提取码 ******" in published


def test_rasa_and_the_action_servers_are_not_reachable_from_the_public_side(
    production: Production,
) -> None:
    base = production.public
    for method, path in [
        ("GET", "/status"),
        ("GET", "/version"),
        ("POST", "/model/parse"),
        ("GET", "/conversations/x/tracker"),
        ("POST", "/webhooks/rest/webhook"),
        ("POST", "/webhook"),
        ("GET", "/actions"),
    ]:
        response = requests.request(method, f"{base}{path}", json={"text": "x"}, timeout=10)
        assert response.status_code in (404, 405), (path, response.status_code)
        assert "rasa" not in response.text.lower() and "version" not in response.text.lower()
    # The internal balancers answer only on loopback, and Rasa's API wants its token.
    rasa = f"http://127.0.0.1:{production.settings.rasa_port}"
    assert requests.get(f"{rasa}/status", timeout=10).status_code == 401
    assert production.settings.host == "127.0.0.1"


def test_one_rasa_instance_killed_the_other_serves_the_same_conversation(
    production: Production,
) -> None:
    base = production.public
    session = requests.Session()
    session.get(f"{base}/", timeout=10).raise_for_status()
    _say(base, session, "我要投诉")
    first = _say(base, session, "我们楼下饭店油烟特别大，排风口正对着我家窗户，天天熏得没法开窗。")
    asked = " ".join(m["text"] for m in first)
    victim = production.rasa(1)
    assert victim.process is not None
    os.killpg(victim.process.pid, signal.SIGKILL)
    victim.process.wait(timeout=10)
    try:
        # The form goes on where it was: the next answer is taken, not a fresh start.
        question = next(q for q in QUESTIONS if q in asked)
        answer = QUESTIONS[question] or "13912345678"
        then = _say(base, session, answer)
        assert "描述" not in " ".join(m["text"] for m in then)
        card = _confirm(base, session, _answer_until_summary(base, session, then))
        numbers = [r[0] for r in _rows(production.ticket_db, "SELECT number FROM tickets")]
        assert card["number"] in numbers
    finally:
        victim.start()
        deadline = time.monotonic() + 180
        while not victim.is_ready():
            assert victim.exited() is None, victim.log_tail()
            assert time.monotonic() < deadline, "Rasa server 1 did not come back"
            time.sleep(0.5)


def test_the_deadline_sweep_ran_as_rounds_claimed_across_replicas(production: Production) -> None:
    rows = _rows(production.ticket_db, "SELECT name, started_at FROM periodic_rounds")
    # One row per round name (claimed, not one per replica); the review round has its own.
    assert [r[0] for r in rows if r[0] == "deadline_sweep"] == ["deadline_sweep"]


def test_a_signed_wechat_url_stays_out_of_nginxs_logs(tmp_path: Path) -> None:
    """WeChat's signature, nonce and the person's openid travel in the query string; nginx
    writes the request line into its error log when a web replica fails. nginx as rendered from
    deploy/nginx/hotline.conf.template, every web replica down: the push gets its 502, the access
    log records it, and neither log holds a value of the query."""
    settings = Settings(
        var_dir=tmp_path,
        web_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        web_replicas=1,
    )
    where = layout(settings)
    config = render_nginx(settings, where)
    nginx = subprocess.Popen(
        [nginx_executable(), "-p", str(config.parent), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    public = f"http://{settings.host}:{where.public_port}"
    query = {
        "signature": "5f2b0c1e9d8a7f6e5d4c3b2a1908f7e6d5c4b3a2",
        "timestamp": str(int(time.time())),
        "nonce": "1357924680",
        "openid": "oQx7Zp3sSecretOpenid0123456",
    }
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{public}/nginx-health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert nginx.poll() is None and time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.2)
        response = requests.post(f"{public}/wechat", params=query, data=b"<xml/>", timeout=20)
        assert response.status_code == 502
    finally:
        nginx.terminate()
        nginx.wait(timeout=20)
    logs = tmp_path / "logs"
    access = (logs / "nginx-access.log").read_text()
    error = (logs / "nginx-error.log").read_text() if (logs / "nginx-error.log").exists() else ""
    assert '"POST /wechat" 502' in access
    for value in query.values():
        assert value not in access and value not in error


def test_cookies_are_secure_behind_a_terminator_and_for_every_public_client(
    production: Production,
) -> None:
    """nginx passes a TLS terminator's X-Forwarded-Proto on (it used to overwrite it with http),
    and the production web service marks cookies Secure and sends HSTS to every public client
    even when the header is missing; only loopback (our own tools on plain HTTP) is spared."""
    base = production.public
    behind = requests.get(f"{base}/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    cookie = behind.headers["Set-Cookie"]
    assert "; Secure" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie
    assert behind.headers["Strict-Transport-Security"].startswith("max-age=")
    # A web replica as nginx reaches it, for a client on the internet and no scheme header.
    replica = f"http://{production.settings.host}:{layout(production.settings).web_ports[0]}"
    public = requests.get(f"{replica}/", headers={"X-Forwarded-For": "203.0.113.8"}, timeout=10)
    assert "; Secure" in public.headers["Set-Cookie"]
    assert public.headers["Strict-Transport-Security"].startswith("max-age=")
    local = requests.get(f"{base}/", timeout=10)
    assert "secure" not in local.headers["Set-Cookie"].lower()


def test_nginx_limits_the_live_update_streams_of_one_address(production: Production) -> None:
    """Each stream has its own person (the web service's per-sender limit never trips) and
    comes from loopback (which the web service does not count by address): the refusal is
    nginx's limit_conn / limit_req on /api/chat/events."""
    base = production.public
    streams: list[requests.Response] = []
    try:
        for _ in range(40):
            person = requests.Session()
            person.get(f"{base}/", timeout=10).raise_for_status()
            stream = person.get(f"{base}/api/chat/events", stream=True, timeout=(5, 30))
            streams.append(stream)
            if stream.status_code != 200:
                break
        assert streams[-1].status_code == 429
        assert 15 <= len(streams) - 1 <= 21
    finally:
        for stream in streams:
            stream.close()
