"""regclass, regtype, regnamespace, regproc and format_type as macros.

DuckDB has no OID-alias types, so forge_sql.catalog.rewrite turns ``X::regclass`` into
``regclass(X)``, which yields the OID (what comparisons and ``::oid`` need), and
``X::regclass::text`` into ``regclass_name(X)``, which yields the name; regtype and
regnamespace likewise; regproc always yields the name (pg_type's regproc columns are text).
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, literal, pg_type, visible

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
    # Relations by name: the catalog's own, tables, views, declared indexes; also what
    # regclass output reads. One small view rather than pg_class joined to pg_namespace:
    # each use is a subquery that DuckDB binds and flattens into a join of its own.
    yield (
        f"CREATE OR REPLACE VIEW {s}.relation_names AS "
        f"SELECT {s}.relation_oid(schema_name, table_name) AS oid, schema_name AS nspname, "
        f"table_name AS relname FROM {s}.lake_tables() "
        f"UNION ALL SELECT {s}.relation_oid(schema_name, view_name), schema_name, view_name "
        f"FROM {s}.lake_views WHERE database_name = current_database() AND NOT internal "
        f"AND {visible('schema_name')} "
        f"UNION ALL SELECT {s}.relation_oid(schema_name, sequence_name), schema_name, "
        f"sequence_name FROM {s}.sequence_rows "
        f"UNION ALL SELECT index_oid, schema_name, name FROM {s}.declared "
        "WHERE kind IN ('p', 'u', 'i') "
        f"UNION ALL SELECT oid, 'pg_catalog', relname FROM {s}.catalog_relations"
    )
    # The session's search path, as forge_sql.engine.search_path resolved it (the existing
    # schemas it lists); pg_catalog is searched first unless listed.
    yield (
        f"CREATE OR REPLACE MACRO {s}.search_path_schemas() AS "
        "coalesce(getvariable('forge_search_path')::VARCHAR[], ['public'])"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.current_schemas(include_implicit) AS "
        f"CASE WHEN include_implicit AND NOT list_contains({s}.search_path_schemas(), "
        f"'pg_catalog') THEN list_prepend('pg_catalog', {s}.search_path_schemas()) "
        f"ELSE {s}.search_path_schemas() END"
    )
    yield f"CREATE OR REPLACE MACRO {s}.current_schema() AS {s}.search_path_schemas()[1]"
    # An unqualified name is looked up through the session's search path, pg_catalog
    # first unless listed (current_schemas(true), engine.search_path): one lookup for all.
    part = {name: f"{s}.qualified_name(x).{name}" for name in ("q1", "p1", "q2", "p2")}
    first = f"{s}.identifier({part['q1']}, {part['p1']})"
    second = f"{s}.identifier({part['q2']}, {part['p2']})"
    yield (
        f"CREATE OR REPLACE MACRO {s}.relation_oid_of(x) AS (SELECT first(r.oid ORDER BY "
        f"list_position({s}.current_schemas(true), r.nspname)) FROM {s}.relation_names AS r "
        f"WHERE CASE WHEN {part['q2']} = '' AND {part['p2']} = '' THEN r.relname = {first} "
        f"AND list_contains({s}.current_schemas(true), r.nspname) "
        f"ELSE r.nspname = {first} AND r.relname = {second} END)"
    )
    # '' answers NULL rather than an error: it is the stand-in value the engine describes
    # untyped parameters with (ADBC's ``$1::regclass``), and PostgreSQL rejects it anyway.
    yield (
        f"CREATE OR REPLACE MACRO {s}.regclass(x) AS CASE WHEN x IS NULL OR x::VARCHAR = '' "
        "THEN NULL "
        f"ELSE coalesce(TRY_CAST(x AS BIGINT), {s}.relation_oid_of(x), "
        "error('relation \"' || x::VARCHAR || '\" does not exist')) END"
    )
    # The name of a relation OID, schema-qualified unless on the search path.
    yield (
        f"CREATE OR REPLACE MACRO {s}.regclass_name_of(x) AS CASE WHEN x = 0 THEN '-' ELSE "
        "coalesce(("
        f"SELECT first(CASE WHEN list_contains({s}.current_schemas(true), nspname) THEN relname "
        f"ELSE nspname || '.' || relname END) FROM {s}.relation_names WHERE oid = x), "
        "x::VARCHAR) END"
    )
    yield f"CREATE OR REPLACE MACRO {s}.regclass_name(x) AS {s}.regclass_name_of({s}.regclass(x))"
    # to_regclass/to_regtype: NULL where the cast raises (they answer the OID).
    yield f"CREATE OR REPLACE MACRO {s}.to_regclass(x) AS {s}.relation_oid_of(x)"
    yield (
        f"CREATE OR REPLACE MACRO {s}.to_regtype(x) AS (SELECT first(oid) FROM "
        f"{s}.pg_type_rows WHERE typname = lower(trim(x::VARCHAR)) "
        "OR sql_name = lower(trim(x::VARCHAR)))"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.regtype(x) AS CASE WHEN x IS NULL THEN NULL "
        f"ELSE coalesce(TRY_CAST(x AS BIGINT), {s}.to_regtype(x), "
        "error('type \"' || x::VARCHAR || '\" does not exist')) END"
    )
    # A constant map rather than a lookup, so it also works inside list lambdas (regtype[]).
    names = ", ".join(f"{row['oid']}: {literal(row[pg_type.SQL_NAME])}" for row in pg_type.rows())
    yield f"CREATE OR REPLACE MACRO {s}.type_sql_name(x) AS MAP {{{names}}}[x]"
    yield (
        # The zero OID prints as "-", as PostgreSQL's regtypeout prints InvalidOid.
        f"CREATE OR REPLACE MACRO {s}.regtype_name_of(x) AS "
        f"CASE WHEN x = 0 THEN '-' ELSE coalesce({s}.type_sql_name(x), x::VARCHAR) END"
    )
    yield f"CREATE OR REPLACE MACRO {s}.regtype_name(x) AS {s}.regtype_name_of({s}.regtype(x))"
    yield (
        f"CREATE OR REPLACE MACRO {s}.regtype_names(x) AS "
        f"list_transform(x, t -> {s}.regtype_name_of(t))"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.regnamespace(x) AS CASE WHEN x IS NULL THEN NULL "
        "ELSE coalesce(TRY_CAST(x AS BIGINT), "
        f"(SELECT first(oid) FROM {s}.pg_namespace WHERE nspname = {s}.identifier("
        f"{s}.qualified_name(x).q1, {s}.qualified_name(x).p1)), "
        "error('schema \"' || x::VARCHAR || '\" does not exist')) END"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.regnamespace_name_of(x) AS coalesce(("
        f"SELECT first(nspname) FROM {s}.pg_namespace WHERE oid = x), x::VARCHAR)"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.regnamespace_name(x) AS "
        f"{s}.regnamespace_name_of({s}.regnamespace(x))"
    )
    # regproc: pg_type's regproc columns hold function names, so a function is its name.
    yield (
        f"CREATE OR REPLACE MACRO {s}.regproc_name(x) AS CASE "
        "WHEN TRY_CAST(x AS BIGINT) IS NOT NULL THEN coalesce(("
        # Schema-qualified unless on the search path, as PostgreSQL's regprocout prints.
        f"SELECT first(CASE WHEN list_contains({s}.current_schemas(true), n.nspname) "
        "THEN p.proname "
        "ELSE n.nspname || '.' || p.proname END) "
        f"FROM {s}.pg_proc AS p JOIN {s}.pg_namespace AS n ON n.oid = p.pronamespace "
        "WHERE p.oid = TRY_CAST(x AS BIGINT)), "
        "CASE WHEN x::BIGINT = 0 THEN '-' ELSE x::VARCHAR END) "
        "ELSE regexp_replace(x::VARCHAR, '^pg_catalog\\.', '') END"
    )
    # The OID of ``'name'::regproc::oid`` (pgcli's \\ef looks a function up so): the one
    # function of that name, or 42883 as PostgreSQL raises for an unknown one.
    yield (
        f"CREATE OR REPLACE MACRO {s}.regproc(x) AS CASE WHEN x IS NULL THEN NULL "
        "ELSE coalesce(TRY_CAST(x AS BIGINT), "
        f"(SELECT first(p.oid ORDER BY p.oid) FROM {s}.pg_proc AS p "
        f"JOIN {s}.pg_namespace AS n ON n.oid = p.pronamespace "
        f"WHERE p.proname = {s}.parse_ident(x::VARCHAR)[-1] "
        f"AND (len({s}.parse_ident(x::VARCHAR)) = 1 "
        f"OR n.nspname = {s}.parse_ident(x::VARCHAR)[1])), "
        "error('function \"' || x::VARCHAR || '\" does not exist')) END"
    )
    # PostgreSQL's format_type(): the SQL name, with the typmod spelled out.
    yield (
        f"CREATE OR REPLACE MACRO {s}.format_type(type_oid, typmod) AS "
        "CASE WHEN type_oid IS NULL THEN NULL ELSE "
        f"coalesce({s}.type_sql_name(type_oid), '???') || "
        "CASE WHEN typmod IS NULL OR typmod < 0 THEN '' "
        "WHEN type_oid = 1700 THEN '(' || ((typmod - 4) // 65536) || ',' "
        "|| ((typmod - 4) % 65536) || ')' "
        "WHEN type_oid IN (1042, 1043) THEN '(' || (typmod - 4) || ')' ELSE '' END END"
    )
