"""The shipped extensions (the top-level extensions/ folder) are written against the
public API only, as users' are: of forge_sql they import forge_sql.ext and nothing else;
and each loads without error."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from forge_sql.plugins.loader import extension_files, load

SHIPPED = Path(__file__).resolve().parents[3] / "extensions"
FILES = sorted(SHIPPED.rglob("*.py"))


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SHIPPED)))
def test_imports_only_the_public_api(path: Path) -> None:
    ours = {name for name in imports(path) if name.split(".")[0] == "forge_sql"}
    wrong = {name for name in ours if name != "forge_sql.ext"
             and not name.startswith("forge_sql.ext.")}
    # ``from forge_sql import ext`` is the same module.
    wrong -= {"forge_sql", "forge_sql.ext"}
    assert not wrong, f"{path.name} imports {sorted(wrong)}: use forge_sql.ext only"


def test_the_shipped_extensions_load() -> None:
    assert extension_files(SHIPPED)
    registry = load([SHIPPED], shipped=None, entry_points=False)
    loaded = {e.name for e in registry.extensions} | set(registry.skipped)
    assert loaded == {p.parent.name if p.name == "__init__.py" else p.stem
                      for p in extension_files(SHIPPED)}
    assert registry.scalar("public", "slugify")
