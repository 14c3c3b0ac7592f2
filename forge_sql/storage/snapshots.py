"""``forge_snapshots()``: the lake's snapshots, for time travel (``AT (VERSION => n)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def install(con: duckdb.DuckDBPyConnection, schema: str, lake: str) -> None:
    """Define ``forge_snapshots()`` in ``schema`` (on every session's search path).

    One row per snapshot: its id (for ``AT (VERSION => id)``), when it was committed (for
    ``AT (TIMESTAMP => ...)``), what it changed, and the commit's author and message.
    """
    name = lake.replace("'", "''")
    con.execute(
        f"CREATE OR REPLACE MACRO {schema}.forge_snapshots() AS TABLE "
        "SELECT snapshot_id, snapshot_time, schema_version, changes, author, commit_message "
        f"FROM ducklake_snapshots('{name}') ORDER BY snapshot_id"
    )
