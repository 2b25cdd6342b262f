"""`hotline enterprise add`: same validators as the API, token printed once, stored hashed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.config import PROJECT_ROOT
from tests.enterprise_support import make_uscc


def _add(tmp_path: Path, uscc: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "enterprise",
            "add",
            "--name",
            "洛阳恒达机械有限公司",
            "--uscc",
            uscc,
            "--contact",
            "王建国",
            "--phone",
            "13837901234",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        env={
            "HOTLINE_VAR_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
        },
    )


def test_cli_registers_once_and_refuses_bad_or_duplicate_codes(tmp_path: Path) -> None:
    done = _add(tmp_path, make_uscc(5))
    assert done.returncode == 0, done.stderr
    token = done.stdout.split("：")[-1].strip()
    assert token.startswith("ent_")
    assert token not in (tmp_path / "t.db").read_bytes().decode("latin-1")
    again = _add(tmp_path, make_uscc(5))
    assert again.returncode == 1 and "已注册" in again.stderr
    bad = _add(tmp_path, make_uscc(6)[:-1] + ("0" if make_uscc(6)[-1] != "0" else "1"))
    assert bad.returncode == 2 and "统一社会信用代码" in bad.stderr
