"""Loading of the operator-editable tables in data/hotline/.

The domain changes (districts, later categories, routing and deadlines), so it lives in data
files; this module is the one place that knows where they are.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TABLES_DIR = PROJECT_ROOT / "data" / "hotline"


def load_table(name: str) -> Any:
    """Parse data/hotline/<name>.yml (cached; tables change with a deploy, not at run time)."""
    return _load(str(TABLES_DIR / f"{name}.yml"))


@functools.cache
def _load(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)
