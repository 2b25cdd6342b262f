"""Rasa's HTTP API answers only with the run's token; Rasa and the action server listen on
loopback; the token is in no log and on no command line."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests

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


def test_the_api_needs_the_token_and_the_rest_channel_does_not(stack: RunningStack) -> None:
    settings = stack.settings
    sender = f"safety-{uuid.uuid4().hex[:10]}"
    # The gateway's way in: the REST channel's webhook, no token.
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
