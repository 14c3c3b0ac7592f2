"""The lake's tables for the catalog views, read without duckdb_tables(), which asks
DuckLake for every table's statistics (~7 ms a table, a second for a hundred tables)."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from forge_sql.catalog import SCHEMA, literal, visible
from forge_sql.catalog.lake_objects import COPIES_ON
from forge_sql.sql.quoting import quote_ident


def metadata_database(lake: str) -> str:
    """The name DuckLake attaches the lake's metadata catalog under."""
    return f"__ducklake_metadata_{lake}"


def has_metadata(con: duckdb.DuckDBPyConnection, lake: str) -> bool:
    """Whether the lake's metadata catalog is readable (duckdb_databases() omits it)."""
    try:
        con.execute(f"SELECT 1 FROM {quote_ident(metadata_database(lake))}.ducklake_table LIMIT 0")
    except duckdb.Error:
        return False
    return True


# The table list comes from duckdb_columns() (cheap, and it sees the session's uncommitted
# tables); comments and row estimates from the lake's metadata database, copied once per
# snapshot by forge_sql.catalog.snapshot from the view "<name>_source".
MATERIALIZED = ("lake_table_details", "lake_tables_copy")


def definitions(lake: str, has_metadata: bool) -> Iterator[str]:
    if has_metadata:
        m = quote_ident(metadata_database(lake))
        details = (
            "SELECT s.schema_name, t.table_name, g.value AS comment, "
            "st.record_count AS row_estimate "
            f"FROM {m}.ducklake_table AS t JOIN {m}.ducklake_schema AS s "
            "ON s.schema_id = t.schema_id AND s.end_snapshot IS NULL "
            f"LEFT JOIN {m}.ducklake_tag AS g ON g.object_id = t.table_id "
            "AND g.end_snapshot IS NULL AND g.key = 'comment' "
            f"LEFT JOIN {m}.ducklake_table_stats AS st ON st.table_id = t.table_id "
            "WHERE t.end_snapshot IS NULL"
        )
    else:
        details = (
            "SELECT schema_name, table_name, comment, estimated_size AS row_estimate "
            f"FROM duckdb_tables() WHERE database_name = {literal(lake)}"
        )
    yield f"CREATE OR REPLACE VIEW {SCHEMA}.lake_table_details_source AS {details}"
    yield (
        f"CREATE OR REPLACE TABLE {SCHEMA}.lake_table_details AS "
        f"SELECT * FROM {SCHEMA}.lake_table_details_source"
    )
    yield (
        # Copied once per snapshot too, after lake_table_details; lake_objects.py says
        # when a session reads the copy.
        f"CREATE OR REPLACE VIEW {SCHEMA}.lake_tables_copy_source AS "
        f"{_tables(literal(lake))}"
    )
    yield (
        f"CREATE OR REPLACE TABLE {SCHEMA}.lake_tables_copy AS "
        f"SELECT * FROM {SCHEMA}.lake_tables_copy_source"
    )
    yield (
        # A table macro: as a view in the server's database the same query runs ~20x slower
        # (DuckDB 1.5.5 plans it differently).
        f"CREATE OR REPLACE MACRO {SCHEMA}.lake_tables() AS TABLE "
        f"SELECT * FROM {SCHEMA}.lake_tables_copy WHERE {COPIES_ON} "
        f"UNION ALL SELECT * FROM ({_tables('current_database()')}) WHERE NOT {COPIES_ON}"
    )


def _tables(database: str) -> str:
    """The lake's tables with their column counts, comments and row estimates, read from
    DuckDB's functions (which see a transaction's uncommitted tables)."""
    return (
        "SELECT c.schema_name, c.table_name, "
        "c.column_count, d.comment, d.row_estimate FROM ("
        "SELECT schema_name, table_name, count(*) AS column_count FROM duckdb_columns() "
        f"WHERE database_name = {database} AND NOT internal "
        f"AND {visible('schema_name')} GROUP BY ALL) AS c "
        f"LEFT JOIN {SCHEMA}.lake_table_details AS d USING (schema_name, table_name) "
        "ANTI JOIN (SELECT schema_name, view_name AS table_name FROM duckdb_views() "
        f"WHERE database_name = {database}) AS v USING (schema_name, table_name)"
    )
