"""survival_core has no import circle (no module reaches itself again through the modules it
imports) and no upward import (no package imports one on a higher floor of
``survival_core.FLOORS``); imports at import time and inside functions count, imports only a type
checker reads do not."""

from __future__ import annotations

import ast
from pathlib import Path

from survival_core import FLOORS
from tests.conftest import ROOT

PACKAGE = ROOT / "survival_core"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            skipped |= {id(inner) for inner in ast.walk(node)}
    return skipped


def import_graph() -> dict[str, set[str]]:
    """Module -> the survival_core modules it imports (``from a import b`` counts ``a.b`` when
    b is a module, else ``a``)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("survival_core"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    graph[name].add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in modules}
        graph[name] -= {name, "survival_core"}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (its modules in order, the first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_survival_core_has_no_import_circle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def _unit(module: str) -> str:
    """The package or top-level module of ``survival_core`` that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def upward_imports(graph: dict[str, set[str]], floors: tuple[tuple[str, ...], ...]) -> list[str]:
    """``a -> b`` for every import of a package on the same or a higher floor than the importer's
    (modules of the foundation floor, the first, may import each other)."""
    floor = {unit: level for level, units in enumerate(floors) for unit in units}
    found = []
    for module, targets in sorted(graph.items()):
        if module == "survival_core":  # the package's __init__ imports nothing of its own
            continue
        here = floor[_unit(module)]
        for target in sorted(targets):
            there = floor[_unit(target)]
            if _unit(target) != _unit(module) and there >= here and (here, there) != (0, 0):
                found.append(f"{module} -> {target}")
    return found


def test_every_package_has_a_floor() -> None:
    units = {_unit(module) for module in import_graph()} - {"survival_core"}
    placed = {unit for units in FLOORS for unit in units}
    assert units <= placed, f"not on a floor of survival_core.FLOORS: {sorted(units - placed)}"


def test_no_package_imports_one_on_a_higher_floor() -> None:
    assert upward_imports(import_graph(), FLOORS) == []


def test_the_floor_check_finds_an_upward_import() -> None:
    floors = (("errors", "paths"), ("io",), ("models",))
    graph = {
        "survival_core.io.a": {"survival_core.errors", "survival_core.models.b"},
        "survival_core.models.b": {"survival_core.io.a"},
        "survival_core.errors": {"survival_core.paths"},
    }
    assert upward_imports(graph, floors) == ["survival_core.io.a -> survival_core.models.b"]


def test_the_check_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
