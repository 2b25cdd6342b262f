"""Where the evaluation sets are, and the readers the leakage check needs at run time.

The sets are measurement material, not product data: the real published complaints beside the
checkout (`../shared/eval`, which must never be copied into data/ or tests/), our dev and entity
sets (tests/nlu) and the messy callers (tests/callers). tools/eval scores the NLU on them; the
console's export checks a correction against them (bot/review/leakage.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bot.config import PROJECT_ROOT

REAL_SET = PROJECT_ROOT.parent / "shared" / "eval" / "real-complaints-dev.jsonl"
TEST_NLU_DIR = PROJECT_ROOT / "tests" / "nlu"
CALLERS_DIR = PROJECT_ROOT / "tests" / "callers"


def real_rows(path: Path = REAL_SET) -> list[dict[str, Any]]:
    """The published complaints as rows (text, label, source); none when the file is absent."""
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def load_conversations(directory: Path = CALLERS_DIR) -> list[dict[str, Any]]:
    """Every scripted caller conversation, file by file in name order."""
    conversations: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yml")):
        with open(path, encoding="utf-8") as handle:
            conversations += yaml.safe_load(handle)["conversations"]
    return conversations
