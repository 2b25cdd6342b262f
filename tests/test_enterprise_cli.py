"""`hotline enterprise add|pending|verify|refuse`: same validators as the API, token printed
once, stored hashed; an operator verifies or refuses a claim, a reason required, audited."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main as hotline
from bot.config import PROJECT_ROOT
from bot.enterprises.registry import EnterpriseRegistry
from bot.privacy.keys import load_or_create_key
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import AuditEntry
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


def test_cli_registers_pending_claims_and_refuses_bad_codes(tmp_path: Path) -> None:
    done = _add(tmp_path, make_uscc(5))
    assert done.returncode == 0, done.stderr
    token = done.stdout.split("：")[-1].strip()
    assert token.startswith("ent_")
    assert token not in (tmp_path / "t.db").read_bytes().decode("latin-1")
    assert "待核实" in done.stdout
    # A known code is one more pending claim, as over the API: nobody learns it is known.
    again = _add(tmp_path, make_uscc(5))
    assert again.returncode == 0 and "待核实" in again.stdout
    bad = _add(tmp_path, make_uscc(6)[:-1] + ("0" if make_uscc(6)[-1] != "0" else "1"))
    assert bad.returncode == 2 and "统一社会信用代码" in bad.stderr


def test_cli_lists_verifies_and_refuses_claims(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))
    upgrade(url)
    engine = make_engine(url)
    registry = EnterpriseRegistry(make_session_factory(engine), load_or_create_key(tmp_path, ""))
    try:
        real, _ = registry.register(
            name="洛阳恒达机械有限公司",
            uscc=make_uscc(7),
            contact_name="王建国",
            phone="13837901234",
        )
        claim, _ = registry.register(
            name="洛阳恒达机械有限公司", uscc=make_uscc(7), contact_name="李四", phone="13900001111"
        )
        assert hotline(["enterprise", "pending"]) == 0
        listed = capsys.readouterr().out
        assert make_uscc(7) in listed and "138****1234" in listed and "王建国" not in listed
        assert hotline(["enterprise", "verify", "--id", str(real.id), "--reason", " "]) == 2
        assert hotline(["enterprise", "verify", "--id", "999", "--reason", "x"]) == 1
        capsys.readouterr()
        assert hotline(["enterprise", "verify", "--id", str(real.id), "--reason", "电话核实"]) == 0
        assert "已核实" in capsys.readouterr().out
        assert hotline(["enterprise", "verify", "--id", str(claim.id), "--reason", "再核实"]) == 1
        assert f"refuse --id {real.id}" in capsys.readouterr().err
        assert hotline(["enterprise", "refuse", "--id", str(claim.id), "--reason", "冒用"]) == 0
        assert registry.profile(real.id).verified  # type: ignore[union-attr]
        assert registry.profile(claim.id).refused  # type: ignore[union-attr]
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(AuditEntry.username, AuditEntry.action, AuditEntry.detail)
                .where(AuditEntry.action.like("enterprise_%"))
                .order_by(AuditEntry.id)
            ).all()
    finally:
        engine.dispose()
    assert [(r.username, r.action) for r in rows] == [
        ("cli", "enterprise_verify"),
        ("cli", "enterprise_refuse"),
    ]
    assert "电话核实" in rows[0].detail and "冒用" in rows[1].detail
