"""Rasa's HTTP API answers only with the run's token, its REST channel and the action server
only with the internal token (X-Hotline-Token); Rasa and the action server listen on loopback;
the token is in no log and on no command line."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.domain import internal_auth
from bot.store.models import Ticket
from tests.conftest import RunningStack

pytestmark = pytest.mark.stack


def _listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket on `port` listens on (from /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_the_api_needs_the_token(stack: RunningStack) -> None:
    settings = stack.settings
    sender = f"safety-{uuid.uuid4().hex[:10]}"
    assert stack.say(sender, "你好")
    tracker_url = f"{settings.rasa_url}/conversations/{sender}/tracker"
    refused = requests.get(tracker_url, timeout=10)
    assert refused.status_code == 401
    parse = requests.post(f"{settings.rasa_url}/model/parse", json={"text": "你好"}, timeout=10)
    assert parse.status_code == 401
    wrong = requests.get(tracker_url, params={"token": "x" * 43}, timeout=10)
    assert wrong.status_code == 401
    events = requests.post(
        f"{tracker_url}/events",
        json=[{"event": "slot", "name": "phone", "value": "13800000000"}],
        timeout=10,
    )
    assert events.status_code == 401, "nobody can write slots into a conversation"
    allowed = requests.get(tracker_url, params=settings.rasa_auth, timeout=10)
    assert allowed.status_code == 200 and allowed.json()["sender_id"] == sender


def test_the_rest_channel_needs_the_internal_token(stack: RunningStack) -> None:
    """A host on the private network cannot talk to Rasa as someone else's sender id (read
    their tickets, file in their name): the webhook wants X-Hotline-Token."""
    settings = stack.settings
    webhook = f"{settings.rasa_url}/webhooks/rest/webhook"
    sender = f"safety-{uuid.uuid4().hex[:10]}"
    message = {"sender": sender, "message": "你好"}
    for headers in ({}, {internal_auth.HEADER: ""}, {internal_auth.HEADER: "x" * 43}):
        refused = requests.post(webhook, json=message, headers=headers, timeout=10)
        assert refused.status_code == 401, headers
        assert "rasa" not in refused.text.lower()
    # Nothing of the refused messages reached the conversation.
    tracker = requests.get(
        f"{settings.rasa_url}/conversations/{sender}/tracker", params=settings.rasa_auth, timeout=10
    ).json()
    assert not [e for e in tracker["events"] if e.get("event") == "user"]
    # The token as a query parameter is not accepted either (it would reach access logs).
    assert (
        requests.post(webhook, json=message, params=settings.rasa_auth, timeout=10).status_code
        == 401
    )
    assert stack.say(sender, "你好")  # with the header
    assert requests.get(f"{settings.rasa_url}/webhooks/rest/", timeout=10).status_code == 200


def test_the_action_server_needs_the_internal_token(stack: RunningStack) -> None:
    """Without the token no action runs: a forged call of action_file_ticket with a tracker of
    the caller's choosing files nothing."""
    settings = stack.settings
    url = f"http://{settings.host}:{settings.action_port}"
    forged = {
        "next_action": "action_file_ticket",
        "sender_id": "web:forged",
        "tracker": {
            "sender_id": "web:forged",
            "slots": {
                "description": "小区门口路灯坏了一个月，晚上很黑",
                "organization": "西工区城管局",
                "district": "西工区",
                "phone": "13800000000",
                "confirmed": True,
            },
            "latest_message": {"text": "确认提交", "intent": {"name": "affirm"}},
            "events": [],
            "active_loop": {},
        },
        "domain": {},
        "version": "3.6.21",
    }
    before = _tickets(stack)
    for headers in ({}, {internal_auth.HEADER: "x" * 43}):
        refused = requests.post(f"{url}/webhook", json=forged, headers=headers, timeout=10)
        assert refused.status_code == 401, refused.text
        assert requests.get(f"{url}/actions", headers=headers, timeout=10).status_code == 401
    assert _tickets(stack) == before
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
    # With the token the call reaches rasa-sdk (which answers it, whatever it decides).
    allowed = requests.get(
        f"{url}/actions", headers=internal_auth.headers(settings.rasa_token), timeout=10
    )
    assert allowed.status_code == 200 and "action_file_ticket" in allowed.text


def _tickets(stack: RunningStack) -> int:
    with stack.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Ticket)).scalar_one())


def test_rasa_and_the_action_server_listen_on_loopback_only(stack: RunningStack) -> None:
    settings = stack.settings
    loopback = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
    assert _listening_addresses(settings.rasa_port) == {loopback}
    assert _listening_addresses(settings.action_port) == {loopback}
    assert _listening_addresses(settings.web_port) == {loopback}


def test_the_token_is_in_no_log_and_on_no_command_line(stack: RunningStack) -> None:
    token = stack.settings.rasa_token
    assert len(token) >= 40
    # A request carrying it, so an access log would have written it by now.
    requests.get(f"{stack.settings.rasa_url}/status", params=stack.settings.rasa_auth, timeout=10)
    logs = list((stack.settings.var_dir / "logs").glob("*.log"))
    assert {p.name for p in logs} >= {"rasa.log", "actions.log", "web.log"}
    for log in logs:
        assert token not in log.read_text(encoding="utf-8", errors="replace"), log.name
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert token.encode() not in cmdline.read_bytes(), cmdline
        except (PermissionError, FileNotFoundError, ProcessLookupError):
            continue
