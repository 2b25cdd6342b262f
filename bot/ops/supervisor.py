"""Starting, watching and stopping the three processes: Rasa, the action server, the web service.

`hotline run` and the test suite both use this, so the tests exercise exactly the processes a
person runs: the real Rasa server (Rasa environment) and the real action server and web service
(service environment), talking over HTTP.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import yaml

from bot.config import PROJECT_ROOT, Settings
from bot.domain import internal_auth
from bot.privacy.masked_logs import LogCopy, masked_copy
from bot.training import rasa_env, rasa_serve_command


@dataclass
class Service:
    name: str
    command: list[str]
    env: dict[str, str]
    ready_url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    ready_check: Callable[[bytes], bool] = field(default=lambda body: True)
    _log_copy: LogCopy | None = field(default=None, repr=False)
    # Started only once every other service answers: the web page is what people see, and a
    # page that is up while Rasa is still loading its model answers "暂时无法回复" for ~15 s.
    after_others: bool = False

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: Ctrl-C is ours to forward
        )
        # The log file is written by us, phone and ID numbers masked (bot/privacy/masked_logs.py).
        assert self.process.stdout is not None
        self._log_copy = masked_copy(self.process.stdout, self.log_path)

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                return response.status == 200 and self.ready_check(response.read())
        except (OSError, urllib.error.URLError, http.client.HTTPException):
            # HTTPException: e.g. BadStatusLine when the probe, on a port nobody listens to yet in
            # the ephemeral range, connected to itself and read its own request back — its
            # message is that request line, Rasa's token included, so it must not propagate.
            return False

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass
        self.flush_log()

    @property
    def dropped_log_lines(self) -> int:
        """Lines of this process's output its log file could not take (a full disk)."""
        return 0 if self._log_copy is None else self._log_copy.dropped

    def flush_log(self, timeout: float = 5) -> None:
        """Wait until what an exited process printed is in its log file."""
        if self._log_copy is not None and self.exited() is not None:
            self._log_copy.join(timeout)

    def log_tail(self, lines: int = 30) -> str:
        self.flush_log()
        try:
            content = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(content.splitlines()[-lines:])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for tests and evaluations)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StackError(RuntimeError):
    """A process failed to start or died; the message names it and carries its log tail."""


def action_endpoint(url: str) -> dict[str, object]:
    """Rasa's action endpoint: the URL, and the internal token as a header (bot/ops/action_server.py
    refuses calls without it). The value is a reference Rasa fills from its environment when it
    reads the file, so the token is never written to disk."""
    return {"url": url, "headers": {internal_auth.HEADER: "${" + internal_auth.TOKEN_ENV + "}"}}


def write_endpoints(settings: Settings) -> Path:
    """endpoints.yml with this run's action server URL and tracker file (paths made absolute)."""
    with open(PROJECT_ROOT / "endpoints.yml", encoding="utf-8") as handle:
        endpoints = yaml.safe_load(handle) or {}
    endpoints["action_endpoint"] = action_endpoint(settings.action_url)
    tracker = endpoints.get("tracker_store") or {}
    if tracker.get("type") == "SQL" and tracker.get("dialect", "sqlite") == "sqlite":
        tracker["db"] = str(settings.tracker_db)
        endpoints["tracker_store"] = tracker
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    target = settings.var_dir / "endpoints.yml"
    target.write_text(yaml.safe_dump(endpoints, allow_unicode=True), encoding="utf-8")
    return target


def service_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HOTLINE_HOST": settings.host,
            "HOTLINE_RASA_PORT": str(settings.rasa_port),
            "HOTLINE_ACTION_PORT": str(settings.action_port),
            "HOTLINE_WEB_PORT": str(settings.web_port),
            "HOTLINE_VAR_DIR": str(settings.var_dir),
            "HOTLINE_DATABASE_URL": settings.database_url,
            "HOTLINE_RASA_URL": settings.rasa_url,
            "HOTLINE_RASA_TOKEN": settings.rasa_token,
            "HOTLINE_SWEEP_SECONDS": str(settings.sweep_seconds),
            "HOTLINE_RETENTION_DAYS": str(settings.retention_days),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def action_service(settings: Settings, env: dict[str, str], port: int, name: str) -> Service:
    """One action server (rasa-sdk) on `port`, bound to settings.host."""
    return Service(
        name=name,
        # rasa-sdk with the internal token checked on every call (bot/ops/action_server.py).
        command=[sys.executable, "-m", "bot.ops.action_server", "--actions", "actions"]
        + ["--port", str(port)],
        # rasa-sdk listens on 0.0.0.0 unless SANIC_HOST says otherwise.
        env={**env, "SANIC_HOST": settings.host},
        ready_url=f"http://{settings.host}:{port}/health",
        log_path=settings.var_dir / "logs" / f"{_slug(name)}.log",
    )


def rasa_service(
    settings: Settings,
    env: dict[str, str],
    port: int,
    name: str,
    *,
    model: Path,
    endpoints: Path,
) -> Service:
    """One Rasa server on `port` with its HTTP API behind the run's token."""
    return Service(
        name=name,
        # rasa_plugins.serve adds --auth-token from the environment, off the command line.
        command=[
            *rasa_serve_command(),
            "run",
            "--enable-api",
            "--interface",
            settings.host,
            "--port",
            str(port),
            "--model",
            str(model),
            "--endpoints",
            str(endpoints),
            "--credentials",
            "credentials.yml",
        ],
        env={**rasa_env(), **{k: v for k, v in env.items() if k.startswith("HOTLINE_")}},
        ready_url=f"http://{settings.host}:{port}/status?{urlencode(settings.rasa_auth)}",
        log_path=settings.var_dir / "logs" / f"{_slug(name)}.log",
        ready_check=lambda body: b'"model_file"' in body,
    )


def web_service(settings: Settings, env: dict[str, str], port: int, name: str) -> Service:
    """One web service process on `port`; started once everything it talks to answers."""
    return Service(
        name=name,
        command=[sys.executable, "-m", "bot.web"],
        env={**env, "HOTLINE_WEB_PORT": str(port)},
        ready_url=f"http://{settings.host}:{port}/healthz",
        log_path=settings.var_dir / "logs" / f"{_slug(name)}.log",
        after_others=True,
    )


def _slug(name: str) -> str:
    """The log file's name: 'action server' → actions, 'Rasa server 2' → rasa-2, …"""
    words = name.lower().replace("server", "").replace("service", "").split()
    base = {"action": "actions"}.get(words[0], words[0])
    return "-".join([base, *words[1:]])


def default_services(settings: Settings, model: Path, *, with_web: bool = True) -> list[Service]:
    """The default profile: one of each process, SQLite, no proxy."""
    endpoints = write_endpoints(settings)
    env = service_env(settings)
    services = [
        action_service(settings, env, settings.action_port, "action server"),
        rasa_service(
            settings, env, settings.rasa_port, "Rasa server", model=model, endpoints=endpoints
        ),
    ]
    if with_web:
        services.append(web_service(settings, env, settings.web_port, "web service"))
    return services


class Stack:
    """The running processes, started together and stopped together."""

    def __init__(self, services: list[Service]) -> None:
        self.services = services

    def start(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        first = [s for s in self.services if not s.after_others]
        last = [s for s in self.services if s.after_others]
        for group in (first, last):
            for service in group:
                service.start()
            self._wait_ready(group, deadline, timeout)

    def _wait_ready(self, group: list[Service], deadline: float, timeout: float) -> None:
        pending = list(group)
        while pending:
            for service in list(pending):
                code = service.exited()
                if code is not None:
                    self.stop()
                    raise StackError(
                        f"{service.name} 启动失败（退出码 {code}），日志 {service.log_path}：\n"
                        f"{service.log_tail()}"
                    )
                if service.is_ready():
                    pending.remove(service)
            if pending and time.monotonic() > deadline:
                names = "、".join(s.name for s in pending)
                tails = "\n".join(f"--- {s.name}\n{s.log_tail()}" for s in pending)
                self.stop()
                raise StackError(f"{names} 在 {timeout:.0f} 秒内没有就绪。\n{tails}")
            if pending:
                time.sleep(0.3)

    def first_exited(self) -> Service | None:
        return next((s for s in self.services if s.exited() is not None), None)

    def dropped_log_lines(self) -> dict[str, int]:
        """Per process with lost log lines (its log file could not be written), how many."""
        return {s.name: s.dropped_log_lines for s in self.services if s.dropped_log_lines}

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
