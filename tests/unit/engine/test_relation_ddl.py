"""engine.relation_ddl: which views read a relation, and where CASCADE is."""

from __future__ import annotations

import pytest

from forge_sql.engine.relation_ddl import View, _cascade_token, _query
from forge_sql.sql.statements import classify


def test_query_of_a_view_text() -> None:
    assert _query("CREATE VIEW v(a, b) AS SELECT 1 AS x, 2;") == "SELECT 1 AS x, 2"
    assert _query('CREATE VIEW "as" AS SELECT * FROM t') == "SELECT * FROM t"


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ('drop table if exists "forge"."public"."t__dbt_backup" cascade', True),
        ("DROP VIEW v CASCADE;", True),
        ("DROP VIEW v RESTRICT", False),
        ("DROP TABLE cascade", False),
    ],
)
def test_cascade_token(sql: str, found: bool) -> None:
    assert (_cascade_token(classify(sql)) is not None) is found


def _view(query: str, schema: str = "public") -> View:
    return View("forge", schema, "v", False, query)


@pytest.mark.parametrize(
    ("query", "reads"),
    [
        ("SELECT * FROM t", True),
        ("SELECT * FROM public.t", True),
        ('SELECT * FROM "forge"."public"."t"', True),
        ("SELECT * FROM forge.t", False),  # catalog forge, schema main
        ("SELECT * FROM other.t", False),
        ("SELECT * FROM u WHERE x IN (SELECT x FROM t)", True),
        ("WITH t AS (SELECT 1) SELECT * FROM t", False),  # the CTE, not the table
        ("SELECT * FROM tt", False),
    ],
)
def test_view_reads(query: str, reads: bool) -> None:
    assert _view(query).reads(("forge", "public", "t")) is reads
