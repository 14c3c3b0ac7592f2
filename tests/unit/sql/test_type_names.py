"""PostgreSQL's names of types as written in casts and before typed literals."""

from __future__ import annotations

import pytest

from forge_sql.sql.tokens import tokenize
from forge_sql.sql.type_names import before_literal, written


@pytest.mark.parametrize(("text", "name"), [
    ("integer", "int4"), ("int", "int4"), ("int4", "int4"), ("smallint", "int2"),
    ("bigint", "int8"), ("real", "float4"), ("float", "float8"), ("float(24)", "float4"),
    ("float(25)", "float8"), ("double precision", "float8"), ("decimal(10, 2)", "numeric"),
    ("boolean", "bool"), ("character varying(3)", "varchar"), ("varchar", "varchar"),
    ("char(2)", "bpchar"), ("national character", "bpchar"), ("bit varying(3)", "varbit"),
    ("timestamp(3) with time zone", "timestamptz"), ("time without time zone", "time"),
    ("time with time zone", "timetz"), ("interval", "interval"), ("text[]", "text"),
    ("integer[3][]", "int4"), ("int ARRAY", "int4"), ("pg_catalog.int8", "int8"),
    ('"varchar"', "varchar"), ("JSON", "json"), ("regclass", "regclass"),
])
def test_written_names(text: str, name: str) -> None:
    tokens = tokenize(text)
    assert written(tokens, 0) == (name, len(tokens) - 1)


@pytest.mark.parametrize(("sql", "name"), [
    ("SELECT DATE '2024-01-15'", "date"),
    ("SELECT x, timestamp with time zone '2024-01-15'", "timestamptz"),
    ("SELECT TIME(3) '01:00'", "time"),
    ("SELECT double precision '1'", "float8"),
    ("SELECT 'a'", None),
])
def test_names_before_literals(sql: str, name: str | None) -> None:
    tokens = tokenize(sql)
    literal = next(i for i, t in enumerate(tokens) if t.kind == "string_const")
    assert before_literal(tokens, literal) == name
