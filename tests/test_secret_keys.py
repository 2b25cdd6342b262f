"""The deployment's secret keys (bot/privacy/keys.py): made once in var/, shared by every
process of the deployment, taken from the environment when set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.privacy.keys import (
    ACCESS_CODE_KEY_FILE,
    MIN_KEY_BYTES,
    UnusableKey,
    access_code_key,
    load_or_create_key,
)
from bot.store.migrate import upgrade

FILE_ONE = """
from bot.store.db import make_engine, make_session_factory
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
from bot.store.db import make_engine, make_session_factory
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
    configured = "from-the-environment-" + "k" * 11
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HOTLINE_ACCESS_CODE_KEY", configured)
    assert access_code_key() == configured.encode()
    assert not (tmp_path / ACCESS_CODE_KEY_FILE).exists()


@pytest.mark.parametrize("file_name", [ACCESS_CODE_KEY_FILE, "enterprise.key"])
def test_a_key_under_32_bytes_from_the_environment_is_refused(
    tmp_path: Path, file_name: str
) -> None:
    with pytest.raises(UnusableKey, match="at least 32 bytes"):
        load_or_create_key(tmp_path, "x" * (MIN_KEY_BYTES - 1), file_name)
    assert load_or_create_key(tmp_path, "x" * MIN_KEY_BYTES, file_name) == b"x" * MIN_KEY_BYTES


@pytest.mark.parametrize("content", ["", "\n", "ab" * 31, "not hex at all, but long enough!!"])
def test_an_empty_or_short_key_file_is_refused_not_used(tmp_path: Path, content: str) -> None:
    """What an interrupted first start left behind is never an HMAC key (it was b"" before),
    nor silently replaced (hashes may have been made with it): the operator is told."""
    path = tmp_path / ACCESS_CODE_KEY_FILE
    path.write_text(content, encoding="ascii")
    with pytest.raises(UnusableKey, match=ACCESS_CODE_KEY_FILE) as refused:
        load_or_create_key(tmp_path, "", ACCESS_CODE_KEY_FILE)
    assert "HOTLINE_ACCESS_CODE_KEY" in str(refused.value)
    assert path.read_text(encoding="ascii") == content


FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from bot.privacy.keys import load_or_create_key
# A disk with no room: every write to a file fails (EFBIG) instead of killing the process.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
load_or_create_key(Path(sys.argv[1]), "", "access-code.key")
"""

READ_KEY = """
import sys
from pathlib import Path
from bot.privacy.keys import load_or_create_key
print(load_or_create_key(Path(sys.argv[1]), "", "access-code.key").hex())
"""


def test_a_first_start_on_a_full_disk_leaves_no_key_file_behind(tmp_path: Path) -> None:
    """The write fails before anything is in place: the next start makes a whole key."""
    failed = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode != 0
    assert "could not be written" in failed.stderr
    assert not (tmp_path / ACCESS_CODE_KEY_FILE).exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file either
    key = load_or_create_key(tmp_path, "", ACCESS_CODE_KEY_FILE)
    assert len(key) == MIN_KEY_BYTES


def test_replicas_starting_at_once_agree_on_one_whole_key(tmp_path: Path) -> None:
    """Eight processes race to make the key: every one ends with the key in the file."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", READ_KEY, str(tmp_path)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert all(process.returncode == 0 for process in processes), [e for _, e in outputs]
    stored = (tmp_path / ACCESS_CODE_KEY_FILE).read_text(encoding="ascii")
    assert {out.strip() for out, _ in outputs} == {stored}
    assert len(bytes.fromhex(stored)) == MIN_KEY_BYTES
    assert [p.name for p in tmp_path.iterdir()] == [ACCESS_CODE_KEY_FILE]


def test_hotline_run_refuses_a_short_key_before_starting_anything(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path), "HOTLINE_ACCESS_CODE_KEY": "short"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "HOTLINE_ACCESS_CODE_KEY is 5 bytes long" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "hotline.db").exists()
