"""pg_attrdef: column defaults, as DuckDB prints them (pg_get_expr returns adbin as is).

DuckLake reports the text NULL as the default of a column declared without one.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, visible

_CLASS_OID = 2604  # pg_attrdef's own OID, salted into the row OIDs


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_attrdef AS SELECT "
        f"({SCHEMA}.relation_oid(schema_name, table_name) + column_index * {_CLASS_OID}) "
        f"% {1 << 31} AS oid, "
        f"{SCHEMA}.relation_oid(schema_name, table_name) AS adrelid, "
        "column_index::SMALLINT AS adnum, column_default::VARCHAR AS adbin "
        f"FROM {SCHEMA}.lake_columns WHERE database_name = current_database() AND NOT internal "
        f"AND column_default <> 'NULL' AND {visible('schema_name')}"
    )
