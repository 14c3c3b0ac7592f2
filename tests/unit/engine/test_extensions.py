"""Applying loaded extensions to a DuckDB database: Python replacement scans are off on
every connection opened afterwards, and the functions answer on every cursor."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from forge_sql.config import Settings
from forge_sql.engine.extensions import Extensions
from forge_sql.plugins.scalars import Caller


def test_replacement_scans_are_off_on_every_cursor(tmp_path: Path) -> None:
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "twice.py").write_text(
        "from forge_sql.ext import scalar\n\n@scalar\ndef twice(x: int) -> int:\n"
        "    return 2 * x\n"
    )
    settings = Settings(data_dir=tmp_path / "data", extensions=[tmp_path / "ext"])
    extensions = Extensions(settings, lambda token: Caller("u", False))
    con = duckdb.connect()
    cursor_before = con.cursor()
    secret_rows = pa.table({"x": [1, 2, 3]})  # noqa: F841 - what a client must not read
    assert con.cursor().execute("SELECT count(*) FROM secret_rows").fetchone() == (3,)
    extensions.install(con)
    for cursor in (con, con.cursor(), cursor_before):
        with pytest.raises(duckdb.CatalogException):
            cursor.execute("SELECT * FROM secret_rows")
        assert cursor.execute("SELECT forge_ext.public.twice(21)").fetchone() == (42,)
