"""The lake's data files as DuckLake names and records them: which files a name shows
DuckLake wrote (and when), and where each file the catalog refers to lives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

# DuckLake 1.5.5 names every file it writes ducklake-<UUIDv7>.parquet (deletion vectors:
# ...-delete.parquet); a UUIDv7 starts with the milliseconds since the epoch it was made.
_DUCKLAKE = re.compile(
    r"^ducklake-(?P<ms>[0-9a-f]{8})-(?P<ms2>[0-9a-f]{4})-7[0-9a-f]{3}-[0-9a-f]{4}-"
    r"[0-9a-f]{12}(?:-delete)?\.parquet$"
)
# Large COPYs stage <schema>-<table>-<uuid4 hex>.parquet in the data path's copy/ folder
# (forge_sql.engine.copyin) before adding them to their table.
_STAGED = re.compile(r"^.+-[0-9a-f]{32}\.parquet$")


def written_at(name: str) -> datetime | None:
    """When DuckLake made the file called ``name`` (its UUIDv7), or None when the name is
    not one DuckLake gives."""
    match = _DUCKLAKE.match(name)
    if match is None:
        return None
    millis = int(match.group("ms") + match.group("ms2"), 16)
    return datetime.fromtimestamp(millis / 1000, UTC)


def is_staged(path: str, staging_path: str) -> bool:
    """A file a large COPY staged in ``staging_path`` (the server's own naming)."""
    return path.startswith(staging_path) and bool(_STAGED.match(path.rsplit("/", 1)[-1]))


def local_files(root: Path) -> Iterator[Path]:
    """Every Parquet file under ``root`` that DuckLake or a staged COPY wrote."""
    if not root.is_dir():
        return
    for path in root.rglob("*.parquet"):
        if path.is_file() and (written_at(path.name) or _STAGED.match(path.name)):
            yield path


# Paths of every data and deletion file the catalog refers to, in any snapshot, each with
# its recorded size: relative paths resolve against the table's, the table's against the
# schema's and the schema's against the lake's data path (DuckLake's path_is_relative).
_REFERENCED = """
WITH schemas AS (
    SELECT DISTINCT schema_id, path, path_is_relative FROM {meta}.ducklake_schema),
tables AS (
    SELECT DISTINCT t.table_id,
        CASE WHEN NOT t.path_is_relative THEN t.path
             WHEN s.path_is_relative THEN $data_path || s.path || t.path
             ELSE s.path || t.path END AS path
    FROM {meta}.ducklake_table t JOIN schemas s USING (schema_id)),
files AS (
    SELECT table_id, path, path_is_relative, file_size_bytes FROM {meta}.ducklake_data_file
    UNION ALL
    SELECT table_id, path, path_is_relative, file_size_bytes FROM {meta}.ducklake_delete_file)
SELECT DISTINCT CASE WHEN f.path_is_relative THEN t.path || f.path ELSE f.path END,
    f.file_size_bytes
FROM files f JOIN (SELECT DISTINCT table_id, path FROM tables) t USING (table_id)
ORDER BY 1
"""


def referenced(
    con: duckdb.DuckDBPyConnection, meta: str, data_path: str
) -> list[tuple[str, int]]:
    """(path, size in bytes) of every file the catalog in database ``meta`` refers to,
    relative paths taken from ``data_path``."""
    rows = con.execute(_REFERENCED.format(meta=meta), {"data_path": data_path}).fetchall()
    return [(str(path), int(size or 0)) for path, size in rows]


def data_path(con: duckdb.DuckDBPyConnection, meta: str) -> str:
    """The data path the catalog in database ``meta`` records."""
    row = con.execute(
        f"SELECT value FROM {meta}.ducklake_metadata WHERE key = 'data_path' AND scope IS NULL"
    ).fetchone()
    return str(row[0]) if row else ""
