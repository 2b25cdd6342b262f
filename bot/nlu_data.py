"""Reading Rasa YAML NLU files without Rasa: for data checks, evaluation and baselines.

Runs in the service environment (Python 3.11), where Rasa cannot be imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


DOMAIN = Path(__file__).resolve().parents[1] / "domain.yml"


def _domain(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle) or {})


def _names(items: list[Any]) -> list[str]:
    """Names from a domain list whose items are a name or {name: options}."""
    return [str(i if isinstance(i, str) else next(iter(i))) for i in items]


def domain_intents(path: Path = DOMAIN) -> list[str]:
    """The intents the domain declares (what a reviewer may choose as the right one)."""
    return _names(_domain(path).get("intents") or [])


def domain_entities(path: Path = DOMAIN) -> list[str]:
    return _names(_domain(path).get("entities") or [])


def domain_response_texts(name: str, path: Path = DOMAIN) -> list[str]:
    """Every text variant of one response (utter_default …), as the bot sends it."""
    variants = (_domain(path).get("responses") or {}).get(name) or []
    return [str(v["text"]) for v in variants if isinstance(v, dict) and "text" in v]


def annotate(text: str, spans: Iterable[tuple[str, int, int]]) -> str:
    """`[span](entity)` in Rasa's training-data annotation, for (entity, start, end) spans that
    do not overlap."""
    out: list[str] = []
    at = 0
    for entity, start, end in sorted(spans, key=lambda s: s[1]):
        out += [text[at:start], f"[{text[start:end]}]({entity})"]
        at = end
    out.append(text[at:])
    return "".join(out)


def nlu_yaml(examples: Iterable[tuple[str, str]], header: str = "") -> str:
    """Rasa NLU YAML (version 3.1) for (intent, annotated example) pairs, grouped by intent in
    the order first seen; an example is one line (line breaks become spaces)."""
    by_intent: dict[str, list[str]] = {}
    for intent, example in examples:
        by_intent.setdefault(intent, []).append(" ".join(example.split()))
    lines = [f"# {line}" for line in header.splitlines()]
    lines += ['version: "3.1"', "", "nlu:"]
    for intent, items in by_intent.items():
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {item}" for item in items]
    return "\n".join(lines) + "\n"
