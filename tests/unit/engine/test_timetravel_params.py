"""Placeholders in AT (VERSION|TIMESTAMP => $n) become literals; the others are renumbered."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from forge_sql.engine import timetravel
from forge_sql.sql.rewrite import apply
from forge_sql.sql.statements import classify


def bind(sql: str, params: Sequence[object], *, drop: bool = False) -> tuple[str, list[object]]:
    edits, values = timetravel.edits(classify(sql).tokens, params, drop=drop)
    return apply(sql, edits), values


def test_detects_only_placeholders_inside_at_clauses() -> None:
    assert timetravel.has_parameters(classify("SELECT * FROM t AT (VERSION => $1)").tokens)
    assert timetravel.has_parameters(
        classify("SELECT * FROM t AT (TIMESTAMP => CAST($2 AS TIMESTAMPTZ)) WHERE a = $1").tokens
    )
    assert not timetravel.has_parameters(classify("SELECT * FROM t AT (VERSION => 3)").tokens)
    assert not timetravel.has_parameters(classify("SELECT $1 AS at").tokens)


def test_bind_inlines_and_renumbers() -> None:
    sql, values = bind(
        "SELECT * FROM t AT (VERSION => CAST($2 AS BIGINT)) WHERE a = $1 AND b < $3", ["x", 7, 9]
    )
    assert sql == "SELECT * FROM t AT (VERSION => CAST(7 AS BIGINT)) WHERE a = $1 AND b < $2"
    assert values == ["x", 9]


def test_bind_timestamps_and_strings() -> None:
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    sql, values = bind("SELECT * FROM t AT (TIMESTAMP => $1)", [moment])
    assert sql == "SELECT * FROM t AT (TIMESTAMP => '2026-01-02 03:04:05+00:00')"
    assert values == []
    sql, _ = bind("SELECT * FROM t AT (TIMESTAMP => $1::TIMESTAMPTZ)", ["it's"])
    assert sql == "SELECT * FROM t AT (TIMESTAMP => 'it''s'::TIMESTAMPTZ)"


def test_drop_describes_the_current_version() -> None:
    sql, values = bind(
        "SELECT * FROM t AT (VERSION => $1) JOIN u AT (VERSION => $2) ON t.a = u.a WHERE t.b = $3",
        [None, None, "x"],
        drop=True,
    )
    assert " AT " not in sql and "VERSION" not in sql
    assert " ".join(sql.split()) == "SELECT * FROM t JOIN u ON t.a = u.a WHERE t.b = $1"
    assert values == ["x"]
