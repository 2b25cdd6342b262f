"""The bots under test: a stock Rasa bot generated from tools/perf/stock_bot/, and ours, started
through bot/ops/supervisor.py exactly as `hotline run` starts it (own var dir, SQLite by default).

Both are trained here (timed) unless told to reuse our cached model; both run as real processes
on free ports, so the load client measures what a caller would see.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.config import PROJECT_ROOT, Settings
from bot.ops.profiles import build_services
from bot.ops.supervisor import Service, Stack, free_port
from bot.training import RASA_VENV, ensure_model, rasa_env, rasa_executable, rasa_serve_command

STOCK_TEMPLATE = Path(__file__).parent / "stock_bot"

# Our variants: the default; before the validator fix (Rasa's own per-call jsonschema
# validation); and the in-memory tracker store instead of SQLite (what persistence costs).
OUR_VARIANTS = {
    "ours": "ours as `hotline run` starts it (SQL tracker store on SQLite)",
    "ours-unpatched": "ours with Rasa's own per-call jsonschema validation "
    "(HOTLINE_RASA_STOCK_VALIDATION=1), as before the fix",
    "ours-memory": "ours with Rasa's in-memory tracker store instead of SQLite",
}


@dataclass
class Bot:
    """A bot's processes and what it cost to get them running."""

    name: str
    description: str
    stack: Stack
    rasa_url: str
    rasa_token: str  # its HTTP API's `--auth-token`
    training_seconds: float | None
    startup_seconds: float = float("nan")

    def start(self) -> None:
        started = time.monotonic()
        self.stack.start(timeout=300)
        self.startup_seconds = time.monotonic() - started

    def service(self, word: str) -> Service:
        return next(s for s in self.stack.services if word in s.name)

    def pids(self) -> dict[str, int]:
        return {
            s.name: s.process.pid
            for s in self.stack.services
            if s.process is not None and s.process.poll() is None
        }


def _train(project: Path, out: Path, name: str) -> float:
    """`rasa train` in the Rasa environment; the wall time in seconds."""
    started = time.monotonic()
    result = subprocess.run(
        [
            str(rasa_executable()),
            "train",
            "--out",
            str(out),
            "--fixed-model-name",
            name,
        ],
        cwd=project,
        env=rasa_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"stock bot training failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return time.monotonic() - started


def stock_bot(work: Path, host: str = "127.0.0.1") -> Bot:
    """Copy the template into `work`, train it, and describe its two processes (not started).

    Its action module is called `stock_actions` so that our own `actions` package (processes
    start in the project root) can never shadow it."""
    project = work / "stock"
    shutil.copytree(STOCK_TEMPLATE, project, ignore=shutil.ignore_patterns("__pycache__"))
    rasa_port, action_port = free_port(), free_port()
    endpoints = {"action_endpoint": {"url": f"http://{host}:{action_port}/webhook"}}
    (project / "endpoints.yml").write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    seconds = _train(project, project / "models", "stock")
    logs = project / "logs"
    action_env = {**os.environ, "PYTHONPATH": str(project), "PYTHONUNBUFFERED": "1"}
    rasa_url = f"http://{host}:{rasa_port}"
    token = secrets.token_urlsafe(32)  # the API behind a token, as ours (rasa_plugins/serve.py)
    services = [
        Service(
            name="stock action server",
            command=[sys.executable, "-m", "rasa_sdk", "--actions", "stock_actions"]
            + ["--port", str(action_port)],
            env={**action_env, "SANIC_HOST": host},
            ready_url=f"http://{host}:{action_port}/health",
            log_path=logs / "actions.log",
        ),
        Service(
            name="stock Rasa server",
            command=[*rasa_serve_command(), "run", "--enable-api", "--interface", host]
            + ["--port", str(rasa_port), "--model", str(project / "models" / "stock.tar.gz")]
            + ["--endpoints", str(project / "endpoints.yml")]
            + ["--credentials", str(project / "credentials.yml")],
            env={**rasa_env(), "HOTLINE_RASA_TOKEN": token},
            ready_url=f"{rasa_url}/status?token={token}",
            log_path=logs / "rasa.log",
            ready_check=lambda body: b'"model_file"' in body,
        ),
    ]
    return Bot(
        "stock",
        "stock Rasa 3.6 bot (tools/perf/stock_bot)",
        Stack(services),
        rasa_url,
        token,
        seconds,
    )


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    """os.environ with `values` set, for build_services (it copies os.environ into the child
    processes' environment when it builds them)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def train_ours(work: Path, reuse: bool) -> tuple[Path, float | None]:
    """Our model: trained afresh into `work` (timed), or the cached one from models/."""
    if reuse:
        return ensure_model(PROJECT_ROOT / "models", quiet=True), None
    started = time.monotonic()
    model = ensure_model(work / "models", quiet=True)
    return model, time.monotonic() - started


def our_bot(
    variant: str, work: Path, model: Path, training_seconds: float | None, host: str = "127.0.0.1"
) -> Bot:
    """Our Rasa server and action server (no web service: the load goes to Rasa's REST channel,
    as for the stock bot), with a fresh ticket database and tracker in their own var dir."""
    from bot.store.migrate import upgrade

    settings = Settings(
        host=host,
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
        var_dir=work / variant,
        sweep_seconds=0,
    )
    upgrade(settings.database_url)
    stock_validation = "1" if variant == "ours-unpatched" else "0"
    with _environ(HOTLINE_RASA_STOCK_VALIDATION=stock_validation):
        services = build_services(settings, model, with_web=False)
    if variant == "ours-memory":
        endpoints_file = settings.var_dir / "endpoints.yml"
        endpoints = yaml.safe_load(endpoints_file.read_text(encoding="utf-8"))
        endpoints.pop("tracker_store", None)
        endpoints_file.write_text(yaml.safe_dump(endpoints, allow_unicode=True), encoding="utf-8")
    return Bot(
        variant,
        OUR_VARIANTS[variant],
        Stack(services),
        settings.rasa_url,
        settings.rasa_token,
        training_seconds,
    )


def rasa_python() -> Path:
    return RASA_VENV / "bin" / "python"
