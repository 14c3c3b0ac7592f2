"""Migration files that are not what they claim: invalid UTF-8, YAML alias bombs, recursive
aliases and deep nesting are refused with file:line, bounded in time and memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from forge_sql.migrate import declaration, files, positions
from forge_sql.migrate.errors import MigrationError

BOMB = "\n".join(
    [f'a: &a [{", ".join(["lol"] * 9)}]']
    + [f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{', '.join(['*' + chr(ord('a') + i - 1)] * 9)}]"
       for i in range(1, 9)]
)  # nine lines, 9**9 (387 million) strings once expanded


def test_invalid_utf8_named_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "V1__t.sql"
    path.write_bytes(b"CREATE TABLE t (a INTEGER);\nINSERT INTO t VALUES ('caf\xe9');\n")
    (found,) = files.discover(tmp_path)
    with pytest.raises(MigrationError) as caught:
        found.text()
    assert str(caught.value) == (f"{path}:2:27: not valid UTF-8 (byte 0xe9): migration files "
                                 "are UTF-8 text")


def test_invalid_utf8_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "V1__t.yaml"
    path.write_bytes(b"table: t\ncolumns:\n  - {name: a, type: \xff\xfe}\n")
    with pytest.raises(MigrationError, match=r"V1__t\.yaml:3:21: not valid UTF-8 \(byte 0xff\)"):
        declaration.load_file(path)


def test_alias_bomb_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(MigrationError, match="YAML aliases expand to more than 100000 values"):
        positions.load("table: t\n" + BOMB, "V1__t.yaml")
    assert time.monotonic() - started < 5


def test_merge_key_bomb_refused() -> None:
    lines = ["a0: &a0 {x: 1, y: 2}"]
    lines += [f"a{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 9)}]}}" for i in range(1, 9)]
    with pytest.raises(MigrationError, match="expand to more than"):
        positions.load("\n".join(lines), "V1__t.yaml")


@pytest.mark.parametrize("text", ["a: &a [*a]", "a: &a {b: *a}"])
def test_recursive_alias_refused(text: str) -> None:
    with pytest.raises(MigrationError, match=r"V1__t\.yaml:1:4: YAML alias refers to itself"):
        positions.load(text, "V1__t.yaml")


def test_deep_nesting_refused() -> None:
    with pytest.raises(MigrationError, match="nested too deeply"):
        positions.load("[" * 1000 + "]" * 1000, "V1__t.yaml")


def test_small_aliases_still_work() -> None:
    (table,) = declaration.load(Path("V1__t.yaml"), """
tables:
  - table: a
    columns: &columns [{name: id, type: BIGINT}, {name: b, type: INTEGER}]
  - table: b
    columns: *columns
""")[:1]
    assert [c.name for c in table.columns] == ["id", "b"]
    document = positions.load("x: &x [1, 2]\ny: [*x, *x]\n", "s")
    assert document.data == {"x": [1, 2], "y": [[1, 2], [1, 2]]}
