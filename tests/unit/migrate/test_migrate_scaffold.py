"""`migrate new`: next versions and templates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from forge_sql.migrate import declaration, files, scaffold

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_numbers_keep_their_padding(tmp_path: Path) -> None:
    (tmp_path / "V009__a.sql").write_text("")
    path = scaffold.create(tmp_path, "Add Orders!", "yaml", now=NOW)
    assert path.name == "V010__add_orders.yaml"
    (table,) = declaration.load(path)
    assert table.table == "add_orders" and table.primary_key == ["id"]


def test_first_file_and_timestamps(tmp_path: Path) -> None:
    assert scaffold.create(tmp_path, "init", "sql", now=NOW).name == "V1__init.sql"
    stamped = scaffold.create(tmp_path, "seed", "py", timestamp=True, now=NOW)
    assert stamped.name == "V20250304050607__seed.py"
    # Once timestamps are used, they are the default; never below the last version.
    assert scaffold.create(tmp_path, "more", "sql", now=NOW).name == "V20250304050608__more.sql"
    assert [f.name for f in files.discover(tmp_path)] == ["init", "seed", "more"]
    assert "def up(conn):" in stamped.read_text()
