"""The general PostgreSQL rules: each fixture pair, and DuckDB answering the rewrite as
PostgreSQL answers the original."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql.sql import postgres
from forge_sql.sql.statements import classify


def rewritten(sql: str) -> str:
    return classify(sql, postgres.RULES).for_duckdb


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 'abc' ~ 'b'", "SELECT 'abc' ~ '(?s).*(?:b).*'"),
        ("SELECT 'abc' ~* 'B'", "SELECT 'abc' ~ '(?is).*(?:B).*'"),
        ("SELECT 'abc' !~ 'b'", "SELECT 'abc' !~ '(?s).*(?:b).*'"),
        ("SELECT 'abc' !~* 'B'", "SELECT 'abc' !~ '(?is).*(?:B).*'"),
        ("SELECT x OPERATOR(pg_catalog.~) 'b'", "SELECT x ~ '(?s).*(?:b).*'"),
        ("SELECT 1 OPERATOR(pg_catalog.+) 2", "SELECT 1 + 2"),
        ("SELECT s ~ p FROM t", "SELECT s ~ ('(?s).*(?:' || p || ').*') FROM t"),
        ("SELECT s ~* lower(t.p) FROM t",
         "SELECT s ~ ('(?is).*(?:' || lower(t.p) || ').*') FROM t"),
        ("SELECT s ~ a[1]::text", "SELECT s ~ ('(?s).*(?:' || a[1]::text || ').*')"),
        ("SELECT json_build_object('a', 1)", "SELECT json_build_object_of([to_json(('a')::VARCHAR)"
         "::VARCHAR, datum_to_json(1)]) AS json_build_object"),
        ("SELECT 1, json_build_object('a', 1) FROM t",
         "SELECT 1, json_build_object_of([to_json(('a')::VARCHAR)::VARCHAR, datum_to_json(1)]) "
         "AS json_build_object FROM t"),
        ("SELECT json_build_object(k, v || 'x') AS j",
         "SELECT json_build_object_of([to_json((k)::VARCHAR)::VARCHAR, datum_to_json(v || 'x')]) "
         "AS j"),
        ("SELECT 1 FROM t WHERE json_build_object() IS NULL",
         "SELECT 1 FROM t WHERE json_build_object_of([]) IS NULL"),
        ("SELECT 1 FROM t GROUP BY a, jsonb_build_object('a', 1)",
         "SELECT 1 FROM t GROUP BY a, json_object('a', 1)"),
        ("SELECT (SELECT jsonb_build_object('a', 1))",
         "SELECT (SELECT json_object('a', 1) AS jsonb_build_object)"),
        ("SELECT '{a,b}'::text[]", "SELECT '[a,b]'::text[]"),
        ("SELECT CAST('{1,NULL,3}' AS int4[])", "SELECT CAST('[1,NULL,3]' AS int4[])"),
        ("SELECT json_agg(x ORDER BY x) FROM t",
         "SELECT json_agg_of(list(x ORDER BY x)) AS json_agg FROM t"),
        ("SELECT k, jsonb_agg(x) FILTER (WHERE x > 1) FROM t GROUP BY k",
         "SELECT k, to_json(list(x) FILTER (WHERE x > 1)) AS jsonb_agg FROM t GROUP BY k"),
        ("SELECT json_agg(x) OVER (PARTITION BY k) AS j FROM t",
         "SELECT json_agg_of(list(x) OVER (PARTITION BY k)) AS j FROM t"),
        ("SELECT json_build_array(1, 'a')",
         "SELECT json_build_array_of([datum_to_json(1), datum_to_json('a')]) AS json_build_array"),
        ("SELECT jsonb_build_array(1, 'a')", "SELECT json_array(1, 'a') AS jsonb_build_array"),
        ("SELECT 1 WHERE 'a' = ANY('{a,b}')", "SELECT 1 WHERE 'a' = ANY('[a,b]'::VARCHAR[])"),
        ("SELECT s FROM generate_series(1, 3) s", "SELECT s FROM generate_series(1, 3) s(s)"),
        ("SELECT p FROM string_to_array('a,b', ',') p",
         "SELECT p FROM (SELECT string_to_array('a,b', ',') AS p) p"),
    ],
)
def test_rewrite(sql: str, expected: str) -> None:
    assert rewritten(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '~' AS tilde",  # in a string
        'SELECT 1 AS "json_build_object"',
        "SELECT '{a,b}'",  # not an array
        "SELECT * FROM generate_series(1, 3)",  # no alias
        "SELECT x.json_build_object(1)",  # someone else's function
    ],
)
def test_left_alone(sql: str) -> None:
    statement = classify(sql, postgres.RULES)
    assert statement.edits == () and statement.for_duckdb == sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 'abc' ~ 'b', 'abc' ~ '^b', 'a\nb' ~ 'a.b'", (True, False, True)),
        ("SELECT 'abc' ~* 'B', 'abc' !~ 'b', 'abc' !~* 'X'", (True, False, True)),
        ("SELECT 'abc' ~ 'x|c', 'abc' ~ p FROM (SELECT 'b' AS p)", (True, True)),
        ("SELECT 'it' ~ NULL", (None,)),
    ],
)
def test_regex_matches_as_in_postgresql(sql: str, expected: tuple[object, ...]) -> None:
    assert duckdb.sql(rewritten(sql)).fetchone() == expected
