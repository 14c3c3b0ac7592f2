"""catalog.rewrite: pg_catalog references, reg* casts and regproc comparisons, literal-safe."""

from __future__ import annotations

import pytest

from forge_sql.catalog.rewrite import needed, rewrite

CASES = [
    # qualified references to what the emulation provides
    ("SELECT * FROM pg_catalog.pg_type", "SELECT * FROM server.pgc.pg_type"),
    ("SELECT * FROM PG_CATALOG . pg_class c", "SELECT * FROM server.pgc . pg_class c"),
    ('SELECT * FROM "pg_catalog"."pg_attribute"', 'SELECT * FROM server.pgc."pg_attribute"'),
    # functions resolve through the search path (the emulation first); types unqualified
    ("SELECT pg_catalog.format_type(23, -1)", "SELECT format_type(23, -1)"),
    (
        "SELECT x::pg_catalog.int2[], CAST(y AS pg_catalog.text)",
        "SELECT x::int2[], CAST(y AS text)",
    ),
    (
        "WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default",
        "WHERE c.relname ~ '(?s).*(?:^(t)$).*' ",
    ),
    ("WHERE n !~ '^pg_' AND m ~* 'x'", "WHERE n !~ '(?s).*(?:^pg_).*' AND m ~ '(?is).*(?:x).*'"),
    ("SELECT information_schema.tables", "SELECT server.pgc_information_schema.tables"),
    ("SELECT * FROM information_schema.triggers", "SELECT * FROM information_schema.triggers"),
    (
        "SELECT * FROM information_schema.sequences",
        "SELECT * FROM server.pgc_information_schema.sequences",
    ),
    # the database's own name in front (dbt): the emulation too; sandbox refuses another
    (
        'SELECT * FROM "forge".INFORMATION_SCHEMA.columns',
        "SELECT * FROM server.pgc_information_schema.columns",
    ),
    ('SELECT 1 FROM "forge".pg_catalog.pg_class c', "SELECT 1 FROM server.pgc.pg_class c"),
    (
        "SELECT 1 FROM forge.pg_catalog.pg_prepared_statements",
        "SELECT 1 FROM forge.pg_catalog.pg_prepared_statements",
    ),
    ("SELECT 1 FROM a.b.pg_catalog.pg_class", "SELECT 1 FROM a.b.pg_catalog.pg_class"),
    # array literals
    ("WHERE c.relkind = ANY('{r,p}')", "WHERE c.relkind = ANY('[r,p]'::VARCHAR[])"),
    ("WHERE w <> ALL ('{a,b}'::text[])", "WHERE w <> ALL ('[a,b]'::text[])"),
    ("SELECT '{a,b}'", "SELECT '{a,b}'"),
    # a set-returning function's alias names its column
    (
        "SELECT a[s] FROM generate_series(1, 3) s, t",
        "SELECT a[s] FROM generate_series(1, 3) s(s), t",
    ),
    ("SELECT generate_series(1, 3) s", "SELECT generate_series(1, 3) s"),
    (
        "SELECT 1 FROM pg_catalog.pg_trigger AS u, pg_catalog.pg_partition_ancestors(t.tgrelid) "
        "WITH ORDINALITY AS a(relid, depth)",
        "SELECT 1 FROM server.pgc.pg_trigger AS u, (SELECT t.tgrelid AS relid, 1::BIGINT AS depth) "
        "AS a(relid, depth)",
    ),
    (
        "SELECT s[i] FROM generate_series(1, 2) as i, string_to_array('a,b', ',') s",
        "SELECT s[i] FROM generate_series(1, 2) as i(i), (SELECT string_to_array('a,b', ',') "
        "AS s) s",
    ),
    # what it does not provide stays DuckDB's
    (
        "SELECT * FROM pg_catalog.pg_prepared_statements",
        "SELECT * FROM pg_catalog.pg_prepared_statements",
    ),
    ('SELECT * FROM pg_catalog."PG_TYPE"', 'SELECT * FROM pg_catalog."PG_TYPE"'),
    # literals, quoted identifiers and comments are never touched
    ("SELECT 'pg_catalog.pg_type', 'x::regclass'", "SELECT 'pg_catalog.pg_type', 'x::regclass'"),
    ('SELECT 1 AS "pg_catalog.pg_type"', 'SELECT 1 AS "pg_catalog.pg_type"'),
    (
        "SELECT 1 -- pg_catalog.pg_type\nFROM pg_catalog.pg_type",
        "SELECT 1 -- pg_catalog.pg_type\nFROM server.pgc.pg_type",
    ),
    # reg* casts
    ("SELECT 't'::regclass::oid", "SELECT server.pgc.regclass('t')::oid"),
    ("WHERE a.attrelid = $1::regclass::oid", "WHERE a.attrelid = server.pgc.regclass($1)::oid"),
    # a reg* value the client reads is a name; in expressions it is the OID
    ("SELECT c.oid::pg_catalog.regclass", 'SELECT server.pgc.regclass_name_of(c.oid) AS "oid"'),
    ("SELECT c.oid::regclass AS t, 1", "SELECT server.pgc.regclass_name_of(c.oid) AS t, 1"),
    ("WHERE c.oid = 'x'::pg_catalog.regclass", "WHERE c.oid = server.pgc.regclass('x')"),
    ("SELECT x::regnamespace::text", 'SELECT server.pgc.regnamespace_name_of(x) AS "x"'),
    (
        "WHERE typinput = 'array_in'::regproc",
        "WHERE typinput = server.pgc.regproc_name('array_in')",
    ),
    ("SELECT a::regtype[]::text[]", "SELECT server.pgc.regtype_names(a)::text[]"),
    ("WHERE d.classoid = CAST($1 AS REGCLASS)", "WHERE d.classoid = server.pgc.regclass($1)"),
    (
        "SELECT CAST(CAST(a.attrelid AS REGCLASS) AS TEXT), 1",
        "SELECT server.pgc.regclass_name_of(a.attrelid), 1",
    ),
    ("SELECT CAST(x AS pg_catalog.regtype) FROM t", "SELECT server.pgc.regtype_name_of(x) FROM t"),
    ("SELECT CAST(x AS TEXT)", "SELECT CAST(x AS TEXT)"),
    ("SELECT pg_catalog.jsonb_build_object('a', 1)", "SELECT json_object('a', 1)"),
    ("SELECT pg_catalog.json_build_object('a', 1)",
     "SELECT json_build_object_of([to_json(('a')::VARCHAR)::VARCHAR, datum_to_json(1)]) "
     "AS json_build_object"),
    ("SELECT c.oid::regclass::text", 'SELECT server.pgc.regclass_name_of(c.oid) AS "oid"'),
    ("SELECT x::REGTYPE::TEXT", 'SELECT server.pgc.regtype_name_of(x) AS "x"'),
    ("WHERE t = 'int4'::regtype", "WHERE t = server.pgc.regtype('int4')"),
    ("WHERE c = lower(n)::regclass", "WHERE c = server.pgc.regclass(lower(n))"),
    ("WHERE c = coalesce(a, b)::regclass", "WHERE c = server.pgc.regclass(coalesce(a, b))"),
    ("WHERE c = (s || '.' || t)::regclass", "WHERE c = server.pgc.regclass((s || '.' || t))"),
    ("WHERE c = ?::regclass", "WHERE c = server.pgc.regclass(?)"),
    (
        "SELECT ('t'::regclass)::regtype::text",
        "SELECT server.pgc.regtype_name((server.pgc.regclass('t'))) AS \"text\"",
    ),
    ("SELECT x::regclassx", "SELECT x::regclassx"),
    # regproc columns compared with 0
    (
        "SELECT oid FROM pg_catalog.pg_type WHERE (typreceive != 0 OR t.typsend <> 0) "
        "AND typreceive::TEXT != 'array_recv'",
        "SELECT oid FROM server.pgc.pg_type WHERE (typreceive != '-' OR t.typsend <> '-') "
        "AND typreceive::TEXT != 'array_recv'",
    ),
    ("SELECT typlen != 0 FROM pg_catalog.pg_type", "SELECT typlen != 0 FROM server.pgc.pg_type"),
    (
        "LEFT JOIN pg_proc AS proc ON proc.oid = typ.typreceive",
        "LEFT JOIN pg_proc AS proc ON proc.proname = typ.typreceive",
    ),
    # = ANY(list) in an outer join's ON: DuckDB cannot plan it as a subquery there
    (
        "FROM pg_class t LEFT JOIN pg_attribute a ON t.oid = a.attrelid "
        "AND a.attnum = ANY(ix.indkey) LEFT JOIN c ON (c.x = ANY(t.y) AND c.z = 1)",
        "FROM pg_class t LEFT JOIN pg_attribute a ON t.oid = a.attrelid "
        "AND list_contains(ix.indkey, a.attnum) LEFT JOIN c ON (list_contains(t.y, c.x) "
        "AND c.z = 1)",
    ),
    ("FROM pg_class t WHERE t.k = ANY(t.l)", "FROM pg_class t WHERE t.k = ANY(t.l)"),
    (
        "FROM pg_class t JOIN x ON t.k = ANY('{r,v}')",
        "FROM pg_class t JOIN x ON t.k = ANY('[r,v]'::VARCHAR[])",
    ),
    # int2vector / oidvector columns as text: their numbers separated by spaces
    (
        "SELECT ix.indkey::varchar, p.proargtypes::pg_catalog.text, indkey::int[] FROM pg_index",
        "SELECT array_to_string(ix.indkey, ' '), array_to_string(p.proargtypes, ' '), "
        "indkey::int[] FROM pg_index",
    ),
    # 'name'::regproc::oid: the function's OID (pgcli's function definition lookup)
    (
        "WITH f AS (SELECT $1::pg_catalog.regproc::pg_catalog.oid AS f_oid) SELECT 1",
        "WITH f AS (SELECT server.pgc.regproc($1) AS f_oid) SELECT 1",
    ),
]


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_rewrite(sql: str, expected: str) -> None:
    assert rewrite(sql) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", False),
        ("INSERT INTO t VALUES ($1, $2)", False),
        ("SELECT * FROM pg_catalog.pg_type", True),
        ("SELECT 't'::regclass", True),
        ("SELECT 't'::REGCLASS", True),
        ("SELECT * FROM information_schema.tables", True),
    ],
)
def test_needed_is_a_cheap_filter(sql: str, expected: bool) -> None:
    assert needed(sql) is expected


def test_adbc_type_query_is_rewritten_once() -> None:
    """The query the ADBC PostgreSQL driver runs on connect."""
    sql = (
        "SELECT oid, typname, typreceive, typbasetype, typrelid, typarray "
        "FROM pg_catalog.pg_type WHERE (typreceive != 0 OR typsend != 0) "
        "AND typtype != 'r' AND typreceive::TEXT != 'array_recv'"
    )
    once = rewrite(sql)
    assert rewrite(once) == once


def test_ancestors_outside_from_only_lose_their_schema() -> None:
    sql = "SELECT 1 WHERE x IN (SELECT pg_catalog.pg_partition_ancestors('1'))"
    assert rewrite(sql) == "SELECT 1 WHERE x IN (SELECT pg_partition_ancestors('1'))"


@pytest.mark.parametrize(("sql", "expected"), [
    # pgjdbc's getProcedureColumns/getFunctionColumns split proargtypes' text on spaces.
    ("SELECT n.nspname,p.proname,p.proargtypes, t.typtype FROM pg_catalog.pg_proc p",
     "SELECT n.nspname,p.proname,array_to_string(p.proargtypes, ' ') AS \"proargtypes\", "
     "t.typtype FROM server.pgc.pg_proc p"),
    ("SELECT p.proargtypes AS a FROM pg_proc p",
     "SELECT array_to_string(p.proargtypes, ' ') AS a FROM pg_proc p"),
    # Used as a list, it stays one.
    ("SELECT unnest(p.proargtypes), p.proargtypes[1] FROM pg_proc p "
     "WHERE 20 = ANY(p.proargtypes)",
     "SELECT unnest(p.proargtypes), p.proargtypes[1] FROM pg_proc p "
     "WHERE 20 = ANY(p.proargtypes)"),
])
def test_a_selected_proargtypes_reads_as_an_oidvector(sql: str, expected: str) -> None:
    assert rewrite(sql) == expected
