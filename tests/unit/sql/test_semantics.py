"""PostgreSQL value semantics rules: each fixture pair, and DuckDB answering the rewrite as
PostgreSQL answers the original (values from PostgreSQL 16's documentation and psql)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from forge_sql import errors
from forge_sql.engine import column_names, rules, semantic_functions
from forge_sql.sql import semantics
from forge_sql.sql.statements import classify


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    semantic_functions.register(con)
    semantic_functions.install(con, "main")
    for macro in semantic_functions.SESSION_MACROS:
        con.execute(macro)
    return con


def rewritten(sql: str) -> str:
    return classify(sql, semantics.RULES).for_duckdb


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 7 / 2", "SELECT 7 // 2"),
        ("SELECT a/-b FROM t", "SELECT a//forge_divisor(-b) FROM t"),
        ("SELECT a / 0, a % b FROM t",
         "SELECT a // forge_divisor(0), a % forge_divisor(b) FROM t"),
        ("SELECT a / t.b::int, a / f(b) FROM t",
         "SELECT a // forge_divisor(t.b::int), a // forge_divisor(f(b)) FROM t"),
        ("SELECT a / '2'::double precision, a / b::numeric(10, 2)::int FROM t",
         "SELECT a // forge_divisor('2'::double precision), "
         "a // forge_divisor(b::numeric(10, 2)::int) FROM t"),
        ("SELECT mod(a, b), mod(a, 3), mod(a, $1), mod(a, b + 1) FROM t",
         "SELECT mod(a, forge_divisor(b)), mod(a, 3), mod(a, $1), mod(a, b + 1) FROM t"),
        ("SELECT a / b.c FROM t WHERE a % (b - 1) = 0 AND x",
         "SELECT a // forge_divisor(b.c) FROM t WHERE a % forge_divisor((b - 1)) = 0 AND x"),
        # Non-zero numbers, parameters, untyped literals and what binds tighter than /.
        ("SELECT a / 2.5, a / $1, a / '2', a / b ^ 2 FROM t",
         "SELECT a // 2.5, a // $1, a // '2', a // b ^ 2 FROM t"),
        ("SELECT '1/2', x // 2 FROM t /* a/b */", "SELECT '1/2', x // 2 FROM t /* a/b */"),
        (
            "SELECT format('%s-%s', 'a', 1)",
            "SELECT main.printf('%1$s-%2$s', coalesce(CAST('a' AS VARCHAR), ''), "
            "coalesce(CAST(1 AS VARCHAR), ''))",
        ),
        (
            "SELECT format('%2$s %1$L', x, y) FROM t",
            "SELECT main.printf('%2$s %1$s', quote_nullable(CAST(x AS VARCHAR)), "
            "coalesce(CAST(y AS VARCHAR), '')) FROM t",
        ),
        ("SELECT format('100%%')", "SELECT main.printf('100%%')"),
        ("SELECT format('%s', a) AS f, upper(format('x')) FROM t",
         "SELECT main.printf('%1$s', coalesce(CAST(a AS VARCHAR), '')) AS f, "
         "upper(main.printf('x')) FROM t"),
        ("SELECT format(NULL, 1)", "SELECT main.printf(CAST(NULL AS VARCHAR))"),
        (
            "SELECT format('%*s', w, v) FROM t",
            "SELECT main.printf('%*s', coalesce(CAST(w AS INTEGER), 0), "
            "coalesce(CAST(v AS VARCHAR), '')) FROM t",
        ),
        ("SELECT s SIMILAR TO 'a%b_c' FROM t", "SELECT s SIMILAR TO '(?s)a.*b.c' FROM t"),
        (
            "SELECT s NOT SIMILAR TO '(a|b)*#%' ESCAPE '#' FROM t",
            "SELECT s NOT SIMILAR TO '(?s)(?:a|b)*%' FROM t",
        ),
        ("SELECT s SIMILAR TO 'a.b$' FROM t", "SELECT s SIMILAR TO '(?s)a\\.b\\$' FROM t"),
        ("SELECT s SIMILAR TO '[%_]+' FROM t", "SELECT s SIMILAR TO '(?s)[%_]+' FROM t"),
        (
            "SELECT s SIMILAR TO p, s SIMILAR TO $1::text ESCAPE '#' FROM t",
            "SELECT s SIMILAR TO forge_similar_to_regex(p, '\\'), "
            "s SIMILAR TO forge_similar_to_regex($1::text, '#') FROM t",
        ),
        (
            "SELECT s SIMILAR TO 'a' ESCAPE NULL FROM t",
            "SELECT s SIMILAR TO CAST(NULL AS VARCHAR) FROM t",
        ),
        ("SELECT position('b' IN s) + 1 FROM t",
         "SELECT CAST(position('b' IN s) AS INTEGER) + 1 FROM t"),
        ("SELECT ntile(2) OVER (ORDER BY a), ntile(3) OVER w FROM t WINDOW w AS ()",
         "SELECT CAST(ntile(2) OVER (ORDER BY a) AS INTEGER), CAST(ntile(3) OVER w AS INTEGER) "
         "FROM t WINDOW w AS ()"),
        ("SELECT s.position(a) FROM t", "SELECT s.position(a) FROM t"),
        ("SELECT avg(a), sum(DISTINCT b) FILTER (WHERE a > 0) FROM t",
         "SELECT cast_to_type(avg(a), any_value(a) * 1::DECIMAL(38,10)), "
         "cast_to_type(sum(DISTINCT b) FILTER (WHERE a > 0), sum_type(b)) FROM t"),
        ("SELECT stddev(a::numeric) OVER (ORDER BY b) FROM t",
         "SELECT cast_to_type(stddev(a::numeric) OVER (ORDER BY b), "
         "(a::DECIMAL(38,10)) - 0::DECIMAL(38,10)) FROM t"),
        # An argument another rule rewrites is not written twice.
        ("SELECT avg(a / 2), sum(position('a' IN s)), sum($1), sum(a, b), sum(pg_catalog.f(a)), "
         "avg(s LIKE 'a\\_'), sum(avg(a)) OVER () FROM t",
         "SELECT avg(a // 2), sum_fields(CAST(position('a' IN s) AS INTEGER)), sum($1), "
         "sum(a, b), sum_fields(pg_catalog.f(a)), "
         "avg(s LIKE 'a\\_'), sum(cast_to_type(avg(a), any_value(a) * 1::DECIMAL(38,10))) OVER () "
         "FROM t"),
        ("SELECT sum(CASE WHEN a > 0 THEN greatest(a, b) ELSE 0 END) FROM t",
         "SELECT cast_to_type(sum_fields(CASE WHEN a > 0 THEN greatest(a, b) ELSE 0 END), "
         "sum_type(CASE WHEN a > 0 THEN greatest(a, b) ELSE 0 END)) FROM t"),
    ],
)
def test_fixture_pairs(sql: str, expected: str) -> None:
    assert rewritten(sql) == expected


def test_format_column_keeps_postgresql_name() -> None:
    sql = "SELECT format('%s', 1), format('%s', 2)::text, printf('%s', 'x')"
    names = column_names.postgres_names(rewritten(sql), ["a()", "b()", "c()"])
    assert names == ["format", "format", "printf"]


def test_duckdb_semantics_leave_statements_alone() -> None:
    sql = "SELECT 7 / 2, format('{}', 1), 'ab' SIMILAR TO 'a.'"
    assert classify(sql, rules.for_semantics("duckdb")).for_duckdb == sql
    assert "//" in classify(sql, rules.for_semantics("postgres")).for_duckdb


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 7 / 2", 3),
        ("SELECT -7 / 2", -3),
        ("SELECT 7.0 / 2", 3.5),
        ("SELECT 7::bigint / 2::smallint", 3),
        ("SELECT format('%s-%s', 'a', 1)", "a-1"),
        ("SELECT format('%s|%s|', NULL, 'x')", "|x|"),
        ("SELECT format('%3$s, %2$s, %1$s', 'a', 'b', 'c')", "c, b, a"),
        ("SELECT format('%1$s %1$s', 'x')", "x x"),
        ("SELECT format('|%10s|%-10s|', 'foo', 'bar')", "|       foo|bar       |"),
        ("SELECT format('|%*s|', 6, 'ab')", "|    ab|"),
        ("SELECT format('|%*s|', -6, 'ab')", "|ab    |"),
        ("SELECT format('%s%%', 50)", "50%"),
        ("SELECT format('{}', 1)", "{}"),
        ("SELECT format('it''s %s', 'x')", "it's x"),
        ("SELECT 'abc' SIMILAR TO 'abc'", True),
        ("SELECT 'abc' SIMILAR TO 'a'", False),
        ("SELECT 'abc' SIMILAR TO '%(b|d)%'", True),
        ("SELECT 'abc' SIMILAR TO '(b|c)%'", False),
        ("SELECT 'abc' SIMILAR TO '_b_'", True),
        ("SELECT 'a.c' SIMILAR TO 'a.c'", True),
        ("SELECT 'abc' SIMILAR TO 'a.c'", False),
        ("SELECT 'a%c' SIMILAR TO 'a#%c' ESCAPE '#'", True),
        ("SELECT 'abc' SIMILAR TO 'a#%c' ESCAPE '#'", False),
        ("SELECT 'a_c' SIMILAR TO 'a\\_c'", True),
        ("SELECT 'abbbc' SIMILAR TO 'ab{2,3}c'", True),
        ("SELECT 'abbbbc' SIMILAR TO 'ab{2,3}c'", False),
        ("SELECT 'a' || chr(10) || 'b' SIMILAR TO 'a%b'", True),
        ("SELECT 'x' NOT SIMILAR TO '[a-c]+'", True),
        ("SELECT 'abc' SIMILAR TO 'ab'", False),
        ("SELECT 'a.c' SIMILAR TO p FROM (VALUES ('a.c'), ('a_c')) t(p) ORDER BY p LIMIT 1", True),
        ("SELECT 'abc' SIMILAR TO p FROM (VALUES ('a.c')) t(p)", False),
        ("SELECT 'a%' SIMILAR TO p ESCAPE '#' FROM (VALUES ('a#%')) t(p)", True),
    ],
)
def test_duckdb_answers_as_postgresql(
    sql: str, expected: object, con: duckdb.DuckDBPyConnection
) -> None:
    assert con.execute(rewritten(sql)).fetchone() == (expected,)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT INTERVAL '1 hour' / 2", dt.timedelta(minutes=30)),
        ("SELECT INTERVAL '1 month' / 3", dt.timedelta(days=10)),
        ("SELECT INTERVAL '1 day 3 hours' / 2.5", dt.timedelta(hours=10, minutes=48)),
        ("SELECT CAST(NULL AS INTERVAL) / 2", None),
    ],
)
def test_interval_division(sql: str, expected: object, con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute(rewritten(sql)).fetchone() == (expected,)


@pytest.mark.parametrize(
    "sql", ["SELECT 1 / 0", "SELECT 7 % 0", "SELECT 1.5 / 0.0", "SELECT INTERVAL '1 day' / 0",
            "SELECT sum(i / (i - 3)) FROM range(5) t(i)", "SELECT mod(7, 0)"]
)
def test_division_by_zero_raises(sql: str, con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.Error, match="division by zero"):
        con.execute(rewritten(sql)).fetchall()


@pytest.mark.parametrize(
    ("sql", "error", "message"),
    [
        ("SELECT format('%s %s', 1)", errors.InvalidParameterValue, "too few arguments"),
        ("SELECT format('%d', 1)", errors.InvalidParameterValue, 'specifier "d"'),
        ("SELECT format('abc %', 1)", errors.InvalidParameterValue, "unterminated"),
        ("SELECT format('%0$s', 1)", errors.InvalidParameterValue, "argument 0"),
        ("SELECT format(f, 1) FROM t", errors.FeatureNotSupported, "constant format"),
        ("SELECT s SIMILAR TO 'a' ESCAPE 'ab' FROM t", errors.InvalidEscapeSequence, "escape"),
    ],
)
def test_refused_as_postgresql_refuses(
    sql: str, error: type[errors.ForgeError], message: str
) -> None:
    with pytest.raises(error, match=message):
        rewritten(sql)
