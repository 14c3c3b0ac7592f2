"""The keys, checks and indexes recorded in the lake's forge_meta.constraints, with OIDs.

DuckLake enforces none of them (forge_sql/storage/meta.py); pg_constraint, pg_index, the
index rows of pg_class and information_schema present them as PostgreSQL would.

Binding a DuckLake table costs ~50-100 ms with a hundred tables in the lake, and pg_class
reads these rows twice, so the catalog reads tables in the server's database that
:func:`refresh` fills when the lake has a new snapshot: ``declared`` (with OIDs and the
parsed REFERENCES clause), ``declared_keys`` (with attribute numbers) and
``declared_counts`` (per table). Each is computed by the view of the same name with the
suffix ``_source``.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from forge_sql.catalog import SCHEMA, lake_tables, literal
from forge_sql.storage import meta
from forge_sql.storage.ducklake import quote_ident

# Constraint OIDs live below the relation OIDs (pg_class.py), so they never equal a
# relation's OID: clients join pg_description on objoid alone.
_CONSTRAINT_BASE = 1 << 29
# REFERENCES [schema.]table (columns), either name possibly double-quoted.
_NAME = r'(?:"(?:[^"]|"")+"|[^\s."(]+)'
_REFERENCES = rf"REFERENCES\s+(?:({_NAME})\s*\.\s*)?({_NAME})\s*\(([^)]*)\)"


_MATERIALIZED = ("declared", "declared_keys", "declared_counts")


def definitions(lake: str) -> Iterator[str]:
    """``lake``: the lake's name, read when refreshing from the server's own connection."""
    s = SCHEMA
    yield (
        f"CREATE OR REPLACE TABLE {s}.declared_rows (schema_name VARCHAR, table_name VARCHAR, "
        "name VARCHAR, kind VARCHAR, columns VARCHAR[], definition VARCHAR)"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.constraint_oid(nsp, rel, name) AS "
        f"({_CONSTRAINT_BASE} + hash(nsp, rel, name) % {1 << 29})::BIGINT"
    )
    # A quoted identifier keeps its case, an unquoted one folds to lower case.
    yield (
        f"CREATE OR REPLACE MACRO {s}.unquoted(x) AS CASE WHEN starts_with(x, '\"') "
        "THEN replace(x[2:-2], '\"\"', '\"') ELSE lower(x) END"
    )
    # A foreign key's definition: "FOREIGN KEY (a) REFERENCES [s.]t (b) ON DELETE ...".
    yield (
        f"CREATE OR REPLACE VIEW {s}.declared_source AS SELECT k.schema_name, k.table_name, "
        "k.name, k.kind, k.columns, k.definition, "
        f"{s}.relation_oid(k.schema_name, k.table_name) AS relid, "
        f"{s}.relation_oid(k.schema_name, k.name) AS index_oid, "
        f"{s}.constraint_oid(k.schema_name, k.table_name, k.name) AS conoid, "
        f"{s}.namespace_oid(k.schema_name) AS nspoid, "
        f"CASE WHEN r.ref.schema <> '' THEN {s}.unquoted(r.ref.schema) ELSE 'public' END "
        f"AS ref_schema, {s}.unquoted(r.ref.name) AS ref_table, "
        f"list_transform(string_split(r.ref.keys, ','), c -> {s}.unquoted(trim(c))) "
        "AS ref_columns "
        f"FROM {s}.declared_rows AS k, (SELECT CASE WHEN k.kind = 'f' THEN "
        f"regexp_extract(k.definition, '{_REFERENCES}', ['schema', 'name', 'keys']) END "
        "AS ref) AS r"
    )
    # With attribute numbers of the key columns in key order (pg_index.indkey, conkey) and,
    # for a foreign key, of the referenced columns (confkey).
    names = (
        "SELECT schema_name, table_name, list(column_name ORDER BY column_index) AS names "
        f"FROM duckdb_columns() WHERE database_name = {literal(lake)} GROUP BY ALL"
    )
    yield f"CREATE OR REPLACE TABLE {s}.declared AS SELECT * FROM {s}.declared_source"
    yield (
        f"CREATE OR REPLACE VIEW {s}.declared_keys_source AS SELECT d.*, "
        "list_transform(d.columns, name -> coalesce(list_position(t.names, name), 0))"
        "::SMALLINT[] AS attnums, "
        f"{s}.relation_oid(d.ref_schema, d.ref_table) AS ref_relid, "
        "list_transform(d.ref_columns, name -> coalesce(list_position(rt.names, name), 0))"
        f"::SMALLINT[] AS ref_attnums FROM {s}.declared AS d JOIN ({names}) AS t "
        f"USING (schema_name, table_name) LEFT JOIN ({names}) AS rt "
        "ON rt.schema_name = d.ref_schema AND rt.table_name = d.ref_table"
    )
    # Per table: declared indexes (primary keys and unique constraints have one, as in
    # PostgreSQL), checks, and foreign keys either way, which PostgreSQL implements with
    # triggers: psql lists a table's foreign keys only when relhastriggers is set.
    yield (
        f"CREATE OR REPLACE VIEW {s}.declared_counts_source AS SELECT relid, "
        "count(*) FILTER (WHERE kind IN ('p', 'u', 'i')) AS indexes, "
        "count(*) FILTER (WHERE kind = 'c') AS checks, "
        "count(*) FILTER (WHERE kind = 'f') AS foreign_keys FROM ("
        f"SELECT relid, kind FROM {s}.declared UNION ALL "
        f"SELECT {s}.relation_oid(ref_schema, ref_table), kind FROM {s}.declared "
        "WHERE kind = 'f') GROUP BY relid"
    )
    for name in _MATERIALIZED[1:]:
        yield f"CREATE OR REPLACE TABLE {s}.{name} AS SELECT * FROM {s}.{name}_source"


def snapshot(con: duckdb.DuckDBPyConnection, lake: str) -> int | None:
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
    """Copy the lake's constraints and recompute the tables derived from them, in one
    transaction (sessions see the old rows or the new ones)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {SCHEMA}.declared_rows")
        con.execute(
            f"INSERT INTO {SCHEMA}.declared_rows SELECT schema_name, table_name, name, kind, "
            f"columns, definition FROM {quote_ident(lake)}.{meta.SCHEMA}.constraints"
        )
        for name in _MATERIALIZED:
            con.execute(f"DELETE FROM {SCHEMA}.{name}")
            con.execute(f"INSERT INTO {SCHEMA}.{name} SELECT * FROM {SCHEMA}.{name}_source")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
