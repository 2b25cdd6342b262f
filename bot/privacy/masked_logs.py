"""Every log file of the processes we start is written here, with phone and ID numbers and access
codes masked.

What people type reaches logs by paths no single logging filter sees: Rasa quotes a payload it
cannot parse in a `warnings` line on stderr (`Failed to parse arguments in line '/complain{"phone":
"138…"}'`) and logs message texts at DEBUG, libraries print, an exception's text can quote a SQL
parameter. So the supervisor (bot/ops/supervisor.py) owns the log files instead of the children: a child's
stdout and stderr are one pipe, and a thread per process copies it line by line into
var/logs/<name>.log through `mask_text` (bot/domain/privacy.py) — nothing a process prints reaches
the disk unmasked, whatever library printed it. nginx writes its own files and logs the path
without the query string (deploy/nginx); our URLs carry no personal data.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from bot.domain.privacy import mask_text
from bot.domain.tickets import MASKED_CODE

# Escaped non-ASCII text: JSON's \uXXXX (Rasa's structured DEBUG lines) and Python's \xNN (a
# bytes repr). Masking the escaped form fails: in 证410323… written as \u8bc1410323… the number
# follows a hex digit, and no pattern can tell that apart from a longer number.
_JSON_ESCAPES = re.compile(r"(?<!\\)(?:\\u[0-9a-fA-F]{4})+")
_BYTE_ESCAPES = re.compile(r"(?<!\\)(?:\\x[0-9a-fA-F]{2})+")


def _json_run(match: re.Match[str]) -> str:
    decoded = json.loads(f'"{match.group()}"')
    # ASCII (a quote, a control character) and lone surrogates stay escaped: the line stays
    # valid JSON and valid UTF-8.
    return "".join(
        ch if ord(ch) >= 0x80 and not 0xD800 <= ord(ch) <= 0xDFFF else f"\\u{ord(ch):04x}"
        for ch in decoded
    )


def _bytes_run(match: re.Match[str]) -> str:
    raw = bytes.fromhex(match.group().replace("\\x", ""))
    decoded = raw.decode("utf-8", errors="surrogateescape")  # invalid bytes → U+DC80…U+DCFF
    return "".join(
        ch if ord(ch) >= 0x80 and not 0xDC80 <= ord(ch) <= 0xDCFF else f"\\x{ord(ch) & 0xFF:02x}"
        for ch in decoded
    )


def readable(line: str) -> str:
    """`line` with escaped non-ASCII text written as the characters it stands for."""
    return _BYTE_ESCAPES.sub(_bytes_run, _JSON_ESCAPES.sub(_json_run, line))


# Six digits standing alone: Rasa's DEBUG lines quote what a person typed ("Received user message
# '233667'") and the slots ("access_code: 233667") with nothing around the number that says it is
# an access code. A log needs no such number, so every one is masked; digits inside an
# identifier, a time, a path, a longer or a masked number are not alone and stay.
_BARE_SIX_DIGITS = re.compile(r"(?<![0-9A-Za-z_\-.:/*])[0-9]{6}(?![0-9A-Za-z_\-.:/*])")


def mask_line(line: bytes) -> bytes:
    """One line of a process's output as it is written to its log file: escapes of non-ASCII
    text decoded, then phone and ID numbers and access codes (提取码) masked."""
    text = mask_text(readable(line.decode("utf-8", errors="replace")))
    return _BARE_SIX_DIGITS.sub(MASKED_CODE, text).encode("utf-8", errors="backslashreplace")


LogOpener = Callable[[Path], IO[bytes]]


def _open_log(path: Path) -> IO[bytes]:
    # Unbuffered: a failed write leaves nothing queued to fail again (or land half) later.
    return open(path, "ab", buffering=0)


class LogCopy:
    """The thread copying one child's output into its log file, and what it could not write.

    The child's pipe is drained whatever happens to the file: a copier that stopped on a full
    disk would leave the pipe full, and the child would then hang on its next print — every
    request of a web service or Rasa stalls on a log line. So a line that cannot be written is
    dropped and counted, the file is opened again for the next line (an operator may have moved
    or removed it to make room), and the first line that can be written again is preceded by one
    saying how many were lost and why. `dropped` is read by the supervisor (`hotline run` prints
    it as it grows).
    """

    def __init__(self, source: IO[bytes], path: Path, open_log: LogOpener = _open_log) -> None:
        self.path = path
        self.dropped = 0  # lines lost since the copy began
        self._source = source
        self._open_log = open_log
        self._unreported = 0
        self._last_error = ""
        self._dropping_since = ""
        self.thread = threading.Thread(target=self._copy, name=f"log {path.name}", daemon=True)
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def _copy(self) -> None:
        log: IO[bytes] | None = None
        with self._source:
            try:
                for line in iter(self._source.readline, b""):
                    log = self._write(log, mask_line(line))
            finally:
                if log is not None:
                    log.close()

    def _write(self, log: IO[bytes] | None, data: bytes) -> IO[bytes] | None:
        """Write one line (and, first, the note of lines lost before it); the file to use next,
        None after a failure so the next line opens it again."""
        try:
            if log is None:
                log = self._open_log(self.path)
            if self._unreported:
                _write_all(log, self._note())
                self._unreported = 0
            _write_all(log, data)
            return log
        except (OSError, ValueError) as error:  # ValueError: a file closed under us
            self.dropped += 1
            self._unreported += 1
            if self._unreported == 1:
                self._dropping_since = _now()
            reason = getattr(error, "strerror", None) or error
            self._last_error = f"{type(error).__name__}: {reason}"
            if log is not None:
                try:
                    log.close()
                except OSError:
                    pass
            return None

    def _note(self) -> bytes:
        return (
            f"{_now()} [hotline] {self._unreported} log lines dropped since "
            f"{self._dropping_since}: the log file could not be written ({self._last_error})\n"
        ).encode()


def _write_all(log: IO[bytes], data: bytes) -> None:
    while data:
        written = log.write(data)
        if written is None:  # a non-blocking file that took nothing: not a log file
            raise BlockingIOError("log file would block")
        data = data[written:]


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def masked_copy(source: IO[bytes], path: Path, open_log: LogOpener = _open_log) -> LogCopy:
    """Copy `source` (a child's output pipe) into `path` until the child closes it; returns the
    copy (join it to be sure the last lines are on disk; `dropped` counts lost lines)."""
    return LogCopy(source, path, open_log)
