"""The tree shows the architecture (DESIGN.md, "Parts"): each part imports only the parts
below it, so arrows between packages point one way and no modules import each other in a
circle. Any import not listed here fails."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "forge_sql"

# What each part may import (DESIGN.md). Top-level modules count as parts of their own;
# "forge_sql" is the package's __init__ (its version).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "scram": set(),
    "seam": set(),  # neutral: imports neither wire nor engine
    "sql": {"errors", "seam"},
    "storage": {"forge_sql", "errors", "sql"},
    "config": {"errors", "scram", "storage"},
    "catalog": {"errors", "seam", "sql", "storage"},
    # The public extension API: what extensions import, so it imports nothing of ours.
    "ext": set(),
    "plugins": {"forge_sql", "config", "errors", "ext", "seam", "sql"},
    "engine": {
        "forge_sql", "catalog", "config", "errors", "ext", "plugins", "scram", "seam", "sql",
        "storage",
    },
    # The protocol: never duckdb, the engine, the catalog or storage. From sql it takes
    # quoting only (no DuckDB behind it), for what it logs.
    "wire": {"errors", "scram", "seam", "sql"},
    "migrate": {"config", "engine", "errors", "plugins", "seam", "sql", "storage"},
    "storage_cli": {"config", "errors", "sql", "storage"},
    # The supervisor of serve: processes and sockets only.
    "postmaster": set(),
    "cli": {
        "forge_sql", "config", "engine", "errors", "ext", "migrate", "plugins", "postmaster",
        "storage", "storage_cli", "wire",
    },
    "__main__": {"cli"},
}
WIRE_FROM_SQL = {"forge_sql.sql.quoting"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    name = ".".join(parts)
    return name.removesuffix(".__init__")


def part(module: str) -> str | None:
    pieces = module.split(".")
    if pieces[0] != "forge_sql":
        return None
    return pieces[1] if len(pieces) > 1 else "forge_sql"


SOURCES = sorted(PACKAGE.rglob("*.py"))
MODULES = {module_name(p): p for p in SOURCES}


def imported(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            # ``from package import module`` imports the module (and runs the package's
            # __init__); ``from module import name`` imports the module.
            yield node.module
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                if child in MODULES:
                    yield child


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_parts(path: Path) -> None:
    own = part(module_name(path))
    assert own is not None
    if path.parent == PACKAGE and path.name == "__init__.py":
        own = "forge_sql"
    assert own in ALLOWED or own == "forge_sql", f"{own}: a new part needs a row in DESIGN.md"
    allowed = ALLOWED.get(own, set()) | {own}
    wrong = set()
    for name in imported(path):
        target = part(name)
        if target is None:
            if own in ("wire", "seam") and name.split(".")[0] == "duckdb":
                wrong.add(name)
            continue
        if name == "forge_sql" and own != "forge_sql":
            continue  # the package itself, run by any import of its modules
        if target not in allowed:
            wrong.add(name)
        if own == "wire" and target == "sql" and name in MODULES and name not in WIRE_FROM_SQL:
            wrong.add(name)
    assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"


def test_the_parts_form_no_circle() -> None:
    seen: set[str] = set()

    def visit(node: str, trail: tuple[str, ...]) -> None:
        assert node not in trail, " -> ".join((*trail, node))
        if node in seen:
            return
        for below in ALLOWED.get(node, set()):
            visit(below, (*trail, node))
        seen.add(node)

    for node in ALLOWED:
        visit(node, ())


def _module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph[name] = {m for m in imported(path) if m in MODULES and m != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def connect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for node in sorted(graph):
            if node not in index:
                connect(node)
    finally:
        sys.setrecursionlimit(limit)  # other tests in this process rely on the default
    return found


def test_no_modules_import_each_other_in_a_circle() -> None:
    """A package's __init__ that imports its own modules counts: ``from pkg import mod``
    runs it, so a module importing its package's __init__ closes a circle."""
    assert _circles(_module_graph()) == []


def test_the_protocol_loads_without_duckdb() -> None:
    code = (
        "import sys, forge_sql.wire.server, forge_sql.wire.connection, forge_sql.seam.backend;"
        "print(sorted(m for m in sys.modules if m == 'duckdb' or m.startswith(("
        "'duckdb.', 'forge_sql.engine', 'forge_sql.catalog', 'forge_sql.storage'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
