"""The keys, checks and indexes recorded in the lake's forge_meta.constraints, with OIDs.

DuckLake enforces none of them (forge_sql/storage/meta.py); pg_constraint, pg_index, the
index rows of pg_class and information_schema present them as PostgreSQL would.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA
from forge_sql.storage import meta

# Constraint OIDs live below the relation OIDs (pg_class.py), so they never equal a
# relation's OID: clients join pg_description on objoid alone.
_CONSTRAINT_BASE = 1 << 29


def definitions(lake: str) -> Iterator[str]:
    s = SCHEMA
    yield (
        f"CREATE OR REPLACE MACRO {s}.constraint_oid(nsp, rel, name) AS "
        f"({_CONSTRAINT_BASE} + hash(nsp, rel, name) % {1 << 29})::BIGINT"
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.declared AS SELECT k.schema_name, k.table_name, k.name, "
        "k.kind, k.columns, k.definition, "
        f"{s}.relation_oid(k.schema_name, k.table_name) AS relid, "
        f"{s}.relation_oid(k.schema_name, k.name) AS index_oid, "
        f"{s}.constraint_oid(k.schema_name, k.table_name, k.name) AS conoid, "
        f"{s}.namespace_oid(k.schema_name) AS nspoid "
        f"FROM {lake}.{meta.SCHEMA}.constraints AS k"
    )
    # With the attribute numbers of the key columns, in key order (pg_index.indkey, conkey).
    yield (
        f"CREATE OR REPLACE VIEW {s}.declared_keys AS SELECT d.*, "
        "list_transform(d.columns, name -> coalesce(list_position(t.names, name), 0))"
        f"::SMALLINT[] AS attnums FROM {s}.declared AS d JOIN ("
        "SELECT schema_name, table_name, list(column_name ORDER BY column_index) AS names "
        "FROM duckdb_columns() WHERE database_name = current_database() "
        "GROUP BY ALL) AS t USING (schema_name, table_name)"
    )
