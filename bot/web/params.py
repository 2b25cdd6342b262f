"""Numbers in query strings and paths, read without trusting their length or their digits.

`str.isdigit` accepts superscripts and other scripts' digits that `int` refuses, `int` refuses
more than 4,300 digits, and a database refuses an id wider than its column: each of those was
a 500. A value that is not a plain, short decimal number is treated as absent.
"""

from __future__ import annotations

# Ids are 32-bit INTEGER columns on PostgreSQL; SQLite's are wider, the narrower one decides.
ID_MAX = 2**31 - 1
# Route pattern for an id in a path: longer numbers do not match (404), so no handler sees them.
ID_PATTERN = "[0-9]{1,9}"


def whole_number(text: str | None, maximum: int = ID_MAX) -> int | None:
    """`text` as a number from 0 to `maximum`, or None when it is anything else."""
    if not text or len(text) > len(str(maximum)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= maximum else None
