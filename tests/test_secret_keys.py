"""The deployment's secret keys (bot/tickets/secret_keys.py): made once in var/, shared by every
process of the deployment, taken from the environment when set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.tickets.migrate import upgrade
from bot.tickets.secret_keys import ACCESS_CODE_KEY_FILE, access_code_key

FILE_ONE = """
from bot.tickets.db import make_engine, make_session_factory
from bot.tickets.service import TicketService, TicketDraft
filed = TicketService(make_session_factory(make_engine(DATABASE))).file(
    TicketDraft(
        description="小区门口路灯坏了一个月没人修", organization="西工区城管局",
        district="西工区", phone="13800000000", sender_id="web:keys", category="livelihood",
    )
)
print(filed.number, filed.access_code)
"""

LOOK_UP = """
import sys
from bot.tickets.db import make_engine, make_session_factory
from bot.tickets.service import TicketService
view = TicketService(make_session_factory(make_engine(DATABASE))).lookup(sys.argv[1], sys.argv[2])
print("found" if view else "not found")
"""


def _run(code: str, database: str, env: dict[str, str], *args: str) -> str:
    script = f"DATABASE = {database!r}\n{code}"
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_two_processes_of_one_deployment_share_the_access_code_key_through_var(
    tmp_path: Path,
) -> None:
    """No HOTLINE_ACCESS_CODE_KEY: the first process makes var/access-code.key (0600), the next
    one reads it, so a code filed by one opens the ticket in the other."""
    database = f"sqlite:///{tmp_path / 'hotline.db'}"
    upgrade(database)
    env = {k: v for k, v in os.environ.items() if k != "HOTLINE_ACCESS_CODE_KEY"}
    env["HOTLINE_VAR_DIR"] = str(tmp_path)
    number, code = _run(FILE_ONE, database, env).split()
    key_file = tmp_path / ACCESS_CODE_KEY_FILE
    assert key_file.stat().st_mode & 0o077 == 0
    assert _run(LOOK_UP, database, env, number, code) == "found"
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert _run(LOOK_UP, database, env, number, wrong) == "not found"
    # Another deployment's key (another var/) opens nothing: the key is not in the database.
    other = {**env, "HOTLINE_VAR_DIR": str(tmp_path / "other")}
    assert _run(LOOK_UP, database, other, number, code) == "not found"


def test_the_environment_key_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HOTLINE_ACCESS_CODE_KEY", "from-the-environment")
    assert access_code_key() == b"from-the-environment"
    assert not (tmp_path / ACCESS_CODE_KEY_FILE).exists()
