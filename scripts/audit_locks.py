"""Match every pin of the two lock files against an offline snapshot of the Python Packaging
Advisory Database (OSV YAML), and fail on any advisory that the reviewed allow-list does not name.

Why offline: the machines this project is built and tested on reach package registries only, not
PyPI's JSON API nor api.osv.dev, so pip-audit skips every package there. A dated snapshot is
refreshed from outside (../shared/advisories/SNAPSHOT); the check prints its date so a reader
knows how old "no finding" is.

Usage: python scripts/audit_locks.py [--advisories DIR] [--allowlist FILE] [LOCK ...]
Exit 0 when every finding is allowed, 1 on an unreviewed finding or a stale allow-list entry,
2 when the snapshot cannot be read.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADVISORIES = ROOT.parent / "shared" / "advisories"
DEFAULT_ALLOWLIST = ROOT / "requirements" / "audit-allowlist.yml"
DEFAULT_LOCKS = (ROOT / "requirements" / "service.lock", ROOT / "requirements" / "rasa.lock")

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def normalise(name: str) -> str:
    """PEP 503: the advisory database and lock files spell names differently (Jinja2, jinja2)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    lock: str


@dataclass
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    affected: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    pin: Pin
    advisory_id: str
    aliases: tuple[str, ...]
    fixed: tuple[str, ...]
    summary: str


def read_pins(lock: Path) -> list[Pin]:
    """`name==version` lines of a uv/pip-compile lock file (comments and hashes ignored)."""
    pins = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins.append(Pin(normalise(match.group(1)), match.group(2), lock.name))
    return pins


def _version(text: str) -> Version | None:
    try:
        return Version(str(text))
    except InvalidVersion:
        return None


def range_affects(events: list[dict], version: Version) -> bool:
    """OSV ECOSYSTEM range semantics: sorted events open (introduced) and close (fixed: exclusive,
    last_affected: inclusive) intervals; `introduced: 0` is the lowest version."""
    points: list[tuple[Version, int, str]] = []
    for event in events:
        for kind, order in (("introduced", 1), ("fixed", 0), ("last_affected", 2)):
            if kind in event:
                raw = str(event[kind])
                at = Version("0") if raw == "0" else _version(raw)
                if at is not None:
                    points.append((at, order, kind))
    affected = False
    for at, _, kind in sorted(points):
        if kind == "introduced":
            if at > version:
                break
            affected = True
        elif kind == "fixed":
            if at > version:
                break
            affected = False
        else:  # last_affected: the version itself is still affected
            if at >= version:
                break
            affected = False
    return affected


def affects(entry: dict, pin: Pin) -> bool:
    version = _version(pin.version)
    if pin.version in [str(v) for v in entry.get("versions") or []]:
        return True
    if version is None:
        return False
    for rng in entry.get("ranges") or []:
        if rng.get("type") in ("ECOSYSTEM", "SEMVER") and range_affects(
            rng.get("events") or [], version
        ):
            return True
    return False


def fixed_versions(entry: dict) -> tuple[str, ...]:
    return tuple(
        str(event["fixed"])
        for rng in entry.get("ranges") or []
        if rng.get("type") == "ECOSYSTEM"
        for event in rng.get("events") or []
        if "fixed" in event
    )


def load_advisories(directory: Path, names: Iterable[str]) -> Iterator[tuple[str, Advisory]]:
    """Advisories naming one of `names`, withdrawn ones skipped. Folders are named by package,
    not always normalised, so folders are matched by normalised name and each file's own
    `affected[].package.name` decides."""
    wanted = set(names)
    vulns = directory / "pypa" / "vulns"
    if not vulns.is_dir():
        raise FileNotFoundError(f"{vulns} is missing")
    for folder in sorted(vulns.iterdir()):
        if not folder.is_dir() or normalise(folder.name) not in wanted:
            continue
        for path in sorted(folder.glob("*.yaml")):
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
            if data.get("withdrawn"):
                continue
            advisory = Advisory(
                id=str(data.get("id", path.stem)),
                aliases=tuple(str(a) for a in data.get("aliases") or []),
                summary=" ".join(str(data.get("summary") or data.get("details") or "").split()),
                affected=list(data.get("affected") or []),
            )
            for entry in advisory.affected:
                package = (entry.get("package") or {}).get("name")
                if package and normalise(str(package)) in wanted:
                    yield normalise(str(package)), advisory


def find(pins: list[Pin], directory: Path) -> list[Finding]:
    by_name: dict[str, list[Pin]] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    findings: dict[tuple[str, str, str], Finding] = {}
    for package, advisory in load_advisories(directory, by_name):
        for entry in advisory.affected:
            if normalise(str((entry.get("package") or {}).get("name", ""))) != package:
                continue
            for pin in by_name[package]:
                if affects(entry, pin):
                    findings[(pin.lock, pin.name, advisory.id)] = Finding(
                        pin, advisory.id, advisory.aliases, fixed_versions(entry), advisory.summary
                    )
    return sorted(findings.values(), key=lambda f: (f.pin.lock, f.pin.name, f.advisory_id))


def read_allowlist(path: Path) -> dict[tuple[str, str], dict]:
    """Reviewed findings: each entry names the package, its advisories (`advisory` or a list in
    `advisories`), why it cannot be fixed and the compensating control. An entry without both
    sentences is refused — the point of the list is the review."""
    if not path.exists():
        return {}
    entries = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or []
    allowed: dict[tuple[str, str], dict] = {}
    for entry in entries:
        ids = list(entry.get("advisories") or []) + (
            [entry["advisory"]] if entry.get("advisory") else []
        )
        missing = [k for k in ("package", "why", "control") if not entry.get(k)]
        if not ids:
            missing.append("advisory")
        if missing:
            raise ValueError(f"{path.name}: entry {entry!r} lacks {', '.join(missing)}")
        for advisory in ids:
            allowed[(normalise(entry["package"]), str(advisory))] = entry
    return allowed


def snapshot_date(directory: Path) -> str:
    stamp = directory / "SNAPSHOT"
    return stamp.read_text(encoding="utf-8").strip() if stamp.exists() else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("locks", nargs="*", type=Path, default=list(DEFAULT_LOCKS))
    parser.add_argument("--advisories", type=Path, default=DEFAULT_ADVISORIES)
    parser.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST)
    args = parser.parse_args(argv)

    if not (args.advisories / "pypa" / "vulns").is_dir():
        print(
            f"audit: no advisory snapshot at {args.advisories}/pypa/vulns — put the project's "
            "shared/ folder beside the checkout (../shared/advisories).",
            file=sys.stderr,
        )
        return 2
    pins = [pin for lock in args.locks for pin in read_pins(lock)]
    allowed = read_allowlist(args.allowlist)
    findings = find(pins, args.advisories)
    print(f"audit: advisory snapshot {snapshot_date(args.advisories)}")
    for lock in args.locks:
        print(f"audit: {lock.name}: {sum(1 for p in pins if p.lock == lock.name)} pins")

    unreviewed = [f for f in findings if (f.pin.name, f.advisory_id) not in allowed]
    used = {(f.pin.name, f.advisory_id) for f in findings}
    stale = [key for key in allowed if key not in used]

    print("| lock | package | version | advisory | aliases | fixed in | status |")
    print("|---|---|---|---|---|---|---|")
    for f in findings:
        status = "allowed" if (f.pin.name, f.advisory_id) in allowed else "**UNREVIEWED**"
        print(
            f"| {f.pin.lock} | {f.pin.name} | {f.pin.version} | {f.advisory_id} | "
            f"{', '.join(f.aliases[:2]) or '—'} | {', '.join(f.fixed) or '—'} | {status} |"
        )
    for name, advisory in stale:
        print(f"audit: allow-list entry {name} {advisory} matches no pin any more: remove it")
    print(
        f"audit: {len(findings)} findings, {len(findings) - len(unreviewed)} allowed, "
        f"{len(unreviewed)} unreviewed, {len(stale)} stale allow-list entries"
    )
    return 1 if unreviewed or stale else 0


if __name__ == "__main__":
    sys.exit(main())
