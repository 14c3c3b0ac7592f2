"""BETWEEN SYMMETRIC as a call of the catalog's between_symmetric macro: each fixture pair,
and DuckDB answering the rewrite as PostgreSQL answers the original."""

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
        ("SELECT (x BETWEEN SYMMETRIC 5 AND 1) FROM t",
         "SELECT (between_symmetric(x , 5 , 1)) FROM t"),
        ("SELECT * FROM t WHERE a + 1 NOT BETWEEN SYMMETRIC f(b)[1] AND c::int * 2 ORDER BY 1",
         "SELECT * FROM t WHERE NOT between_symmetric(a + 1 , f(b)[1] , c::int * 2) ORDER BY 1"),
        ("SELECT CAST(x AS int) BETWEEN SYMMETRIC $1 AND -3",
         "SELECT between_symmetric(CAST(x AS int) , $1 , -3)"),
        ("SELECT DATE '2024-01-01' BETWEEN SYMMETRIC d AND DATE '2020-01-01' FROM t",
         "SELECT between_symmetric(DATE '2024-01-01' , d , DATE '2020-01-01') FROM t"),
        ("SELECT 1 FROM t WHERE a = 1 AND t.x BETWEEN SYMMETRIC (1 + 2) AND 0 OR b",
         "SELECT 1 FROM t WHERE a = 1 AND between_symmetric(t.x , (1 + 2) , 0) OR b"),
        ("SELECT 1 WHERE x BETWEEN ASYMMETRIC 1 AND 2", "SELECT 1 WHERE x BETWEEN  1 AND 2"),
        # Casts to type names of several words end (and start) an operand after the last.
        ("SELECT (1e0 BETWEEN SYMMETRIC f8 AND '0.3'::double precision), 2 FROM t",
         "SELECT (between_symmetric(1e0 , f8 , '0.3'::double precision)), 2 FROM t"),
        ("SELECT x::timestamp with time zone NOT BETWEEN SYMMETRIC a AND b::varchar(3)[] + 1",
         "SELECT NOT between_symmetric(x::timestamp with time zone , a , b::varchar(3)[] + 1)"),
        # CASE ... END operands, an AND inside one
        ("SELECT CASE WHEN a THEN 1 END BETWEEN SYMMETRIC CASE WHEN b AND c THEN 2 END AND 3",
         "SELECT between_symmetric(CASE WHEN a THEN 1 END , CASE WHEN b AND c THEN 2 END , 3)"),
    ],
)
def test_rewrite(sql: str, expected: str) -> None:
    assert rewritten(sql) == expected


@pytest.mark.parametrize(
    "sql",
    ["SELECT x BETWEEN 1 AND 2 FROM t", "SELECT 'BETWEEN SYMMETRIC' AS s"],
)
def test_left_alone(sql: str) -> None:
    statement = classify(sql, postgres.RULES)
    assert statement.for_duckdb == sql


@pytest.mark.parametrize(
    ("x", "a", "b", "expected"),
    [(3, 5, 1, True), (3, 1, 5, True), (7, 5, 1, False), (7, None, 5, None),
     (3, None, 5, None), (None, 1, 5, None), (1, 1, 1, True)],
)
def test_answers_as_postgresql(x: int | None, a: int | None, b: int | None,
                               expected: bool | None) -> None:
    """PostgreSQL's (x BETWEEN a AND b) OR (x BETWEEN b AND a), NULL bounds included."""
    con = duckdb.connect()
    con.execute("CREATE MACRO between_symmetric(x, a, b) AS "
                "(x BETWEEN a AND b) OR (x BETWEEN b AND a)")
    sql = rewritten("SELECT x::int BETWEEN SYMMETRIC a::int AND b::int FROM (SELECT "
                    "$1 AS x, $2 AS a, $3 AS b)")
    assert con.execute(sql, [x, a, b]).fetchone() == (expected,)
