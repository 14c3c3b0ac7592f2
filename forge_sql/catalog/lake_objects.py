"""The lake's columns, views and schemas as DuckDB's catalog functions list them, copied
once per lake snapshot: duckdb_columns() asks DuckLake about every table (tens of ms with
a hundred tables), and one catalog query of a BI tool reads it several times."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, literal

# Set (per DuckDB connection) by a session to read the copies: only where they show what a
# DuckDB function would, i.e. outside a transaction (whose uncommitted catalog changes
# only the functions see) and at the lake's latest snapshot. Unset: the functions.
VARIABLE = "forge_catalog_copies"
COPIES_ON = f"coalesce(getvariable('{VARIABLE}'), false)"

# relation -> the DuckDB function listing it
_FUNCTIONS = {
    "lake_columns": "duckdb_columns()",
    "lake_views": "duckdb_views()",
    "lake_schemas": "duckdb_schemas()",
}
# Filled by forge_sql.catalog.snapshot from the views "<name>_source".
MATERIALIZED = tuple(f"{name}_copy" for name in _FUNCTIONS)


def definitions(lake: str) -> Iterator[str]:
    """``lake``: the lake's name (the copies are filled by the server's own connection,
    whose current database is not the lake)."""
    s = SCHEMA
    # Declared string types (forge_sql.engine.declared_types), as of the lake's snapshot.
    yield (
        f"CREATE OR REPLACE TABLE {s}.declared_types (schema_name VARCHAR, table_name VARCHAR, "
        "column_name VARCHAR, declared_type VARCHAR)"
    )
    for name, function in _FUNCTIONS.items():
        if name == "lake_columns":
            # A column's data_type is what was declared where DuckDB's VARCHAR loses it.
            function = (
                f"(SELECT c.* REPLACE (coalesce(d.declared_type, c.data_type) AS data_type) "
                f"FROM duckdb_columns() AS c LEFT JOIN {s}.declared_types AS d "
                "ON d.schema_name = c.schema_name AND d.table_name = c.table_name "
                "AND d.column_name = c.column_name AND c.data_type LIKE 'VARCHAR%')"
            )
        yield (
            f"CREATE OR REPLACE VIEW {s}.{name}_copy_source AS SELECT * FROM {function} "
            f"WHERE database_name = {literal(lake)}"
        )
        yield f"CREATE OR REPLACE TABLE {s}.{name}_copy AS SELECT * FROM {s}.{name}_copy_source"
        # getvariable() is bound as a constant, so DuckDB drops the branch not taken and
        # does not call the function at all when the copy is read.
        yield (
            f"CREATE OR REPLACE VIEW {s}.{name} AS SELECT * FROM {s}.{name}_copy "
            f"WHERE {COPIES_ON} UNION ALL SELECT * FROM {function} "
            f"WHERE database_name = current_database() AND NOT {COPIES_ON}"
        )
