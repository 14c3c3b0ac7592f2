"""regclass, regtype and format_type as macros.

DuckDB has no OID-alias types, so forge_sql.catalog.rewrite turns ``X::regclass`` into
``regclass(X)``, which yields the OID (what comparisons and ``::oid`` need), and
``X::regclass::text`` into ``regclass_name(X)``, which yields the name; regtype likewise.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA

# [schema.]name with either part double-quoted (PostgreSQL's stringToQualifiedNameList).
_QUALIFIED = r'^\s*(?:"((?:[^"]|"")+)"|([^."\s]+))\s*(?:\.\s*(?:"((?:[^"]|"")+)"|([^."\s]+))\s*)?$'


def definitions() -> Iterator[str]:
    s = SCHEMA
    yield (
        f"CREATE OR REPLACE MACRO {s}.qualified_name(x) AS "
        f"regexp_extract(x::VARCHAR, '{_QUALIFIED}', ['q1', 'p1', 'q2', 'p2'])"
    )
    # Unquoted identifiers fold to lower case, quoted ones keep case ("" is one quote).
    yield (
        f"CREATE OR REPLACE MACRO {s}.identifier(quoted, plain) AS "
        "CASE WHEN quoted <> '' THEN replace(quoted, '\"\"', '\"') ELSE lower(plain) END"
    )
    # An unqualified name is looked up in public, as with PostgreSQL's default search_path.
    # Reads duckdb_tables()/duckdb_views() directly: joining the pg_class and pg_namespace
    # views would scan the lake's catalog three times.
    yield (
        f"CREATE OR REPLACE MACRO {s}.relation_oid_of(x) AS ("
        f"SELECT {s}.relation_oid(r.schema_name, r.relname) FROM ("
        "SELECT database_name, schema_name, table_name AS relname FROM duckdb_tables() "
        "UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views()) AS r, "
        f"(SELECT {s}.qualified_name(x) AS m) AS parts "
        "WHERE r.database_name = current_database() AND CASE WHEN m.q2 = '' AND m.p2 = '' "
        f"THEN r.relname = {s}.identifier(m.q1, m.p1) AND r.schema_name = 'public' "
        f"ELSE r.relname = {s}.identifier(m.q2, m.p2) "
        f"AND r.schema_name = {s}.identifier(m.q1, m.p1) END LIMIT 1)"
    )
    # '' answers NULL rather than an error: it is the stand-in value the engine describes
    # untyped parameters with (ADBC's ``$1::regclass``), and PostgreSQL rejects it anyway.
    yield (
        f"CREATE OR REPLACE MACRO {s}.regclass(x) AS CASE WHEN x IS NULL OR x::VARCHAR = '' "
        "THEN NULL "
        f"ELSE coalesce(TRY_CAST(x AS BIGINT), {s}.relation_oid_of(x), "
        "error('relation \"' || x::VARCHAR || '\" does not exist')) END"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.regclass_name(x) AS coalesce(("
        "SELECT CASE WHEN n.nspname = 'public' THEN c.relname "
        "ELSE n.nspname || '.' || c.relname END "
        f"FROM {s}.pg_class AS c JOIN {s}.pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE c.oid = TRY_CAST(x AS BIGINT)), x::VARCHAR)"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.regtype(x) AS CASE WHEN x IS NULL THEN NULL "
        "ELSE coalesce(TRY_CAST(x AS BIGINT), "
        f"(SELECT oid FROM {s}.pg_type_rows WHERE typname = lower(trim(x::VARCHAR)) "
        "OR sql_name = lower(trim(x::VARCHAR)) LIMIT 1), "
        "error('type \"' || x::VARCHAR || '\" does not exist')) END"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.regtype_name(x) AS coalesce(("
        f"SELECT sql_name FROM {s}.pg_type_rows WHERE oid = TRY_CAST(x AS BIGINT)), "
        "x::VARCHAR)"
    )
    # PostgreSQL's format_type(): the SQL name, with the typmod spelled out.
    yield (
        f"CREATE OR REPLACE MACRO {s}.format_type(type_oid, typmod) AS "
        "CASE WHEN type_oid IS NULL THEN NULL ELSE "
        f"coalesce((SELECT sql_name FROM {s}.pg_type_rows WHERE oid = type_oid), '???') || "
        "CASE WHEN typmod IS NULL OR typmod < 0 THEN '' "
        "WHEN type_oid = 1700 THEN '(' || ((typmod - 4) // 65536) || ',' "
        "|| ((typmod - 4) % 65536) || ')' "
        "WHEN type_oid IN (1042, 1043) THEN '(' || (typmod - 4) || ')' ELSE '' END END"
    )
