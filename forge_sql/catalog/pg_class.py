"""pg_class: the lake's tables and views (of the session's database).

OIDs derive from schema and name rather than DuckDB's catalog OIDs, which change on every
ALTER and restart: clients cache them (pgjdbc, asyncpg) and join pg_attribute by them.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA

# Above the namespace OIDs (pg_namespace.py) and below 2^31, so int4 readers cope too.
_RELATION_BASE = 1 << 30

_COMMON = (
    "0::BIGINT AS reloftype, 10::BIGINT AS relowner, {relam}::BIGINT AS relam, "
    "0::BIGINT AS relfilenode, 0::BIGINT AS reltablespace, 0 AS relpages, "
    "{reltuples}::REAL AS reltuples, 0 AS relallvisible, 0::BIGINT AS reltoastrelid, "
    "{hasindex} AS relhasindex, false AS relisshared, "
    "CASE WHEN temporary THEN 't' ELSE 'p' END AS relpersistence, '{relkind}' AS relkind, "
    "coalesce(column_count, 0)::SMALLINT AS relnatts, {checks}::SMALLINT AS relchecks, "
    "false AS relhasrules, false AS relhastriggers, false AS relhassubclass, "
    "false AS relrowsecurity, false AS relforcerowsecurity, true AS relispopulated, "
    "'d' AS relreplident, false AS relispartition, 0::BIGINT AS relrewrite, "
    "0::BIGINT AS relfrozenxid, 0::BIGINT AS relminmxid, NULL::VARCHAR[] AS relacl, "
    "NULL::VARCHAR[] AS reloptions, NULL::VARCHAR AS relpartbound"
)


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.relation_oid(nsp, rel) AS "
        f"({_RELATION_BASE} + hash(nsp, rel) % {_RELATION_BASE})::BIGINT"
    )
    head = (
        f"SELECT {SCHEMA}.relation_oid(schema_name, {{name}}) AS oid, {{name}} AS relname, "
        f"{SCHEMA}.namespace_oid(schema_name) AS relnamespace, 0::BIGINT AS reltype, "
    )
    tables = head.format(name="table_name") + _COMMON.format(
        relam=2,  # heap
        reltuples="coalesce(estimated_size, -1)",
        hasindex="index_count > 0",
        relkind="r",
        checks="check_constraint_count",
    )
    views = head.format(name="view_name") + _COMMON.format(
        relam=0, reltuples=-1, hasindex="false", relkind="v", checks=0
    )
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_class AS "
        f"{tables} FROM duckdb_tables() WHERE database_name = current_database() "
        f"UNION ALL {views} FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal"
    )
