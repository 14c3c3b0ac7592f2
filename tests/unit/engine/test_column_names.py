"""PostgreSQL's names for unaliased select-list expressions, from DuckDB's parse tree (the
integration test compares them with a real PostgreSQL)."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql.engine import column_names
from forge_sql.engine.column_names import UNNAMED, needed, postgres_names


def duckdb_names(sql: str) -> list[str]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INTEGER, b INTEGER, s VARCHAR, arr INTEGER[])")
    return [d[0] for d in con.execute(sql).description or ()]


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT count(*), sum(a) FROM t", ["count", "sum"]),
    ("SELECT a + b, 1, 'x', NULL, true, -a FROM t", [UNNAMED] * 6),
    ("SELECT 1::int, '2'::bigint, a::text, CAST(s AS INTEGER) FROM t", ["int4", "int8", "a", "s"]),
    ("SELECT CASE WHEN a > 0 THEN 1 END, coalesce(a, b), ARRAY[a], arr[1] FROM t",
     ["case", "coalesce", "array", "arr"]),
    ("SELECT (SELECT max(a) FROM t), (SELECT 1), EXISTS (SELECT 1)", ["max", UNNAMED, "exists"]),
    ("SELECT row_number() OVER (), trim(s), extract(year FROM DATE '2024-01-01') FROM t",
     ["row_number", "btrim", "extract"]),
    ("SELECT count(*) AS Total, a AS \"A b\" FROM t GROUP BY a", ["Total", "A b"]),
    ("SELECT *, count(*) OVER () FROM t", ["a", "b", "s", "arr", "count"]),
    ("SELECT count(*) FROM t UNION ALL SELECT 2", ["count"]),
    # A cast is named after its type as written: varchar, text[] (as int4[]), json.
    ("SELECT 'x'::varchar, CAST('x' AS character varying(3)), '[a]'::text[], "
     "CAST('[1]' AS integer[]), '[1]'::json, 1::double precision",
     ["varchar", "varchar", "text", "int4", "json", "float8"]),
    # A CASE after its ELSE when that names itself; a subscript after what it subscripts.
    ("SELECT CASE WHEN a > 0 THEN a ELSE b END, CASE WHEN a > 0 THEN 1 ELSE abs(b) END, "
     "CASE WHEN a > 0 THEN 's' ELSE 't' END::varchar, (ARRAY[a])[1], (list_sort(arr))[1] "
     "FROM t", ["b", "abs", "varchar", "array", "list_sort"]),
    ("SELECT DATE '2024-01-15', TIME '01:00', TIMESTAMP WITH TIME ZONE '2024-01-15', "
     "true::text, ('1'::int)::text, 'ü'::varchar, '1'::float(3)",
     ["date", "time", "timestamptz", "text", "text", "varchar", "float4"]),
])
def test_names(sql: str, expected: list[str]) -> None:
    assert postgres_names(sql, duckdb_names(sql)) == expected


def test_casts_to_oid_aliases_keep_postgresql_names() -> None:
    """X::regtype::text is regtype_name_of(X) once the catalog rewrite ran: named X."""
    sql = ("SELECT CASE WHEN a = 0 THEN '' ELSE pgc.regtype_name_of(a) END, pgc.regclass('t') "
           "FROM t")
    assert postgres_names(sql, ["CASE ...", "regclass('t')"]) == ["a", "regclass"]


def test_parameters_keep_placeholder_names() -> None:
    assert postgres_names("SELECT $1, $2::int", ["$1", "CAST($2 AS INTEGER)"]) == [
        UNNAMED, "int4"]


@pytest.mark.parametrize("sql", [
    "SELECT t.*, t.*, 1 + 1 FROM t",  # two stars: the columns cannot be matched
    "EXPLAIN SELECT 1",
    "SELECT FROM WHERE",
])
def test_unmatched_statements_keep_duckdb_names(sql: str) -> None:
    names = ["a", "(1 + 1)"]
    assert postgres_names(sql, names) == names


def test_plain_names_skip_the_parse() -> None:
    assert not needed(["id", "name", "Total", "_x$1"])
    assert needed(["count_star()"]) and needed(["1"]) and needed(["A b"])


def test_extract_and_date_part_of_whole_fields() -> None:
    sql = ("SELECT extract(year FROM d), date_part('dow', d), extract(second FROM d), "
           "extract(epoch FROM d) FROM t")
    found = column_names.result_columns(sql, [("a", "BIGINT"), ("b", "BIGINT"),
                                              ("c", "BIGINT"), ("e", "DOUBLE")])
    assert [c.type_oid for c in found] == [1700, 701, 20, 701]
