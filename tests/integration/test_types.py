"""Type round trips through psycopg 3, text and binary, parameters and results.

Columns are created over the wire with DuckDB types; values go in as parameters and must
come back as the same Python values, with the PostgreSQL OIDs in the RowDescription.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Json
from psycopg.types.string import TextLoader

UTC = dt.UTC

# (DuckDB column type, value, PostgreSQL type OID of the result column)
CASES: list[tuple[str, Any, int]] = [
    ("BOOLEAN", True, 16),
    ("BOOLEAN", False, 16),
    ("SMALLINT", -32768, 21),
    ("INTEGER", 2_147_483_647, 23),
    ("BIGINT", -9_223_372_036_854_775_808, 20),
    ("REAL", 0.25, 700),
    ("DOUBLE", 0.1, 701),
    ("DOUBLE", -1.5e300, 701),
    ("DECIMAL(10,2)", Decimal("-12345678.90"), 1700),
    ("DECIMAL(38,10)", Decimal("1234567890123456789012345678.0123456789"), 1700),
    ("HUGEINT", 10**37 + 7, 1700),
    ("HUGEINT", -(10**37) - 7, 1700),
    ("UBIGINT", 2**64 - 1, 1700),
    ("VARCHAR", "héllo ✓ 'quoted' \"double\" back\\slash\nnewline", 1043),
    ("VARCHAR", "", 1043),
    ("BLOB", b"\x00\x01\xff'\\\x7f", 17),
    ("BLOB", b"", 17),
    ("DATE", dt.date(2024, 2, 29), 1082),
    ("DATE", dt.date(1, 1, 1), 1082),
    ("TIME", dt.time(23, 59, 59, 999999), 1083),
    ("TIMESTAMP", dt.datetime(2024, 1, 2, 3, 4, 5, 6), 1114),
    ("TIMESTAMP", dt.datetime(1970, 1, 1), 1114),
    ("TIMESTAMPTZ", dt.datetime(2024, 6, 30, 23, 59, 58, 123456, tzinfo=UTC), 1184),
    ("INTERVAL", dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5), 1186),
    ("INTERVAL", dt.timedelta(days=-3, seconds=7), 1186),
    ("UUID", uuid.UUID("a8d1e230-300f-4f32-8210-c377328aff0d"), 2950),
    ("JSON", {"a": [1, 2.5, None], "b": "x", "c": {"d": True}}, 114),
    ("JSON", [1, "two", None], 114),
    ("INTEGER[]", [1, -2, None, 2_147_483_647], 1007),
    ("INTEGER[]", [], 1007),
    ("BIGINT[]", [2**40, None], 1016),
    ("VARCHAR[]", ["a", "b c", '"q"', "NULL", None, "", "{x,y}", "back\\slash"], 1015),
    ("DOUBLE[]", [1.5, -0.25, None, 1e-300], 1022),
    ("REAL[]", [0.5, None], 1021),
]


def _id(case: tuple[str, Any, int]) -> str:
    return f"{case[0]}-{str(case[1])[:20]}"


@pytest.fixture(params=[False, True], ids=["text", "binary"])
def binary(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_column_round_trip(conn: psycopg.Connection, table_name: str, binary: bool,
                           case: tuple[str, Any, int]) -> None:
    duck_type, value, oid = case
    param = Json(value) if duck_type == "JSON" else value
    cur = conn.cursor(binary=binary)
    cur.execute(f"CREATE TABLE {table_name} (id INTEGER, v {duck_type})")
    cur.execute(f"INSERT INTO {table_name} VALUES (%s, %s), (%s, %s)", (1, param, 2, None))
    assert cur.statusmessage == "INSERT 0 2"
    cur.execute(f"SELECT id, v FROM {table_name} ORDER BY id")
    assert cur.description is not None
    assert [d.type_code for d in cur.description] == [23, oid]
    assert cur.pgresult is not None
    assert cur.pgresult.fformat(1) == (1 if binary else 0)
    assert cur.fetchall() == [(1, value), (2, None)]


@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "JSON" and not c[0].endswith("[]")],
                         ids=[_id(c) for c in CASES if c[0] != "JSON" and not c[0].endswith("[]")])
def test_parameter_cast_round_trip(conn: psycopg.Connection, binary: bool,
                                   case: tuple[str, Any, int]) -> None:
    """A parameter cast to the column type comes back unchanged, NULL too."""
    duck_type, value, oid = case
    cur = conn.cursor(binary=binary)
    cur.execute(f"SELECT %s::{duck_type} AS v, %s::{duck_type} AS n", (value, None))
    assert cur.description is not None
    assert [d.type_code for d in cur.description] == [oid, oid]
    assert cur.fetchone() == (value, None)


def test_whole_row_with_every_type(conn: psycopg.Connection, table_name: str,
                                   binary: bool) -> None:
    conn.execute(
        f"CREATE TABLE {table_name} (b BOOLEAN, s SMALLINT, i INTEGER, l BIGINT, f REAL,"
        " d DOUBLE, h HUGEINT, u UBIGINT, c DECIMAL(10,2), t VARCHAR, y BLOB, dt DATE,"
        " tm TIME, ts TIMESTAMP, tz TIMESTAMPTZ, iv INTERVAL, id UUID, j JSON,"
        " li INTEGER[], lt VARCHAR[], lf DOUBLE[])"
    )
    row = (
        True, 7, 8, 9, 1.5, 2.25, 10**30, 2**64 - 1, Decimal("1.50"), "text", b"AB",
        dt.date(2024, 1, 1), dt.time(10, 0), dt.datetime(2024, 1, 1, 10, 0),
        dt.datetime(2024, 1, 1, 10, 0, tzinfo=UTC), dt.timedelta(days=1, hours=2),
        uuid.UUID(int=1), {"k": [1, 2]}, [1, 2], ["a", None], [0.5, None],
    )
    params = tuple(Json(v) if isinstance(v, dict) else v for v in row)
    cur = conn.cursor(binary=binary)
    cur.execute(f"INSERT INTO {table_name} VALUES ({', '.join(['%s'] * len(row))})", params)
    cur.execute(f"INSERT INTO {table_name} VALUES ({', '.join(['%s'] * len(row))})",
                (None,) * len(row))
    assert cur.statusmessage == "INSERT 0 1"
    cur.execute(f"SELECT * FROM {table_name} ORDER BY b NULLS LAST")
    assert cur.description is not None
    assert [d.type_code for d in cur.description] == [
        16, 21, 23, 20, 700, 701, 1700, 1700, 1700, 1043, 17, 1082, 1083, 1114, 1184, 1186,
        2950, 114, 1007, 1015, 1022,
    ]
    assert [d.name for d in cur.description][:3] == ["b", "s", "i"]
    assert cur.fetchall() == [row, (None,) * len(row)]


def test_column_type_modifiers(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (c DECIMAL(10,2), v VARCHAR, i INTEGER)")
    cur = conn.execute(f"SELECT c, v, i FROM {table_name}")
    assert cur.description is not None
    numeric, varchar, integer = cur.description
    assert (numeric.type_code, numeric.precision, numeric.scale) == (1700, 10, 2)
    assert (varchar.type_code, varchar.internal_size) == (1043, None)
    assert (integer.type_code, integer.internal_size) == (23, 4)


def test_unsigned_and_tiny_integer_oids(conn: psycopg.Connection, binary: bool) -> None:
    cur = conn.cursor(binary=binary)
    cur.execute("SELECT 255::UTINYINT, (-128)::TINYINT, 65535::USMALLINT, 4294967295::UINTEGER")
    assert cur.description is not None
    assert [d.type_code for d in cur.description] == [21, 21, 23, 20]
    assert cur.fetchone() == (255, -128, 65535, 4294967295)


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_float_infinities(conn: psycopg.Connection, binary: bool, value: float) -> None:
    cur = conn.cursor(binary=binary)
    cur.execute("SELECT %s::DOUBLE, %s::REAL", (value, value))
    assert cur.fetchone() == (value, value)


def test_float_nan(conn: psycopg.Connection, binary: bool) -> None:
    cur = conn.cursor(binary=binary)
    cur.execute("SELECT %s::DOUBLE", (math.nan,))
    row = cur.fetchone()
    assert row is not None and math.isnan(row[0])


def test_float_text_output_uses_postgres_spelling(conn: psycopg.Connection) -> None:
    cur = conn.cursor()
    cur.adapters.register_loader("float8", TextLoader)
    cur.execute("SELECT 'inf'::DOUBLE, '-inf'::DOUBLE, 'nan'::DOUBLE, 0.1::DOUBLE, 1e300::DOUBLE")
    assert cur.fetchone() == ("Infinity", "-Infinity", "NaN", "0.1", "1e+300")


def test_struct_and_map_are_json(conn: psycopg.Connection, table_name: str,
                                 binary: bool) -> None:
    conn.execute(f"CREATE TABLE {table_name} (s STRUCT(a INTEGER, b VARCHAR), n INTEGER[][])")
    conn.execute(f"INSERT INTO {table_name} VALUES ({{'a': 1, 'b': 'x'}}, [[1, 2], [3]])")
    cur = conn.cursor(binary=binary)
    cur.execute(f"SELECT s, n, MAP {{'k': 1, 'l': 2}} AS m, {{'x': [1, 2]}} AS nested"
                f" FROM {table_name}")
    assert cur.description is not None
    assert [d.type_code for d in cur.description] == [114, 114, 114, 114]
    assert cur.fetchone() == ({"a": 1, "b": "x"}, [[1, 2], [3]], {"k": 1, "l": 2},
                              {"x": [1, 2]})


def test_timestamptz_follows_session_time_zone(conn: psycopg.Connection) -> None:
    conn.execute("SET TimeZone = 'America/New_York'")
    assert conn.info.parameter_status("TimeZone") == "America/New_York"
    text = conn.cursor()
    text.adapters.register_loader("timestamptz", TextLoader)
    text.execute("SELECT TIMESTAMPTZ '2024-01-01 10:00:00+00',"
                 " TIMESTAMPTZ '2024-07-01 10:00:00+00'")
    assert text.fetchone() == ("2024-01-01 05:00:00-05", "2024-07-01 06:00:00-04")
    for binary in (False, True):
        cur = conn.cursor(binary=binary)
        cur.execute("SELECT TIMESTAMPTZ '2024-01-01 10:00:00+00'")
        row = cur.fetchone()
        assert row is not None
        assert row[0] == dt.datetime(2024, 1, 1, 10, tzinfo=UTC)
        assert row[0].utcoffset() == dt.timedelta(hours=-5)


def test_timestamptz_parameter_with_offset(conn: psycopg.Connection, binary: bool) -> None:
    value = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    cur = conn.cursor(binary=binary)
    cur.execute("SELECT %s::TIMESTAMPTZ", (value,))
    row = cur.fetchone()
    assert row is not None
    assert row[0] == value
    assert row[0].utcoffset() == dt.timedelta(0)


def test_text_output_formats(conn: psycopg.Connection) -> None:
    """The text a client that does not parse types sees, as PostgreSQL prints it."""
    cur = conn.cursor()
    for oid in (16, 17, 1082, 1083, 1114, 1184, 1186, 1700, 1007, 1009, 2950, 700, 701):
        cur.adapters.register_loader(oid, TextLoader)
    cur.execute(
        "SELECT true, false, 'AB'::BLOB, DATE '2024-01-31', TIME '01:02:03.5',"
        " TIMESTAMP '2024-01-01 10:00:00', TIMESTAMPTZ '2024-01-01 10:00:00+00',"
        " INTERVAL '1 day 2 hours', 1.50::DECIMAL(5,2), [1, 2], ['a', 'b c', NULL],"
        " '00000000-0000-0000-0000-000000000001'::UUID, 1.5::REAL, 2.5::DOUBLE,"
        " INTERVAL '14 months 3 days', INTERVAL '-1 second'"
    )
    assert cur.fetchone() == (
        "t", "f", "\\x4142", "2024-01-31", "01:02:03.5", "2024-01-01 10:00:00",
        "2024-01-01 10:00:00+00", "1 day 02:00:00", "1.50", "{1,2}", '{a,"b c",NULL}',
        "00000000-0000-0000-0000-000000000001", "1.5", "2.5", "1 year 2 mons 3 days",
        "-00:00:01",
    )


def test_interval_with_months_binary(conn: psycopg.Connection) -> None:
    """psycopg cannot load months into a timedelta; the raw binary value must still be exact."""
    cur = conn.cursor(binary=True)
    cur.adapters.register_loader("interval", _RawBinary)
    cur.execute("SELECT INTERVAL '14 months 3 days 00:00:01.000002'")
    row = cur.fetchone()
    assert row is not None
    # int64 microseconds, int32 days, int32 months ("interval_send")
    assert row[0] == struct.pack("!qii", 1_000_002, 3, 14)


class _RawBinary(psycopg.adapt.Loader):
    format = psycopg.pq.Format.BINARY

    def load(self, data: Any) -> bytes:
        return bytes(data)


def test_inferred_string_parameter_types(conn: psycopg.Connection, table_name: str) -> None:
    """psycopg sends str as 'unknown' (OID 0) in text mode: the server infers the column type."""
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, d DATE, ts TIMESTAMP, n DECIMAL(6,2))")
    cur = conn.cursor()
    cur.execute(f"INSERT INTO {table_name} VALUES (%s, %s, %s, %s)",
                ("1", "2024-05-06", "2024-05-06 07:08:09", "3.25"))
    cur.execute(f"SELECT id, d, ts, n FROM {table_name} WHERE id = %s AND d = %s",
                ("1", "2024-05-06"))
    assert cur.fetchall() == [
        (1, dt.date(2024, 5, 6), dt.datetime(2024, 5, 6, 7, 8, 9), Decimal("3.25")),
    ]
