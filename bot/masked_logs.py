"""Every log file of the processes we start is written here, with phone and ID numbers masked.

What people type reaches logs by paths no single logging filter sees: Rasa quotes a payload it
cannot parse in a `warnings` line on stderr (`Failed to parse arguments in line '/complain{"phone":
"138…"}'`) and logs message texts at DEBUG, libraries print, an exception's text can quote a SQL
parameter. So the supervisor (bot/stack.py) owns the log files instead of the children: a child's
stdout and stderr are one pipe, and a thread per process copies it line by line into
var/logs/<name>.log through `mask_text` (bot/domain/privacy.py) — nothing a process prints reaches
the disk unmasked, whatever library printed it. nginx writes its own files and logs the path
without the query string (deploy/nginx); our URLs carry no personal data.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import IO

from bot.domain.privacy import mask_text

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


def mask_line(line: bytes) -> bytes:
    """One line of a process's output as it is written to its log file: escapes of non-ASCII
    text decoded, then phone and ID numbers masked."""
    text = readable(line.decode("utf-8", errors="replace"))
    return mask_text(text).encode("utf-8", errors="backslashreplace")


def masked_copy(source: IO[bytes], path: Path) -> threading.Thread:
    """Copy `source` (a child's output pipe) into `path` until the child closes it; returns the
    copying thread (join it to be sure the last lines are on disk)."""

    def copy() -> None:
        with source, open(path, "ab") as log:
            for line in iter(source.readline, b""):
                log.write(mask_line(line))
                log.flush()

    thread = threading.Thread(target=copy, name=f"log {path.name}", daemon=True)
    thread.start()
    return thread
