"""numeric without silent digit loss, side by side with a real PostgreSQL: what clients are
told (OID, typmod), what they read in text and binary, and the errors where the server's
numeric (DECIMAL(38,10) when unconstrained) cannot hold a value PostgreSQL keeps."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer, run_asyncpg

Pair = tuple[psycopg.Connection, psycopg.Connection]


@pytest.fixture(scope="module")
def both(server: RunningServer, postgres: PostgresServer  # noqa: F811
         ) -> Iterator[Pair]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, \
            psycopg.connect(postgres.dsn, autocommit=True) as pg:
        yield forge, pg


@pytest.fixture
def table(both: Pair) -> Iterator[str]:
    """A table with an unconstrained and a constrained numeric column, made over the wire
    on both servers."""
    name = f"num_{uuid.uuid4().hex[:8]}"
    for conn in both:
        conn.execute(f"CREATE TABLE {name} (id int, x numeric, y numeric(12,2), z decimal)")
    yield name
    for conn in both:
        conn.execute(f"DROP TABLE {name}")


def answer(conn: psycopg.Connection, sql: str, params: tuple[object, ...] | None = None,
           binary: bool = False) -> tuple[list[tuple[object, ...]], list[tuple[int, int]]]:
    """Rows as the driver reads them, and (type OID, typmod) of each column."""
    with conn.cursor(binary=binary) as cur:
        cur.execute(sql, params)
        result = cur.pgresult
        assert result is not None
        types = [(result.ftype(i), result.fmod(i)) for i in range(result.nfields)]
        return cur.fetchall(), types


def texts(conn: psycopg.Connection, sql: str) -> list[tuple[object, ...]]:
    """Rows as the server prints them (numeric_out), through a cast-free text read."""
    with conn.cursor() as cur:
        cur.execute(sql)
        return [tuple(None if v is None else str(v) for v in row) for row in cur.fetchall()]


def sqlstate(conn: psycopg.Connection, sql: str, params: tuple[object, ...] | None = None,
             binary: bool = False) -> str | None:
    try:
        with conn.cursor(binary=binary) as cur:
            cur.execute(sql, params)
            if cur.description is not None:
                cur.fetchall()
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


SAME = [
    "SELECT '3.14159'::numeric",
    "SELECT CAST('1.5' AS numeric), CAST('-7' AS decimal), numeric '0.25'",
    "SELECT '12345678901234567890.123456789'::numeric",
    "SELECT '0.0000000001'::numeric, '0'::numeric, '100'::numeric, '-0.5'::numeric",
    "SELECT 1.5::numeric, 2.25::numeric * 3, 3::numeric",
    "SELECT '1.5'::numeric(12,2), 7::numeric(5,0), '2.345'::numeric(6,2)",
    "SELECT ('3.14159'::numeric + '1.5'::numeric)",
    "SELECT 1.5, 2.50, 0.001",
]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("sql", SAME)
def test_values_as_postgres_prints_them(both: Pair, sql: str, binary: bool) -> None:
    forge, pg = both
    forge_rows, _ = answer(forge, sql, binary=binary)
    pg_rows, _ = answer(pg, sql, binary=binary)
    # str(Decimal) shows the scale: 1.5 and 1.50 differ.
    assert [tuple(map(str, r)) for r in forge_rows] == [tuple(map(str, r)) for r in pg_rows]


@pytest.mark.parametrize("sql", [*SAME[:5], "SELECT '1.5'::numeric(12,2), 7::numeric(5,0)"])
def test_types_and_typmods_as_postgres(both: Pair, sql: str) -> None:
    forge, pg = both
    assert answer(forge, sql)[1] == answer(pg, sql)[1]


def test_column_created_over_the_wire_keeps_every_digit(both: Pair, table: str) -> None:
    values = "(1, '3.14159', '3.14159', 1.5), (2, '-12345678901234567890.0123456789', 0, 0.001)"
    sql = f"SELECT x, y, z FROM {table} ORDER BY id"
    for conn in both:
        conn.execute(f"INSERT INTO {table} VALUES {values}")
    forge, pg = both
    assert texts(forge, sql) == texts(pg, sql)
    assert texts(forge, sql)[0] == ("3.14159", "3.14", "1.5")
    assert answer(forge, sql)[1] == answer(pg, sql)[1]
    assert answer(forge, sql, binary=True)[0] == answer(pg, sql, binary=True)[0]
    catalog = (f"SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
               f"WHERE attrelid = '{table}'::regclass AND attnum > 0 ORDER BY attnum")
    assert answer(forge, catalog)[0] == answer(pg, catalog)[0]


def test_alter_column_type_numeric(both: Pair, table: str) -> None:
    forge, _ = both
    forge.execute(f"ALTER TABLE {table} ADD COLUMN w numeric")
    forge.execute(f"INSERT INTO {table} (id, w) VALUES (1, '2.0000000001')")
    assert texts(forge, f"SELECT w FROM {table}") == [("2.0000000001",)]


@pytest.mark.parametrize("sql", [
    "SELECT '0.00000000000000000001'::numeric",  # 20 decimals: DuckDB would answer 0
    "SELECT CAST('3.14159265358979323' AS numeric)",
    "SELECT '12345678901234567890123456789'::numeric",  # 29 digits before the point
    "SELECT 1234567890123456789012345678901234567890.5",  # DuckDB would read a DOUBLE
])
def test_digits_that_would_be_lost_are_22003(both: Pair, sql: str) -> None:
    forge, pg = both
    assert sqlstate(pg, sql) is None  # PostgreSQL's numeric holds them
    assert sqlstate(forge, sql) == "22003"


@pytest.mark.parametrize("sql", [
    "SELECT 123456::numeric(5,2)",
    "SELECT '1234.5'::numeric(5,2)",
    "SELECT 999.999::numeric(5,2)",
])
def test_numeric_p_s_overflow_is_22003_as_in_postgres(both: Pair, sql: str) -> None:
    forge, pg = both
    assert sqlstate(forge, sql) == sqlstate(pg, sql) == "22003"


def test_nan_is_refused_not_null(both: Pair, table: str) -> None:
    forge, _ = both
    assert sqlstate(forge, "SELECT 'NaN'::numeric") == "0A000"
    assert sqlstate(forge, "SELECT 'Infinity'::numeric") == "0A000"
    for binary in (False, True):
        assert sqlstate(forge, "SELECT %s", (Decimal("NaN"),), binary=binary) == "0A000"
        assert sqlstate(forge, f"INSERT INTO {table} (id, x) VALUES (1, %s)",
                        (Decimal("NaN"),), binary=binary) == "0A000"


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_decimal_parameters(both: Pair, table: str, binary: bool) -> None:
    values = [Decimal("3.14159"), Decimal("-0.0000000001"), Decimal("12345678901234567890.5")]
    sql = f"SELECT x FROM {table} ORDER BY id"
    for conn in both:
        with conn.cursor(binary=binary) as cur:
            cur.executemany(f"INSERT INTO {table} (id, x) VALUES (%s, %s)",
                            list(enumerate(values)))
    forge, pg = both
    assert texts(forge, sql) == texts(pg, sql) == [(str(v),) for v in values]
    tiny = (Decimal("0.00000000000000000001"),)
    assert sqlstate(forge, f"INSERT INTO {table} (id, x) VALUES (9, %s)", tiny,
                    binary=binary) == "22003"
    assert sqlstate(pg, "SELECT %s::numeric", tiny, binary=binary) is None
    assert answer(forge, "SELECT %s::numeric", (values[0],), binary=binary)[0] == [(values[0],)]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_parameter_cast_to_numeric_keeps_its_digits_or_is_refused(both: Pair,
                                                                  binary: bool) -> None:
    """``$1::numeric`` is DuckDB's cast to DECIMAL(38,10): a value it would round (to 0
    here, so that 0 <= $1 held) is refused, one it holds is answered as PostgreSQL."""
    forge, pg = both
    for sent in ("0.00000000000000000001", Decimal("1E-20")):
        assert sqlstate(forge, "SELECT 0 < %s::numeric", (sent,), binary=binary) == "22003"
        assert answer(pg, "SELECT 0 < %s::numeric", (sent,), binary=binary)[0] == [(True,)]
    sql = "SELECT %s::decimal * 2, %s::numeric(5,2)"
    fits = ("0.0000000001", "1.005")
    assert answer(forge, sql, fits, binary=binary)[0] == answer(pg, sql, fits,
                                                               binary=binary)[0]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_uncast_numeric_parameter_is_a_number(both: Pair, binary: bool) -> None:
    sql = ("WITH c AS (SELECT 1 AS id, %s AS x) SELECT id, x, x + 1, x > 5 FROM c")
    value = (Decimal("12345678901234567890.123456789"),)
    forge, pg = both
    assert answer(forge, sql, value, binary=binary)[0] == answer(pg, sql, value, binary=binary)[0]


def test_asyncpg_numeric(server: RunningServer, table: str) -> None:
    async def body(con: object) -> list[object]:
        import asyncpg
        assert isinstance(con, asyncpg.Connection)
        await con.execute(f"INSERT INTO {table} (id, x, y) VALUES ($1, $2, $3)",
                          1, Decimal("3.14159"), Decimal("1.5"))
        with pytest.raises(asyncpg.NumericValueOutOfRangeError):
            await con.execute(f"INSERT INTO {table} (id, x) VALUES ($1, $2)",
                              2, Decimal("1E-20"))
        row = await con.fetchrow(f"SELECT x, y, $1::numeric AS p FROM {table}",
                                 Decimal("2.5"))
        assert row is not None
        return [str(row["x"]), str(row["y"]), str(row["p"])]

    assert run_asyncpg(server, body) == ["3.14159", "1.50", "2.5"]


def test_copy_in_numeric(both: Pair, table: str) -> None:
    data = "1\t3.14159\t1.5\t0.5\n2\t\\N\t-2\t1e3\n"
    sql = f"SELECT id, x, y, z FROM {table} ORDER BY id"
    for conn in both:
        with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
            copy.write(data)
    forge, pg = both
    assert texts(forge, sql) == texts(pg, sql)
    for bad, state in (("0.00000000000000000001", "22003"), ("NaN", "0A000"),
                       ("1e-30", "22003")):
        with pytest.raises(psycopg.Error) as caught, forge.cursor() as cur, \
                cur.copy(f"COPY {table} (id, x) FROM STDIN") as copy:
            copy.write(f"7\t1\n8\t{bad}\n")
        assert caught.value.sqlstate == state
        assert "line 2" in str(caught.value.diag.context)
    assert texts(forge, f"SELECT count(*) FROM {table}") == [("2",)]


def test_binary_copy_in_numeric(both: Pair, table: str) -> None:
    rows = [(1, Decimal("3.14159")), (2, Decimal("-12345678901234567890.0123456789"))]
    sql = f"SELECT id, x FROM {table} ORDER BY id"
    for conn in both:
        with conn.cursor() as cur, \
                cur.copy(f"COPY {table} (id, x) FROM STDIN (FORMAT binary)") as copy:
            copy.set_types(["int4", "numeric"])
            for row in rows:
                copy.write_row(row)
    forge, pg = both
    assert texts(forge, sql) == texts(pg, sql)
    for bad, state in ((Decimal("1E-20"), "22003"), (Decimal("NaN"), "0A000")):
        with pytest.raises(psycopg.Error) as caught, forge.cursor() as cur, \
                cur.copy(f"COPY {table} (id, x) FROM STDIN (FORMAT binary)") as copy:
            copy.set_types(["int4", "numeric"])
            copy.write_row((9, bad))
        assert caught.value.sqlstate == state
