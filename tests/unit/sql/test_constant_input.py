"""Which string constants the engine converts at Parse (forge_sql.sql.constant_input)."""

from __future__ import annotations

import pytest

from forge_sql.sql import constant_input
from forge_sql.sql.tokens import tokenize


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 'a'::int4", [("'a'", "int4")]),
        ("SELECT CAST('a' AS integer), 'b'::pg_catalog.int8 + 1", [("'a'", "integer"),
                                                                    ("'b'", "int8")]),
        ("SELECT DATE 'x', TIMESTAMP 'y' FROM t", [("'x'", "date"), ("'y'", "timestamp")]),
        ("SELECT 'x'::timestamp with time zone, 'y'::double precision",
         [("'x'", "timestamp with time zone"), ("'y'", "double precision")]),
        ("SELECT 'x'::interval, INTERVAL '1' DAY, INTERVAL '2 days'", [("'x'", "interval")]),
        ("SELECT ''::time, CAST(' pad ' AS decimal)", [("''", "time"), ("' pad '", "decimal")]),
        # not taken: arrays, typmods, text types, other casts, strings compared
        ("SELECT '{1}'::int4[], '1.5'::numeric(2,1), 'a'::text, 'b'::varchar(2), "
         "CAST('c' AS int4[]), s = 'd', x::int4, 'e'::regclass, E'f'::int4", []),
        ("SELECT d FROM t WHERE d > '2024-01-01'::date AND uuid = 'x'",
         [("'2024-01-01'", "date")]),
    ],
)
def test_constants(sql: str, expected: list[tuple[str, str]]) -> None:
    assert constant_input.constants(tokenize(sql)) == expected


def test_queries() -> None:
    assert constant_input.check_queries(tokenize("SELECT 1")) is None
    assert constant_input.check_queries(tokenize("SELECT 'a'::int4, DATE 'b'")) == (
        "SELECT TRY_CAST('a' AS int4) IS NULL OR TRY_CAST('b' AS date) IS NULL",
        "SELECT CAST('a' AS int4), CAST('b' AS date)",
    )
