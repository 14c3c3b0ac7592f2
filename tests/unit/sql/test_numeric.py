"""The unconstrained numeric's rules: type names respelled DECIMAL(38,10), and values that
type would round, NaN and constants DuckDB would read as DOUBLE refused."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from forge_sql.errors import (
    FeatureNotSupported,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
)
from forge_sql.seam import oids
from forge_sql.seam.numeric import DUCKDB_TYPE, unconstrained
from forge_sql.sql import numeric
from forge_sql.sql.duckdb_errors import translate
from forge_sql.sql.statements import classify
from forge_sql.sql.types import pg_type


def rewritten(sql: str) -> str:
    return classify(sql, numeric.RULES).for_duckdb


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT '1.5'::numeric", "SELECT '1.5'::DECIMAL(38,10)"),
    ("SELECT CAST(x AS decimal), TRY_CAST(y AS NUMERIC[]) FROM t",
     "SELECT CAST(x AS DECIMAL(38,10)), TRY_CAST(y AS DECIMAL(38,10)[]) FROM t"),
    ("SELECT numeric '2.5'", "SELECT DECIMAL(38,10) '2.5'"),
    ("CREATE TABLE t (numeric numeric, b decimal NOT NULL, c numeric(10,2))",
     "CREATE TABLE t (numeric DECIMAL(38,10), b DECIMAL(38,10) NOT NULL, c numeric(10,2))"),
    ("ALTER TABLE t ADD COLUMN a numeric", "ALTER TABLE t ADD COLUMN a DECIMAL(38,10)"),
    ("ALTER TABLE t ADD COLUMN numeric numeric",
     "ALTER TABLE t ADD COLUMN numeric DECIMAL(38,10)"),
    ("ALTER TABLE t ALTER a SET DATA TYPE numeric USING a::numeric",
     "ALTER TABLE t ALTER a SET DATA TYPE DECIMAL(38,10) USING a::DECIMAL(38,10)"),
    ("SELECT CAST(f(x, (1)) AS numeric)", "SELECT CAST(f(x, (1)) AS DECIMAL(38,10))"),
])
def test_bare_numeric_is_the_wide_decimal(sql: str, expected: str) -> None:
    assert rewritten(sql) == expected


@pytest.mark.parametrize("sql", [
    "SELECT 1 AS numeric",  # an alias
    "SELECT (SELECT 1 AS numeric)",
    "SELECT numeric FROM t",  # a column
    "SELECT x::numeric(12,2)",  # constrained: DuckDB's DECIMAL(p,s) as PostgreSQL's
    "SELECT 'numeric'",
])
def test_other_uses_of_the_word_are_left(sql: str) -> None:
    assert rewritten(sql) == sql


def test_the_rewritten_type_holds_the_digits_in_duckdb() -> None:
    row = duckdb.sql(rewritten("SELECT '3.14159'::numeric AS a, CAST('-1e3' AS numeric) AS b"))
    assert row.fetchall() == [(Decimal("3.14159"), Decimal(-1000))]
    assert row.types[0] == DUCKDB_TYPE


@pytest.mark.parametrize("sql", [
    "SELECT '0.00000000000000000001'::numeric",
    "SELECT CAST('1.00000000001' AS numeric)",
    "SELECT numeric '12345678901234567890123456789'",
    "SELECT 1234567890123456789012345678901234567890.5",
    "SELECT 1234567890123456789012345678901234567890",
])
def test_constants_the_server_cannot_hold_are_22003(sql: str) -> None:
    with pytest.raises(NumericValueOutOfRange, match="numeric field overflow"):
        rewritten(sql)


@pytest.mark.parametrize("sql", [
    "SELECT '1.50000000000000000000'::numeric",  # trailing zeros lose nothing
    "SELECT '1234567890123456789012345678.0123456789'::numeric",  # 28 + 10 digits
    "SELECT 'abc'::numeric",  # not a number: DuckDB's own 22P02 later
    "SELECT 0.00000000000000000001",  # DuckDB's DECIMAL(21,20): exact
    "SELECT '0.00000000000000000001'::numeric(30,25)",
    "SELECT 1e-30",
])
def test_constants_held_exactly_pass(sql: str) -> None:
    rewritten(sql)


@pytest.mark.parametrize("text", ["NaN", " nan ", "Infinity", "-inf"])
def test_nan_and_infinity_are_0A000(text: str) -> None:
    with pytest.raises(FeatureNotSupported, match="NaN"):
        rewritten(f"SELECT '{text}'::numeric")


@pytest.mark.parametrize(("value", "expected"), [
    ("1.5", (1, 1)), ("1.500", (1, 1)), ("100", (0, 3)), ("1E+2", (0, 3)), ("0", (0, 0)),
    ("0.000", (0, 0)), ("-0.0012", (4, 0)), ("1E-20", (20, 0)),
    ("1234567890123456789012345678.9", (1, 28)),
    ("1.00000000000000000000000000001", (29, 1)),  # more digits than the context's 28
])
def test_digits(value: str, expected: tuple[int, int]) -> None:
    assert numeric.digits(Decimal(value)) == expected


def test_parameters() -> None:
    check = numeric.check_parameters
    check([Decimal("3.14159"), "2.5", 7], [oids.NUMERIC, oids.NUMERIC, oids.INT4], [None] * 3)
    # Bound as itself, a Decimal keeps its own scale: only 38 digits are the limit.
    check([Decimal("1E-20")], [oids.NUMERIC], [None])
    with pytest.raises(NumericValueOutOfRange):  # going into a numeric column
        check([Decimal("1E-20")], [oids.NUMERIC], [DUCKDB_TYPE])
    with pytest.raises(NumericValueOutOfRange):
        check(["0.00000000000000000001"], [oids.NUMERIC], [DUCKDB_TYPE])
    with pytest.raises(NumericValueOutOfRange):
        check(["1" * 39], [oids.NUMERIC], [None])
    with pytest.raises(NumericValueOutOfRange):
        check([Decimal("1" * 39)], [oids.NUMERIC], [None])
    with pytest.raises(FeatureNotSupported):
        check([Decimal("NaN")], [0], [None])
    with pytest.raises(FeatureNotSupported):
        check(["NaN"], [oids.NUMERIC], [None])
    check(["NaN"], [oids.FLOAT8], ["DOUBLE"])  # not numeric: not ours
    # Text sent for an uncast numeric parameter is bound as the number it is.
    assert check([" 2.50", "x"], [oids.NUMERIC, oids.TEXT], [None, None]) == [
        Decimal("2.50"), "x"]
    assert check(["1.25", "x"], [0, 0], [DUCKDB_TYPE, DUCKDB_TYPE]) == [Decimal("1.25"), "x"]
    with pytest.raises(InvalidTextRepresentation, match="numeric"):
        check(["abc"], [oids.NUMERIC], [None])


@pytest.mark.parametrize(("text", "expected"), [
    ("1.5", Decimal("1.5")), ("-7", Decimal(-7)), ("1e3", Decimal(1000)), (None, None),
    ("1.50000000000000000000", Decimal("1.5")), (" 2.25 ", Decimal("2.25")),
])
def test_copy_cast_keeps_exact_values(text: str | None, expected: Decimal | None) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE s (c VARCHAR)")
    con.execute("INSERT INTO s VALUES (?)", [text])
    assert con.execute(f"SELECT {numeric.copy_cast('c')} FROM s").fetchall() == [(expected,)]
    assert con.execute(f"SELECT count(*) FROM s WHERE {numeric.copy_refused('c')}").fetchall() \
        == [(0,)]


@pytest.mark.parametrize(("text", "error"), [
    ("0.00000000000000000001", NumericValueOutOfRange), ("1e-30", NumericValueOutOfRange),
    ("12345678901234567890123456789", NumericValueOutOfRange), ("NaN", FeatureNotSupported),
    ("-Infinity", FeatureNotSupported),
])
def test_copy_cast_refuses_what_it_would_round(text: str, error: type[Exception]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE s (c VARCHAR)")
    con.execute("INSERT INTO s VALUES (?)", [text])
    with pytest.raises(duckdb.Error) as caught:
        con.execute(f"SELECT {numeric.copy_cast('c')} FROM s").fetchall()
    assert isinstance(translate(caught.value), error)
    assert con.execute(f"SELECT count(*) FROM s WHERE {numeric.copy_refused('c')}").fetchall() \
        == [(1,)]


def test_announced_types() -> None:
    assert pg_type("DECIMAL(38,10)") == (oids.NUMERIC, -1)
    assert pg_type("DECIMAL(38,20)") == (oids.NUMERIC, -1)  # a product of two
    assert pg_type("DECIMAL(12,2)") == (oids.NUMERIC, (12 << 16 | 2) + 4)
    assert pg_type("DECIMAL(38,2)") == (oids.NUMERIC, (38 << 16 | 2) + 4)  # sum(numeric(12,2))
    assert unconstrained(38, 10) and not unconstrained(18, 10)


@pytest.mark.parametrize(("text", "expected"), [
    ("numeric", "DECIMAL(38,10)"), (" Decimal [] ", "DECIMAL(38,10)[]"),
    ("numeric(12,2)", "numeric(12,2)"), ("INTEGER", "INTEGER"),
])
def test_type_names_outside_statements(text: str, expected: str) -> None:
    assert numeric.type_name(text) == expected
