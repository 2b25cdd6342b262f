"""The supervisor's log copy (bot/privacy/masked_logs.LogCopy) survives a full disk.

A copier that stopped at the first failed write left the child's pipe undrained: the child then
hung on its next print, and logged nothing more until restarted. Here a real child process writes
through a real pipe into a log file whose writes fail with ENOSPC for a while."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from bot.cli import _report_dropped_log_lines
from bot.privacy.masked_logs import masked_copy

LINES = 3000  # ~300 KB: several times what a pipe holds, so a stopped copier blocks the child

CHILD = f"""
import sys
for number in range({LINES}):
    print("line %05d " % number + "x" * 90, flush=True)
print("written", file=sys.stderr, flush=True)
sys.stdin.readline()  # the test frees the disk, then lets the child go on
print("after the disk has room again: 电话13812345678", flush=True)
"""


class FullDisk:
    """Opens the log for real; while `full` is set every write fails as on a full disk."""

    def __init__(self) -> None:
        self.full = threading.Event()
        self.opened = 0

    def open(self, path: Path) -> IO[bytes]:
        self.opened += 1
        return _Failing(open(path, "ab", buffering=0), self.full)


class _Failing:
    def __init__(self, handle: IO[bytes], full: threading.Event) -> None:
        self._handle = handle
        self._full = full

    def write(self, data: bytes) -> int:
        if self._full.is_set():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._handle.write(data) or 0

    def close(self) -> None:
        self._handle.close()


def test_the_copy_keeps_draining_a_child_on_a_full_disk_and_reports_what_it_dropped(
    tmp_path: Path,
) -> None:
    disk = FullDisk()
    disk.full.set()
    log = tmp_path / "logs" / "web.log"
    log.parent.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None and child.stdin is not None
    copy = masked_copy(child.stdout, log, open_log=disk.open)  # type: ignore[arg-type]
    try:
        # The child gets all its lines out: the copier kept reading the pipe.
        assert child.stderr.readline().strip() == b"written"
        deadline = time.monotonic() + 30
        while copy.dropped < LINES and time.monotonic() < deadline:
            time.sleep(0.05)
        assert copy.dropped == LINES
        assert copy.is_alive()
        assert disk.opened >= 2  # the file is opened again after a failure, not kept broken
        disk.full.clear()
        child.stdin.write(b"go\n")
        child.stdin.close()
        assert child.wait(timeout=30) == 0
        copy.join(10)
        assert not copy.is_alive()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2, lines
    assert f"[hotline] {LINES} log lines dropped since " in lines[0]
    assert "No space left on device" in lines[0]
    assert lines[1] == "after the disk has room again: 电话138****5678"  # still masked
    assert copy.dropped == LINES  # the count stays: the supervisor reports it


def test_hotline_run_warns_as_lines_are_dropped_once_a_minute_at_most(
    capsys: pytest.CaptureFixture[str],
) -> None:
    reported: dict[str, tuple[int, float]] = {}
    _report_dropped_log_lines({}, reported)
    assert capsys.readouterr().err == ""
    _report_dropped_log_lines({"web service": 12}, reported)
    first = capsys.readouterr().err
    assert "web service 的日志写不进去" in first and "已丢弃 12 行" in first
    _report_dropped_log_lines({"web service": 40}, reported)  # within the minute: quiet
    assert capsys.readouterr().err == ""
    count, at = reported["web service"]
    reported["web service"] = (count, at - 61)
    _report_dropped_log_lines({"web service": 40}, reported)
    assert "已丢弃 40 行" in capsys.readouterr().err
