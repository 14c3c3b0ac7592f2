"""The catalog's tables computed once per lake snapshot (a commit that changed the lake)
rather than per query; they hold committed state only."""

from __future__ import annotations

import duckdb

from forge_sql.catalog import SCHEMA, declared, lake_objects, lake_tables
from forge_sql.sql.quoting import quote_ident
from forge_sql.storage import meta

# Each filled from the view "<name>_source", in this order (later ones read earlier ones).
COPIES = (*lake_objects.MATERIALIZED, *lake_tables.MATERIALIZED, *declared.MATERIALIZED)


def latest(con: duckdb.DuckDBPyConnection, lake: str) -> int | None:
    """The lake's latest snapshot id (None: no metadata catalog to ask, refresh each time)."""
    try:
        row = con.execute(
            f"SELECT max(snapshot_id) FROM {quote_ident(lake_tables.metadata_database(lake))}"
            ".ducklake_snapshot"
        ).fetchone()
    except duckdb.Error:
        return None
    return int(row[0]) if row and row[0] is not None else None


def refresh(con: duckdb.DuckDBPyConnection, lake: str) -> None:
    """Copy the lake's constraints and recompute the copies, in one transaction (sessions
    see the old rows or the new ones)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {SCHEMA}.declared_rows")
        con.execute(
            f"INSERT INTO {SCHEMA}.declared_rows SELECT schema_name, table_name, name, kind, "
            f"columns, definition FROM {quote_ident(lake)}.{meta.SCHEMA}.constraints"
        )
        con.execute(f"DELETE FROM {SCHEMA}.sequence_rows")
        con.execute(
            f"INSERT INTO {SCHEMA}.sequence_rows SELECT schema_name, sequence_name, data_type, "
            "start_value, increment_by, min_value, max_value, cache_size, cycle, last_value, "
            "is_called, owned_table, owned_column, identity, owner "
            f"FROM {quote_ident(lake)}.{meta.SCHEMA}.sequences"
        )
        con.execute(f"DELETE FROM {SCHEMA}.declared_types")
        con.execute(
            f"INSERT INTO {SCHEMA}.declared_types SELECT schema_name, table_name, column_name, "
            f"declared_type FROM {quote_ident(lake)}.{meta.SCHEMA}.column_types"
        )
        con.execute(f"DELETE FROM {SCHEMA}.matview_rows")
        con.execute(
            f"INSERT INTO {SCHEMA}.matview_rows SELECT schema_name, matview_name, definition, "
            f"populated FROM {quote_ident(lake)}.{meta.SCHEMA}.matviews"
        )
        for name in COPIES:
            con.execute(f"DELETE FROM {SCHEMA}.{name}")
            con.execute(f"INSERT INTO {SCHEMA}.{name} SELECT * FROM {SCHEMA}.{name}_source")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
