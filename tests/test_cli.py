"""The two commands a newcomer types, as a newcomer meets them: `hotline run` (via the Makefile's
run target) and the set-up script's refusal when an interpreter is missing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.config import PROJECT_ROOT
from bot.domain import internal_auth
from bot.training import FINGERPRINT_INPUTS, fingerprint
from tests.conftest import free_port


@pytest.mark.stack
def test_hotline_run_serves_all_three_and_stops_cleanly_on_ctrl_c(
    trained_model: Path, tmp_path: Path
) -> None:
    ports = {name: free_port() for name in ("RASA", "ACTION", "WEB")}
    env = {
        **os.environ,
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        **{f"HOTLINE_{name}_PORT": str(port) for name, port in ports.items()},
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        for line in proc.stdout:
            output.append(line)
            if "按 Ctrl-C" in line or time.monotonic() > deadline:
                break
        text = "".join(output)
        assert "已就绪" in text, text
        assert "无需重新训练" in text  # the session's model is reused, not retrained
        web = f"http://127.0.0.1:{ports['WEB']}"
        assert f"{web}/" in text
        assert (tmp_path / "var" / "hotline.db").exists()  # migrated on start
        reply = requests.post(f"{web}/api/chat", json={"message": "你好"}, timeout=60)
        assert "12345" in reply.json()["messages"][0]["text"]
        webhook = f"http://127.0.0.1:{ports['RASA']}/webhooks/rest/webhook"
        message = {"sender": "cli-test", "message": "你是机器人吗"}
        # The run's token is in var/rasa.token for local clients (`hotline chat`), 0600.
        token_file = tmp_path / "var" / internal_auth.RUN_TOKEN_FILE
        assert token_file.stat().st_mode & 0o077 == 0
        headers = internal_auth.headers(token_file.read_text(encoding="ascii"))
        rest = requests.post(webhook, json=message, headers=headers, timeout=60)
        assert rest.json()[0]["text"]
        assert requests.post(webhook, json=message, timeout=60).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        rest_of_output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest_of_output
    assert "已全部停止" in rest_of_output
    assert not (tmp_path / "var" / internal_auth.RUN_TOKEN_FILE).exists()
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_setup_says_in_one_sentence_that_python_310_is_missing(tmp_path: Path) -> None:
    """No python3.10 on PATH and no pyenv: one clear sentence, non-zero exit, nothing created."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Only the service interpreter is visible.
    (bin_dir / "python3.11").symlink_to(sys.executable)
    for tool in ("cat", "sha256sum", "cut", "dirname", "mkdir", "echo"):
        path = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if path:
            (bin_dir / tool).symlink_to(path)
    result = subprocess.run(
        ["/bin/bash", str(PROJECT_ROOT / "scripts" / "setup.sh")],
        env={
            "PATH": str(bin_dir),
            "HOME": str(tmp_path / "home"),
            "HOTLINE_SERVICE_VENV": str(tmp_path / "venv"),
            "HOTLINE_RASA_VENV": str(tmp_path / "venv-rasa"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Python 3.10 is missing" in lines[0] and "pyenv install 3.10" in lines[0]
    assert not (tmp_path / "venv").exists() and not (tmp_path / "venv-rasa").exists()


def test_fingerprint_follows_training_inputs_only(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    for entry in FINGERPRINT_INPUTS:
        source = PROJECT_ROOT / entry
        if source.is_dir():
            shutil.copytree(source, root / entry, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / entry).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / entry)
    before = fingerprint(root)
    assert before == fingerprint(PROJECT_ROOT)
    with open(root / "data" / "hotline" / "districts.yml", "a", encoding="utf-8") as table:
        table.write("# an operator's comment\n")
    assert fingerprint(root) == before, "editing a routing table needs no retrain"
    with open(root / "data" / "nlu" / "dialogue.yml", "a", encoding="utf-8") as nlu:
        nlu.write("\n")
    assert fingerprint(root) != before


@pytest.mark.stack
def test_hotline_chat_talks_to_the_running_bot(stack) -> None:  # type: ignore[no-untyped-def]
    def chat(token: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "chat"],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "HOTLINE_RASA_URL": stack.settings.rasa_url,
                "HOTLINE_RASA_TOKEN": token,
            },
            input="你好\n我要投诉\n/quit\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    said = chat(stack.settings.rasa_token)  # the deployment's token, as the services have it
    assert "助手：您好" in said
    assert "描述" in said
    refused = chat("x" * 43)
    assert "缺少内部令牌" in refused and "助手：" not in refused


def test_hotline_chat_says_when_no_bot_is_running() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "HOTLINE_RASA_URL": f"http://127.0.0.1:{free_port()}"},
        input="你好\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "make run" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_hotline_sweep_urges_then_escalates_lapsed_tickets_once(sqlite_url: str) -> None:
    import datetime as dt

    from sqlalchemy import select

    from bot.store.db import make_engine, make_session_factory
    from bot.store.migrate import upgrade
    from bot.store.models import Ticket
    from bot.tickets.service import TicketDraft, TicketService

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    sessions = make_session_factory(engine)
    number = (
        TicketService(sessions)
        .file(
            TicketDraft(
                "路灯坏了两个月没人修", "洛龙区城市管理局", "洛龙区", "13812345678", "cli-1"
            )
        )
        .number
    )
    with sessions.begin() as session:
        row = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        row.dispatch_due_at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    env = {**os.environ, "HOTLINE_DATABASE_URL": sqlite_url}
    outputs = [
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "sweep"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True,
        ).stdout
        for _ in range(3)
    ]  # fmt: skip
    # Lapsed in January: the first round urges, the second finds the escalation due long past.
    assert "自动催办 1 件，转督办 0 件" in outputs[0]
    assert "自动催办 0 件，转督办 1 件" in outputs[1]
    assert "自动催办 0 件，转督办 0 件" in outputs[2]
    with sessions() as session:
        row = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert [(e.action, e.actor) for e in row.events][-2:] == [
            ("urge", "system"),
            ("supervise", "system"),
        ]
    engine.dispose()
