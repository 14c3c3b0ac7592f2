"""Parameter type inference and the CAST rewrite, on statements as drivers send them."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from forge_sql.engine import describing, params
from forge_sql.seam import oids
from forge_sql.sql import types
from forge_sql.sql.rewrite import apply
from forge_sql.sql.statements import classify

TABLES = {
    "t": {"id": "INTEGER", "name": "VARCHAR", "amount": "DECIMAL(10,2)", "ts": "TIMESTAMP",
          "flag": "BOOLEAN"},
    "u": {"uid": "BIGINT", "value": "DOUBLE"},
}


def column_types(tables: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for table in tables:
        for name, kind in TABLES.get(table.lower(), {}).items():
            found.setdefault(name, kind)
    return found


def resolve(sql: str, given: Sequence[int] = ()) -> params.Parameters:
    return params.resolve(classify(sql), given, column_types)


@pytest.mark.parametrize(
    ("sql", "expected_oids", "expected_sql"),
    [
        ("SELECT * FROM t WHERE id = $1", (oids.INT4,),
         "SELECT * FROM t WHERE id = CAST($1 AS INTEGER)"),
        ("SELECT * FROM t WHERE $1 < amount", (oids.NUMERIC,),
         "SELECT * FROM t WHERE CAST($1 AS DECIMAL(10,2)) < amount"),
        # varchar has no operators of its own: compared with one, a parameter is text.
        ("SELECT * FROM t WHERE t.name LIKE $1", (oids.TEXT,),
         "SELECT * FROM t WHERE t.name LIKE CAST($1 AS VARCHAR)"),
        ("SELECT * FROM t WHERE id IN ($1, $2)", (oids.INT4, oids.INT4),
         "SELECT * FROM t WHERE id IN (CAST($1 AS INTEGER), CAST($2 AS INTEGER))"),
        ("SELECT * FROM t WHERE ts BETWEEN $1 AND $2", (oids.TIMESTAMP, oids.TIMESTAMP),
         "SELECT * FROM t WHERE ts BETWEEN CAST($1 AS TIMESTAMP) AND CAST($2 AS TIMESTAMP)"),
        ("INSERT INTO t (name, id) VALUES ($1, $2), ($3, $4)",
         (oids.VARCHAR, oids.INT4, oids.VARCHAR, oids.INT4), None),
        ("INSERT INTO t VALUES ($1, $2, $3, $4, $5)",
         (oids.INT4, oids.VARCHAR, oids.NUMERIC, oids.TIMESTAMP, oids.BOOL), None),
        ("UPDATE t SET flag = $1 WHERE id = $2", (oids.BOOL, oids.INT4),
         "UPDATE t SET flag = CAST($1 AS BOOLEAN) WHERE id = CAST($2 AS INTEGER)"),
        ("SELECT * FROM t JOIN u ON u.uid = t.id WHERE value > $1 LIMIT $2",
         (oids.FLOAT8, oids.INT8), None),
        ("SELECT $1::int + 1", (oids.INT4,), "SELECT $1::int + 1"),
        ("SELECT $1", (oids.TEXT,), "SELECT $1"),
        # pgjdbc and others write the SQL-standard cast; DuckDB casts the value itself.
        ("SELECT CAST($1 AS DATE), CAST($2 AS DECIMAL(12,3)), CAST($3 AS INTEGER[])",
         (oids.DATE, oids.NUMERIC, oids.INT4_ARRAY), None),
        ("SELECT CAST($1 AS TIMESTAMP WITH TIME ZONE), CAST($2 AS TIMESTAMP)",
         (oids.TIMESTAMPTZ, oids.TIMESTAMP), None),
        # An unknown operand of arithmetic takes the other operand's type, as in PostgreSQL.
        ("SELECT $1 + 1, 5000000000 - $2", (oids.INT4, oids.INT8),
         "SELECT CAST($1 AS INTEGER) + 1, 5000000000 - CAST($2 AS BIGINT)"),
        ("SELECT amount * $1 FROM t", (oids.NUMERIC,),
         "SELECT amount * CAST($1 AS DECIMAL(10,2)) FROM t"),
        ("SELECT name || $1, ts - $2, -$3 FROM t", (oids.TEXT, oids.TEXT, oids.TEXT), None),
        ("SELECT '$1', $1 FROM t WHERE id = $1", (oids.INT4,),
         "SELECT '$1', CAST($1 AS INTEGER) FROM t WHERE id = CAST($1 AS INTEGER)"),
    ],
)
def test_inferred(sql: str, expected_oids: tuple[int, ...], expected_sql: str | None) -> None:
    resolved = resolve(sql)
    assert resolved.oids == expected_oids
    if expected_sql is not None:
        assert resolved.sql == expected_sql


def test_given_types_win_over_inference() -> None:
    resolved = resolve("SELECT * FROM t WHERE id = $1", [oids.INT8])
    assert resolved.oids == (oids.INT8,)
    assert resolved.sql == "SELECT * FROM t WHERE id = CAST($1 AS BIGINT)"


def test_numeric_given_takes_the_column_type() -> None:
    resolved = resolve("INSERT INTO t (amount) VALUES ($1)", [oids.NUMERIC])
    assert resolved.oids == (oids.NUMERIC,)
    assert "CAST($1 AS DECIMAL(10,2))" in resolved.sql


def test_more_types_given_than_placeholders_are_reported() -> None:
    assert resolve("SELECT 1", [oids.INT4]).oids == (oids.INT4,)


def test_placeholder_ten_is_not_placeholder_one() -> None:
    sql = "SELECT * FROM t WHERE id IN (" + ", ".join(f"${i}" for i in range(1, 11)) + ")"
    resolved = resolve(sql)
    assert resolved.oids == (oids.INT4,) * 10
    assert resolved.sql.count("CAST($1 AS INTEGER)") == 1
    assert "CAST($10 AS INTEGER)" in resolved.sql


def test_sql_standard_casts_describe_without_a_value() -> None:
    resolved = resolve("SELECT CAST($1 AS DATE) AS day")
    assert (resolved.sql, resolved.stand_ins) == ("SELECT CAST($1 AS DATE) AS day", (None,))


def test_stand_ins_match_how_values_are_bound() -> None:
    resolved = resolve("SELECT $1, $3, id FROM t WHERE id = $2", [0, 0, oids.NUMERIC])
    assert resolved.stand_ins == ("", None, Decimal(0))
    assert resolved.sql == "SELECT $1, $3, id FROM t WHERE id = CAST($2 AS INTEGER)"


@pytest.mark.parametrize(("casts", "values", "sql"), [
    (("INTEGER[]",), [["1", None]], "SELECT CAST($1 AS INTEGER[])"),
    (("INTEGER[]",), [[["1", "2"], ["3", "4"]]], "SELECT CAST($1 AS INTEGER[][])"),
    (("INTEGER[]",), [[None, [["1"]]]], "SELECT CAST($1 AS INTEGER[][][])"),
    (("INTEGER[][]",), [[["1"], ["2"]]], "SELECT CAST($1 AS INTEGER[][])"),
    (("INTEGER",), ["{1}"], "SELECT CAST($1 AS INTEGER)"),
])
def test_adapt_arrays(casts: tuple[str | None, ...], values: list[object], sql: str) -> None:
    tokens = classify("SELECT $1").tokens
    adapted = params.array_casts(casts, values)
    assert apply("SELECT $1", params.cast_edits(tokens, adapted)) == sql


def test_nested_list_columns_describe_array_parameters() -> None:
    def nested(tables: Sequence[str]) -> dict[str, str]:
        return {"m": "INTEGER[][]", "s": "VARCHAR[]"}

    resolved = params.resolve(classify("INSERT INTO n (m, s) VALUES ($1, $2)"), (), nested)
    assert resolved.oids == (oids.INT4_ARRAY, oids.VARCHAR_ARRAY)
    assert resolved.casts == ("INTEGER[][]", "VARCHAR[]")


@pytest.mark.parametrize(
    ("sql", "expected_oids", "expected_sql"),
    [
        # An array compared with ANY / ALL: the column's array type; text[] for a varchar.
        ("SELECT * FROM t WHERE id = ANY($1)", (oids.INT4_ARRAY,),
         "SELECT * FROM t WHERE id = ANY(CAST($1 AS INTEGER[]))"),
        ("SELECT * FROM t WHERE name <> ALL ($1)", (oids.TEXT_ARRAY,), None),
        # Stored into a varchar column: varchar; compared with one: text.
        ("UPDATE t SET name = $1 WHERE name = $2", (oids.VARCHAR, oids.TEXT), None),
        ("INSERT INTO t (id, name) SELECT $1, $2", (oids.INT4, oids.VARCHAR),
         "INSERT INTO t (id, name) SELECT CAST($1 AS INTEGER), CAST($2 AS VARCHAR)"),
        ("INSERT INTO t (name, id) SELECT upper($1), $2 FROM u", (oids.TEXT, oids.INT4), None),
        # A decimal constant beside an unknown operand makes it numeric.
        ("SELECT $1 + 1.5", (oids.NUMERIC,), None),
        # Casts qualified with pg_catalog, quoted or not (asyncpg writes them).
        ('SELECT $1::"pg_catalog"."int4", $2::pg_catalog.int8', (oids.INT4, oids.INT8),
         'SELECT $1::"pg_catalog"."int4", $2::pg_catalog.int8'),
    ],
)
def test_inferred_by_context(sql: str, expected_oids: tuple[int, ...],
                             expected_sql: str | None) -> None:
    resolved = resolve(sql)
    assert resolved.oids == expected_oids
    if expected_sql is not None:
        assert resolved.sql == expected_sql


def test_numeric_given_beside_an_integer_column_keeps_its_digits() -> None:
    """``$1 * id`` with a numeric: cast to the unconstrained numeric, not to id's integer."""
    resolved = resolve("SELECT $1 * id FROM t", [oids.NUMERIC])
    assert resolved.oids == (oids.NUMERIC,)
    assert resolved.casts == (types.duckdb_type(oids.NUMERIC),)


def test_untyped_placeholders_are_marked() -> None:
    resolved = resolve("SELECT $1, $2 FROM t WHERE id = $3")
    assert resolved.stand_ins == (params.UNTYPED, params.UNTYPED, None)
    assert describing.marked(resolved.stand_ins) == ("\x01p1", "\x01p2", None)


def test_marked_types_read_from_a_plan() -> None:
    plan = (
        '"Expression": "(CAST(\'\\u0001p1\' AS BIGINT) IN (i8, 1))", '
        '"least(CAST(\'\\u0001p2\' AS DECIMAL(18,3)), x)", '
        "\"CAST('\\u0001p3' AS VARCHAR) = s\", \"CAST('\\u0001p4' AS INTEGER[])\", "
        "\"CAST('\\u0001p1' AS INTEGER)\""
    )
    assert describing.marked_types(plan) == {
        1: oids.INT8, 2: oids.NUMERIC, 3: oids.TEXT, 4: oids.INT4_ARRAY}


def test_describing_replaces_placeholders_and_typed_nulls() -> None:
    described = describing.statement(
        "SELECT CAST($1 AS TEXT) || $2, NULL::text, CAST(NULL AS INT), x IS NULL, $3",
        (None, "", Decimal(0)),
    )
    unfolded = "(CASE WHEN random() < 0 THEN NULL END)"
    assert described == (
        f"SELECT CAST({unfolded} AS TEXT) || '', {unfolded}::text, CAST({unfolded} AS INT), "
        f"x IS NULL, CAST({unfolded} AS DECIMAL(1,0))"
    )
    assert describing.statement("SELECT 1", ()) == "SELECT 1"


@pytest.mark.parametrize(("sql", "expected"), [
    ("INSERT INTO t VALUES (1)", ("t", 12)),
    ('INSERT INTO s."T" (a) VALUES (1)', ('s."T"', 12)),
    ("UPDATE ONLY t SET a = 1", ("t", 12)),
    ("DELETE FROM lake.s.t WHERE a = 1", ("lake.s.t", 12)),
    ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", None),
    ("SELECT 1", None),
])
def test_dml_target(sql: str, expected: tuple[str, int] | None) -> None:
    assert params.target(classify(sql)) == expected


def test_preferring_casts_one_marked_placeholder_to_float8() -> None:
    marks = describing.marked(("", None, ""))
    assert describing.unmarked(marks) == [1, 3]
    preferred = describing.preferring(marks, 3)
    assert describing.statement("SELECT $1, abs($3)", preferred) == (
        "SELECT '\x01p1', abs(CAST('\x01p3' AS DOUBLE))")
