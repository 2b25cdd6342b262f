"""Reading Rasa YAML NLU files without Rasa: for data checks, evaluation and baselines.

Runs in the service environment (Python 3.11), where Rasa cannot be imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

# [洛龙区住建局](organization)  or  [洛龙区住建局]{"entity": "organization"}
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|\{(?P<json>[^}]+)\})")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[tuple[str, str], ...]  # (entity type, surface text)
    source: str


def _plain(annotated: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    entities: list[tuple[str, str]] = []

    def keep(match: re.Match[str]) -> str:
        entity = match.group("entity")
        if entity is None:
            found = re.search(r'"entity"\s*:\s*"([^"]+)"', match.group("json") or "")
            entity = found.group(1) if found else ""
        entities.append((entity.split(":")[0].strip(), match.group("text")))
        return match.group("text")

    return _ANNOTATION.sub(keep, annotated), tuple(entities)


def read_nlu_file(path: Path) -> list[Example]:
    with open(path, encoding="utf-8") as handle:
        content = yaml.safe_load(handle) or {}
    examples: list[Example] = []
    for block in content.get("nlu") or []:
        intent = block.get("intent")
        if not intent:
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if not line.startswith("- "):
                continue
            text, entities = _plain(line[2:].strip())
            if text:
                examples.append(Example(text, str(intent), entities, str(path)))
    return examples


def read_nlu(paths: Iterable[Path]) -> list[Example]:
    examples: list[Example] = []
    for path in paths:
        files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        for file in files:
            examples.extend(read_nlu_file(file))
    return examples
