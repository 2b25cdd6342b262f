"""`make audit`: every lock-file pin matched offline against the advisory snapshot (OSV ranges),
failing on what the reviewed allow-list does not name; docs/security.md shows what it prints."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.version import Version

from bot.config import PROJECT_ROOT
from tests.conftest import require

SCRIPT = PROJECT_ROOT / "scripts" / "audit_locks.py"
SNAPSHOT = PROJECT_ROOT.parent / "shared" / "advisories"
RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"

_spec = importlib.util.spec_from_file_location("audit_locks", SCRIPT)
assert _spec and _spec.loader
audit = importlib.util.module_from_spec(_spec)
sys.modules["audit_locks"] = audit
_spec.loader.exec_module(audit)


def _advisory(root: Path, folder: str, name: str, body: str) -> None:
    path = root / "pypa" / "vulns" / folder / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    root = tmp_path / "advisories"
    (root / "pypa" / "vulns").mkdir(parents=True)
    (root / "SNAPSHOT").write_text("abc123 2026-07-23\n", encoding="utf-8")
    _advisory(
        root,
        "demo",
        "PYSEC-1",
        """\
        id: PYSEC-1
        summary: fixed range
        affected:
        - package: {name: demo, ecosystem: PyPI}
          ranges:
          - type: ECOSYSTEM
            events: [{introduced: "0"}, {fixed: 1.4.0}, {introduced: 2.0.0}, {fixed: 2.1.1}]
        """,
    )
    _advisory(
        root,
        "demo",
        "PYSEC-2",
        """\
        id: PYSEC-2
        summary: last_affected is inclusive
        affected:
        - package: {name: demo, ecosystem: PyPI}
          ranges:
          - type: ECOSYSTEM
            events: [{introduced: 3.0.0}, {last_affected: 3.2.0}]
        """,
    )
    _advisory(
        root,
        "demo",
        "PYSEC-3",
        """\
        id: PYSEC-3
        summary: withdrawn, so never a finding
        withdrawn: 2026-01-01T00:00:00Z
        affected:
        - package: {name: demo, ecosystem: PyPI}
          ranges:
          - type: ECOSYSTEM
            events: [{introduced: "0"}]
        """,
    )
    # The folder is not normalised and the entry spells the name its own way.
    _advisory(
        root,
        "Other_Pkg",
        "PYSEC-4",
        """\
        id: PYSEC-4
        aliases: [CVE-2026-0004]
        summary: explicit versions only
        affected:
        - package: {name: Other.Pkg, ecosystem: PyPI}
          versions: ["0.9"]
        """,
    )
    return root


def _lock(tmp_path: Path, *pins: str) -> Path:
    lock = tmp_path / "demo.lock"
    lock.write_text("\n".join(["# a comment", *pins, "    # via something"]) + "\n")
    return lock


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.3.9", {"PYSEC-1"}),
        ("1.4.0", set()),  # fixed is exclusive
        ("1.9", set()),
        ("2.0.0", {"PYSEC-1"}),  # a second interval opens
        ("2.1.1", set()),
        ("2.9", set()),
        ("3.0.0", {"PYSEC-2"}),
        ("3.2.0", {"PYSEC-2"}),  # last_affected is inclusive
        ("3.2.1", set()),
    ],
)
def test_osv_ranges_decide_which_versions_are_affected(
    snapshot: Path, tmp_path: Path, version: str, expected: set[str]
) -> None:
    pins = audit.read_pins(_lock(tmp_path, f"demo=={version}"))
    assert {f.advisory_id for f in audit.find(pins, snapshot)} == expected


def test_explicit_versions_and_names_are_matched_normalised(snapshot: Path, tmp_path: Path) -> None:
    pins = audit.read_pins(_lock(tmp_path, "other-pkg==0.9", "Other_Pkg[extra]==1.0"))
    findings = audit.find(pins, snapshot)
    assert [(f.pin.version, f.advisory_id, f.aliases) for f in findings] == [
        ("0.9", "PYSEC-4", ("CVE-2026-0004",))
    ]


def test_the_check_fails_on_an_unreviewed_finding_and_on_a_stale_entry(
    snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = _lock(tmp_path, "demo==1.0")
    allow = tmp_path / "allow.yml"
    args = [str(lock), "--advisories", str(snapshot), "--allowlist", str(allow)]

    allow.write_text("[]\n")
    assert audit.main(args) == 1
    out = capsys.readouterr().out
    assert "abc123 2026-07-23" in out  # the snapshot's date is printed with the result
    assert "| demo.lock | demo | 1.0 | PYSEC-1 | — | 1.4.0, 2.1.1 | **UNREVIEWED** |" in out

    allow.write_text(
        "- {package: Demo, advisory: PYSEC-1, why: pinned upstream, control: not reachable}\n"
    )
    assert audit.main(args) == 0
    assert "1 findings, 1 allowed, 0 unreviewed" in capsys.readouterr().out

    allow.write_text(
        "- {package: demo, advisories: [PYSEC-1, PYSEC-2], why: pinned, control: unreachable}\n"
    )
    assert audit.main(args) == 1  # PYSEC-2 matches no pin any more: the list must shrink
    assert "demo PYSEC-2 matches no pin any more" in capsys.readouterr().out


def test_an_allow_list_entry_without_its_reasons_is_refused(tmp_path: Path) -> None:
    allow = tmp_path / "allow.yml"
    allow.write_text("- {package: demo, advisory: PYSEC-1, why: pinned}\n")
    with pytest.raises(ValueError, match="control"):
        audit.read_allowlist(allow)


def _real_check() -> subprocess.CompletedProcess[str]:
    require(
        (SNAPSHOT / "pypa" / "vulns").is_dir(),
        f"{SNAPSHOT} is missing: put the project's shared/ folder beside the checkout "
        "(../shared/advisories) to run the dependency audit.",
    )
    return subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120, check=False
    )


def test_both_lock_files_pass_the_reviewed_audit() -> None:
    result = _real_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "advisory snapshot" in result.stdout
    assert "0 unreviewed, 0 stale" in result.stdout


def test_docs_show_exactly_the_table_the_check_prints() -> None:
    table = [line for line in _real_check().stdout.splitlines() if line.startswith("|")]
    doc = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert len(table) > 2
    assert "\n".join(table) in doc, "docs/security.md: paste the table `make audit` prints"


def test_the_locked_wheel_is_fixed_and_runs_with_rasas_packaging() -> None:
    """wheel is raised past PYSEC-2026-2047 by overriding its packaging>=24 with Rasa's <21
    (requirements/rasa-overrides.txt): its modules must still import in the Rasa environment."""
    pins = {p.name: p.version for p in audit.read_pins(PROJECT_ROOT / "requirements/rasa.lock")}
    assert Version(pins["wheel"]) >= Version("0.46.2")
    require(RASA_PYTHON.exists(), "the Rasa environment is missing: run `make setup`.")
    probe = (
        "import importlib, pkgutil, warnings, wheel, packaging; "
        "warnings.simplefilter('ignore'); "
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(wheel.__path__, 'wheel.')]; "
        "print(wheel.__version__, packaging.__version__)"
    )
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    wheel_version, packaging_version = result.stdout.split()
    assert wheel_version == pins["wheel"]
    assert packaging_version == pins["packaging"]
