"""The keys, checks and indexes of the lake's forge_meta.constraints (recorded by the
constraint DDL, not enforced), with OIDs, parsed REFERENCES clauses and attribute numbers,
as pg_constraint, pg_index, pg_class and information_schema present them."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, literal

# Constraint OIDs live below the relation OIDs (pg_class.py), so they never equal a
# relation's OID: clients join pg_description on objoid alone.
_CONSTRAINT_BASE = 1 << 29
# REFERENCES [schema.]table (columns), either name possibly double-quoted.
_NAME = r'(?:"(?:[^"]|"")+"|[^\s."(]+)'
_REFERENCES = rf"REFERENCES\s+(?:({_NAME})\s*\.\s*)?({_NAME})\s*\(([^)]*)\)"


# Binding a DuckLake table costs ~50-100 ms with a hundred tables in the lake, and pg_class
# reads these rows twice: forge_sql.catalog.snapshot copies them into ``declared_rows`` and
# fills these tables, in this order, from the views "<name>_source", once per lake snapshot.
MATERIALIZED = ("declared", "declared_keys", "declared_counts")


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
    for name in MATERIALIZED[1:]:
        yield f"CREATE OR REPLACE TABLE {s}.{name} AS SELECT * FROM {s}.{name}_source"
