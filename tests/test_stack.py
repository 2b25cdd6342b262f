"""Start order of the processes: the web page must not come up before the bot can answer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.ops.profiles import build_services
from bot.ops.supervisor import Service, Stack, StackError, free_port

# A tiny HTTP server that, after `delay` seconds, writes `marker` and starts answering.
SLOW_SERVER = """
import http.server, pathlib, sys, time
port, delay, marker = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
time.sleep(delay)
pathlib.Path(marker).write_text("ready")
http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler).serve_forever()
"""

# Exits at once with code 3 when `marker` is missing, i.e. when it was started too early.
NEEDS_MARKER = """
import http.server, pathlib, sys
port, marker = int(sys.argv[1]), sys.argv[2]
if not pathlib.Path(marker).exists():
    sys.exit(3)
http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def _service(tmp_path: Path, name: str, script: str, *args: str, after: bool) -> Service:
    port = free_port()
    return Service(
        name=name,
        command=[sys.executable, "-c", script, str(port), *args],
        env={"PATH": "/usr/bin:/bin"},
        ready_url=f"http://127.0.0.1:{port}/",
        log_path=tmp_path / f"{name}.log",
        after_others=after,
    )


def test_a_late_service_starts_only_after_the_others_answer(tmp_path: Path) -> None:
    marker = tmp_path / "backend-ready"
    backend = _service(tmp_path, "backend", SLOW_SERVER, "1.5", str(marker), after=False)
    front = _service(tmp_path, "front", NEEDS_MARKER, str(marker), after=True)
    stack = Stack([front, backend])  # listed first, still started last
    try:
        stack.start(timeout=30)
        assert backend.is_ready() and front.is_ready()
    finally:
        stack.stop()


def test_without_the_ordering_the_front_would_have_failed(tmp_path: Path) -> None:
    """The same pair with no ordering: the front starts too early and the stack reports it."""
    marker = tmp_path / "backend-ready"
    backend = _service(tmp_path, "backend", SLOW_SERVER, "1.5", str(marker), after=False)
    front = _service(tmp_path, "front", NEEDS_MARKER, str(marker), after=False)
    stack = Stack([front, backend])
    with pytest.raises(StackError, match="front 启动失败（退出码 3）"):
        stack.start(timeout=30)
    assert backend.exited() is not None  # the stack stopped what it had started


def test_the_web_page_is_the_service_started_last(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 't.db'}")
    services = build_services(settings, tmp_path / "model.tar.gz")
    assert [s.name for s in services if s.after_others] == ["web service"]


def test_a_readiness_probe_that_reads_garbage_is_not_ready_and_leaks_no_url(
    tmp_path: Path,
) -> None:
    """A probe can read its own request back (a connect to a free port in the ephemeral range
    may connect to itself); http.client then raises BadStatusLine carrying that request line —
    Rasa's token with it. The probe answers "not ready" instead of raising."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def echo() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(conn.recv(4096))  # the request line back, as a self-connect does

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    service = Service(
        "probe", ["true"], {}, f"http://127.0.0.1:{port}/status?token=s3cret", tmp_path
    )
    assert service.is_ready() is False
    thread.join(5)
    listener.close()
