"""Fuzzing the enterprise API from its own OpenAPI document (schemathesis), against a running
web service: every operation, valid requests (positive) and requests the document says are
wrong (negative), each response checked — no server error, a documented status, the documented
content type, a body matching the documented schema.

`python -m tools.proofs.fuzz --examples 300` starts its own stack (Rasa, actions, web service;
the per-enterprise rate limit raised so the fuzzer reaches the handlers) or uses `--url`, and
writes var/proofs/fuzz.md. tests/test_proofs.py runs the same with a few examples.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.config import PROJECT_ROOT
from bot.domain.identifiers import uscc_check_char
from bot.web.enterprise_api import openapi_document

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
REPORT = PROJECT_ROOT / "var" / "proofs" / "fuzz.md"


@dataclass
class FuzzResult:
    """What the run saw: requests sent per operation and mode, statuses, failed checks."""

    examples: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    # Requests the HTTP client itself could not send (a header it cannot encode): not the API's.
    unsendable: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500)

    @property
    def total(self) -> int:
        return sum(self.examples.values())


def _uscc() -> str:
    first17 = f"91410300{700_000_000 + uuid.uuid4().int % 200_000_000:09d}"
    return first17 + str(uscc_check_char(first17))


def register(base_url: str) -> str:
    """A fresh enterprise for the run; its token authenticates the fuzzed calls."""
    body = {"name": "洛阳模糊测试机械有限公司", "uscc": _uscc(), "contact_name": "王测试"}
    body["phone"] = "13837900000"
    response = requests.post(f"{base_url}/api/v1/enterprise/register", json=body, timeout=30)
    response.raise_for_status()
    return str(response.json()["token"])


def fuzz(base_url: str, examples: int) -> FuzzResult:
    """`examples` generated requests per operation and mode against `base_url`; derandomised,
    so the same document and count send the same requests (a run can be repeated)."""
    schema = schemathesis.openapi.from_dict(openapi_document())
    result = FuzzResult()
    token = {"value": register(base_url)}
    session = requests.Session()
    started = time.monotonic()
    operations = [(p, m) for p, ms in openapi_document()["paths"].items() for m in ms]
    for path, method in operations:
        op = schema[path][method]
        for mode in MODES:
            label = f"{method.upper()} {path} ({mode.value})"
            _run_operation(op, mode, label, base_url, examples, token, session, result)
    result.seconds = time.monotonic() - started
    return result


def _run_operation(
    op: Any,
    mode: schemathesis.GenerationMode,
    label: str,
    base_url: str,
    examples: int,
    token: dict[str, str],
    session: requests.Session,
    result: FuzzResult,
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def one(case: schemathesis.Case) -> None:
        result.examples[label] += 1
        # Our enterprise's token in place of the generated one, so the fuzzed body and
        # parameters reach the handlers (wrong tokens: tests/test_bad_input.py).
        case.headers["Authorization"] = f"Bearer {token['value']}"
        try:
            response = case.call(base_url=base_url, session=session, timeout=60)
        except (requests.exceptions.InvalidHeader, UnicodeEncodeError, ValueError):
            result.unsendable[label] += 1
            return
        result.statuses[(label, response.status_code)] += 1
        if op.path.endswith("/token") and response.status_code == 200:
            token["value"] = response.json()["token"]  # the fuzzer rotated it
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # a failed check: recorded, the run goes on
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            detail = f"{label}: {response.status_code} — {first[:200]}"
            if detail not in result.failures:
                result.failures.append(detail)

    try:
        one()
    except Unsatisfiable:
        result.unsatisfiable.append(label)  # nothing to make wrong (no parameters, no body)


def report(result: FuzzResult, base_url: str, examples: int) -> str:
    statuses: dict[str, Counter[int]] = {}
    for (label, status), count in sorted(result.statuses.items()):
        statuses.setdefault(label, Counter())[status] += count
    lines = [
        "# Fuzz run of the enterprise API (schemathesis on its OpenAPI document)",
        "",
        f"- command: `python -m tools.proofs.fuzz --examples {examples}`",
        f"- target: {base_url}; schemathesis {schemathesis.__version__}; "
        f"{platform.node()} ({os.cpu_count()} cores), {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- requests sent: **{result.total}** in {result.seconds:.0f} s; "
        f"server errors (5xx): **{result.server_errors}**; failed checks: "
        f"**{len(result.failures)}**; not sendable by the HTTP client: "
        f"{sum(result.unsendable.values())}",
        f"- checks on every response: {', '.join(c.__name__ for c in CHECKS)}",
        "",
        "| operation (mode) | requests | statuses seen |",
        "|---|---|---|",
    ]
    for label, count in result.examples.items():
        seen = ", ".join(f"{s}×{n}" for s, n in sorted(statuses.get(label, Counter()).items()))
        lines.append(f"| {label} | {count} | {seen or '—'} |")
    if result.unsatisfiable:
        lines += [
            "",
            "No negative request possible (nothing to make wrong): "
            + ", ".join(result.unsatisfiable),
        ]
    lines += ["", "## Failures", ""]
    lines += [f"- {f}" for f in result.failures] or ["None."]
    return "\n".join(lines) + "\n"


def write_report(text: str, path: Path = REPORT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="per operation and mode")
    parser.add_argument("--url", help="a running web service (else one is started)")
    options = parser.parse_args()
    if options.url:
        base_url = options.url.rstrip("/")
        result = fuzz(base_url, options.examples)
    else:
        from tools.harness import own_stack

        # The fuzzer is one enterprise sending thousands of requests: the rate limit would
        # answer most of them 429 before a handler saw them.
        os.environ["HOTLINE_ENTERPRISE_RATE_BURST"] = "1000000"
        os.environ["HOTLINE_ENTERPRISE_RATE_PER_SECOND"] = "1000000"
        with own_stack("hotline-fuzz-") as stack_settings:
            base_url = stack_settings.web_url
            result = fuzz(base_url, options.examples)
    path = write_report(report(result, base_url, options.examples))
    print(
        f"{result.total} requests, {result.server_errors} server errors, "
        f"{len(result.failures)} failed checks — {path}"
    )


if __name__ == "__main__":
    main()
