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

import threading
from pathlib import Path
from typing import IO

from bot.domain.privacy import mask_text


def mask_line(line: bytes) -> bytes:
    """One line of a process's output as it is written to its log file."""
    return mask_text(line.decode("utf-8", errors="replace")).encode("utf-8")


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
