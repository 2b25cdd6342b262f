"""The production profile's configuration, without starting it: where each process listens,
Rasa's endpoints (no secret written to disk), nginx's rendered config (no public route to Rasa
or the action servers), refused settings."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from bot.config import Settings
from bot.ops.production import (
    ProfileError,
    ensure_event_ttl,
    event_policy_name,
    layout,
    render_nginx,
    write_production_endpoints,
)
from tests.conftest import require


def _settings(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "rasa_port": 5005,
        "action_port": 5055,
        "web_port": 8080,
        "var_dir": tmp_path,
        "profile": "production",
        "database_url": "postgresql://postgres@127.0.0.1:5432/hotline",
        "tracker_password": "s3cret/pw",
        "amqp_password": "rabbit-pw",
        "rasa_replicas": 3,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def test_replicas_listen_after_their_balancer(tmp_path: Path) -> None:
    where = layout(_settings(tmp_path))
    assert where.rasa_ports == (5006, 5007, 5008)
    assert where.action_ports == (5056, 5057)
    assert where.web_ports == (8081, 8082)
    with pytest.raises(ProfileError):
        layout(_settings(tmp_path, web_replicas=0))


def test_endpoints_reference_secrets_and_never_hold_them(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    path = write_production_endpoints(settings, layout(settings))
    text = path.read_text(encoding="utf-8")
    assert "s3cret" not in text and "rabbit-pw" not in text
    endpoints = yaml.safe_load(text)
    assert endpoints["tracker_store"]["password"] == "${HOTLINE_TRACKER_PASSWORD}"
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["lock_store"]["type"] == "redis"
    assert endpoints["event_broker"]["type"] == "rasa_plugins.event_broker.MaskedPikaEventBroker"
    assert endpoints["event_broker"]["raise_on_failure"] is True
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:5055/webhook"
    # The internal token reaches the action servers as a header Rasa fills from its environment.
    assert endpoints["action_endpoint"]["headers"] == {"X-Hotline-Token": "${HOTLINE_RASA_TOKEN}"}


def test_a_password_inside_a_service_url_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path, tracker_url="postgresql://rasa:pw@db:5432/tracker")
    with pytest.raises(ProfileError, match="_PASSWORD"):
        write_production_endpoints(settings, layout(settings))


def test_the_public_listener_reaches_only_the_web_replicas(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    config = render_nginx(settings, layout(settings)).read_text(encoding="utf-8")
    public = config.split("listen 127.0.0.1:8080;")[1].split("server {")[0]
    assert "proxy_pass http://hotline_web" in public
    assert "hotline_rasa" not in public and "hotline_actions" not in public
    assert "listen 127.0.0.1:5005;" in config and "listen 127.0.0.1:5055;" in config
    assert "server 127.0.0.1:5008" in config  # the third Rasa replica is balanced
    assert "$request_uri" not in config  # query strings (one-time codes) are not logged


def test_the_tracker_store_url_for_retention(tmp_path: Path) -> None:
    assert _settings(tmp_path, profile="default").tracker_store_url == (
        f"sqlite:///{tmp_path / 'tracker.db'}"
    )
    url = _settings(tmp_path).tracker_store_url
    assert url == "postgresql://postgres:s3cret%2Fpw@127.0.0.1:5432/hotline_tracker"
    assert "s3cret" not in repr(_settings(tmp_path))


def test_an_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        _settings(tmp_path, profile="staging")


def test_a_remote_broker_gets_the_ttl_policy_as_an_instruction(tmp_path: Path) -> None:
    settings = _settings(tmp_path, amqp_url="amqp://hotline@mq.internal:5672/")
    todo = ensure_event_ttl(settings)
    assert todo is not None and "rabbitmqctl set_policy" in todo
    assert '{"message-ttl": 604800000}' in todo and "^hotline_rasa_events$" in todo


def test_the_local_broker_gets_a_ttl_on_the_event_queue(tmp_path: Path) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    require(
        Path(ctl).exists(), "需要本机的 RabbitMQ（rabbitmqctl）：apt-get install rabbitmq-server"
    )
    queue = f"hotline_test_ttl_{uuid.uuid4().hex[:8]}"
    settings = _settings(tmp_path, event_queue=queue, event_ttl_days=2)
    try:
        assert ensure_event_ttl(settings) is None
        listed = subprocess.run(
            [ctl, "list_policies", "--formatter", "json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        [policy] = [p for p in json.loads(listed) if p["name"] == event_policy_name(queue)]
        assert json.loads(policy["definition"]) == {"message-ttl": 172800000}
        assert policy["pattern"] == f"^{queue}$"
    finally:
        subprocess.run(
            [ctl, "clear_policy", event_policy_name(queue)], capture_output=True, timeout=60
        )
