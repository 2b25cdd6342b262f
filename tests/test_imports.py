"""The import graph of our packages, read from the source (every import, function-level ones
too; `if TYPE_CHECKING:` blocks excepted): no circle, and no floor reaching up.

Floors, lowest first: bot.domain and bot.config (pure rules, settings) → bot.store, bot.nlu_data,
bot.training → the areas (tickets, conversations, enterprises, accounts, review, privacy, jobs)
→ what runs them (bot.web, bot.ops, actions) → bot.cli. The Rasa
environment's plug-ins import bot.domain only; nothing we run imports tools/ or tests/ (the
CLI's development commands excepted: they load tools/ from the checkout)."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.config import PROJECT_ROOT

PACKAGES = ("bot", "actions", "rasa_plugins", "tools")
AREAS = ("tickets", "conversations", "enterprises", "accounts", "review", "privacy", "jobs")
FLOORS: dict[str, int] = {
    "bot.domain": 0,
    "bot.config": 0,
    "bot.store": 1,
    "bot.nlu_data": 1,
    "bot.training": 1,
    **{f"bot.{area}": 2 for area in AREAS},
    "bot.web": 3,
    "bot.ops": 3,
    "actions": 3,
    "bot.cli": 4,
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            relative = path.relative_to(PROJECT_ROOT)
            if "versions" in relative.parts:  # Alembic revisions: loaded by Alembic, not imported
                continue
            name = ".".join(relative.with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if _type_checking_only(node):
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
            names.append(node.module)
        stack.extend(ast.iter_child_nodes(node))
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            if imported.split(".")[0] in PACKAGES or imported.split(".")[0] == "tests":
                target = resolve(imported) or imported
                # `from bot.x import name` names bot.x itself, not the package above it
                if target != name and not name.startswith(target + "."):
                    targets.add(target)
        graph[name] = targets
    return graph


def _floor(module: str) -> int | None:
    for prefix in sorted(FLOORS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return FLOORS[prefix]
    return None


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_no_import_circle() -> None:
    assert _circles(_graph()) == []


def test_no_floor_reaches_up() -> None:
    reaching_up = [
        f"{module} → {target}"
        for module, targets in _graph().items()
        for target in targets
        if (here := _floor(module)) is not None
        and (there := _floor(target)) is not None
        and there > here
    ]
    assert reaching_up == []


def test_the_rasa_plugins_import_only_the_domain() -> None:
    outside = [
        f"{module} → {target}"
        for module, targets in _graph().items()
        if module.startswith("rasa_plugins")
        for target in targets
        if not target.startswith(("rasa_plugins", "bot.domain"))
    ]
    assert outside == []


def test_nothing_we_run_imports_tools_or_tests() -> None:
    leaking = [
        f"{module} → {target}"
        for module, targets in _graph().items()
        if module.startswith(("bot", "actions", "rasa_plugins")) and module != "bot.cli"
        for target in targets
        if target.startswith(("tools", "tests"))
    ]
    assert leaking == []
