"""Result columns typed from the declared types of the columns they come from, traced
through the parse tree (PostgreSQL 15's OIDs and typmods for each statement)."""

from __future__ import annotations

import pytest

from forge_sql.engine import column_names
from forge_sql.engine.result_sources import Relations, Scope

T = (("id", "INTEGER"), ("a", "TEXT"), ("v", "VARCHAR(10)"), ("c", "BPCHAR(3)"),
     ("p", "VARCHAR"), ("n", "DECIMAL(10,2)"), ("d", "DATE"))
U = (("a", "VARCHAR(5)"), ("z", "TEXT"))


def scope() -> Scope:
    return Scope(Relations(
        {("public", "t"): T, ("public", "u"): U,
         ("public", "vw"): (("x", "VARCHAR"), ("c", "VARCHAR"))},
        {("public", "vw"): "CREATE VIEW vw AS SELECT a AS x, c FROM t;"},
    ), ("public",))


def typed(sql: str, kinds: list[str]) -> list[tuple[int, int]]:
    described = [(f"c{i}", kind) for i, kind in enumerate(kinds)]
    return [(c.type_oid, c.type_modifier)
            for c in column_names.result_columns(sql, described, scope())]


V, N = "VARCHAR", "DECIMAL(10,2)"
CASES = [
    ("SELECT a, v, c, p FROM t", [V] * 4, [(25, -1), (1043, 14), (1042, 7), (1043, -1)]),
    ("SELECT * FROM t", ["INTEGER", V, V, V, V, N, "DATE"],
     [(23, -1), (25, -1), (1043, 14), (1042, 7), (1043, -1), (1700, 655366), (1082, -1)]),
    ("SELECT t.a, x.a, upper(v), v || 'x', coalesce(v, 'q'), coalesce(v, v) "
     "FROM t JOIN u x ON t.id = 1", [V] * 6,
     [(25, -1), (1043, 9), (25, -1), (25, -1), (1043, -1), (1043, 14)]),
    ("SELECT * FROM vw", [V, V], [(25, -1), (1042, 7)]),
    ("WITH q AS (SELECT v AS w FROM t) SELECT w, (SELECT c FROM t LIMIT 1) FROM q", [V, V],
     [(1043, 14), (1042, 7)]),
    ("SELECT s.k FROM (SELECT c AS k FROM t) s", [V], [(1042, 7)]),
    ("SELECT a FROM t UNION SELECT z FROM u", [V], [(25, -1)]),
    ("SELECT v FROM t UNION SELECT a FROM u", [V], [(1043, -1)]),
    ("SELECT 'x'::char(4), 'y'::varchar(3), 'z'::bpchar, 'q'::character varying", [V] * 4,
     [(1042, 8), (1043, 7), (1042, -1), (1043, -1)]),
    ("SELECT * FROM (VALUES ('a'::varchar(3)), ('b'::varchar(3)))", [V], [(1043, 7)]),
    ("SELECT max(c), min(a), 'a' FROM t", [V] * 3, [(1042, -1), (25, -1), (25, -1)]),
    ("SELECT a FROM pg_class", [V], [(1043, -1)]),
    ("SELECT * FROM t JOIN u USING (a)", ["INTEGER"] + [V] * 5,
     [(23, -1)] + [(1043, -1)] * 5),
    ("SELECT n, n + 1, 1.5, n::numeric(5,1), nullif(n, 0) FROM t", [N, N, "DECIMAL(2,1)", N, N],
     [(1700, 655366), (1700, -1), (1700, -1), (1700, 655366), (1700, 655366)]),
    ("SELECT d - d, d - DATE '2024-01-01', current_date - d, d - 1 FROM t",
     ["BIGINT", "BIGINT", "BIGINT", "DATE"], [(23, -1), (23, -1), (23, -1), (1082, -1)]),
]


@pytest.mark.parametrize(("sql", "kinds", "expected"), CASES)
def test_typed_as_postgres(sql: str, kinds: list[str], expected: list[tuple[int, int]]) -> None:
    assert typed(sql, kinds) == expected


def test_without_scope_as_duckdb_says() -> None:
    columns = column_names.result_columns("SELECT a FROM t", [("a", "VARCHAR")])
    assert [(c.type_oid, c.type_modifier) for c in columns] == [(1043, -1)]
