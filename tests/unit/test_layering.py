"""The tree shows the architecture: wire never imports duckdb or the engine (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "forge_sql"


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "wire").rglob("*.py")), ids=str)
def test_wire_does_not_import_duckdb_or_engine(path: Path) -> None:
    found = imports(path)
    assert not {n for n in found if n == "duckdb" or n.startswith("duckdb.")}
    assert not {n for n in found if n.startswith(("forge_sql.engine", "forge_sql.storage"))}


@pytest.mark.parametrize("path", sorted((PACKAGE / "engine").rglob("*.py")), ids=str)
def test_engine_uses_only_the_wire_seam(path: Path) -> None:
    wire = {n for n in imports(path) if n.startswith("forge_sql.wire")}
    assert wire <= {"forge_sql.wire", "forge_sql.wire.backend", "forge_sql.wire.oids"}
