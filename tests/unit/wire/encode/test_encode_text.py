"""Text output: exact strings as PostgreSQL prints them, per type."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pyarrow as pa
import pytest

from forge_sql.errors import FeatureNotSupported
from forge_sql.seam import oids
from forge_sql.wire.encode.text import encode_text

D = decimal.Decimal
M = pa.MonthDayNano


def text(values: list[Any], typ: pa.DataType, oid: int) -> list[str | None]:
    out = encode_text(pa.array(values, typ), oid)
    assert pa.types.is_binary(out.type) or pa.types.is_large_binary(out.type)
    return [None if v is None else v.decode() for v in out.to_pylist()]


def test_bool() -> None:
    assert text([True, False, None], pa.bool_(), oids.BOOL) == ["t", "f", None]


@pytest.mark.parametrize("typ", [pa.int8(), pa.int16(), pa.int32(), pa.int64()])
def test_signed_integers(typ: pa.DataType) -> None:
    assert text([0, -1, 42, None], typ, oids.INT8) == ["0", "-1", "42", None]


def test_integer_extremes() -> None:
    assert text([-(2**63), 2**63 - 1], pa.int64(), oids.INT8) == [
        "-9223372036854775808", "9223372036854775807"]
    assert text([2**64 - 1], pa.uint64(), oids.NUMERIC) == ["18446744073709551615"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, "1.5"), (0.1, "0.1"), (1e20, "1e+20"), (1.5e-7, "1.5e-07"),
        (float("inf"), "Infinity"), (float("-inf"), "-Infinity"), (float("nan"), "NaN"),
        (1e15, "1e+15"), (123456789012345.0, "123456789012345"), (0.0001, "0.0001"),
        (0.00001, "1e-05"), (-0.0, "-0"), (0.0, "0"), (100.0, "100"), (-2.5, "-2.5"),
        (1e100, "1e+100"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (12345678901.5, "12345678901.5"), (1e10, "10000000000"), (-1.5e-5, "-1.5e-05"),
        (0.30000000000000004, "0.30000000000000004"), (1e-10, "1e-10"),
    ],
)
def test_float8(value: float, expected: str) -> None:
    assert text([value], pa.float64(), oids.FLOAT8) == [expected]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.5, "1.5"), (0.1, "0.1"), (100000.0, "100000"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
     (3.4028235e38, "3.4028235e+38"), (1e-5, "1e-05"), (0.0001, "0.0001"), (-0.0, "-0")],
)
def test_float4(value: float, expected: str) -> None:
    assert text([value], pa.float32(), oids.FLOAT4) == [expected]


def test_float_nulls_kept_and_mixed_rewrites() -> None:
    values = [1.0, None, 1e-7, 2.5, float("nan"), 1e12, None]
    assert text(values, pa.float64(), oids.FLOAT8) == [
        "1", None, "1e-07", "2.5", "NaN", "1000000000000", None]


def test_numeric_keeps_scale() -> None:
    values = [D("1.50"), D("-0.05"), D("0"), None, D("12345678.9")]
    assert text(values, pa.decimal128(10, 2), oids.NUMERIC) == [
        "1.50", "-0.05", "0.00", None, "12345678.90"]
    assert text([D(10**30)], pa.decimal128(38, 0), oids.NUMERIC) == ["1" + "0" * 30]


def test_strings_as_they_are() -> None:
    values = ["", "héllo", None, 'quo"te', "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]
    assert text(values, pa.string(), oids.TEXT) == values
    assert text(values, pa.large_string(), oids.VARCHAR) == values
    assert text(['{"a": 1}'], pa.string(), oids.JSON) == ['{"a": 1}']


def test_bytea_hex() -> None:
    assert text([b"\x00\xffAb", b"", None], pa.binary(), oids.BYTEA) == ["\\x00ff4162", "\\x", None]
    assert text([b"\x01\x02"], pa.large_binary(), oids.BYTEA) == ["\\x0102"]


def test_uuid_from_fixed_size_binary() -> None:
    raw = bytes.fromhex("a0eebc999c0b4ef8bb6d6bb9bd380a11")
    assert text([raw, None], pa.binary(16), oids.UUID) == [
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None]


def test_date() -> None:
    values = [dt.date(2024, 1, 31), dt.date(1, 1, 1), dt.date(9999, 12, 31), None]
    assert text(values, pa.date32(), oids.DATE) == [
        "2024-01-31", "0001-01-01", "9999-12-31", None]


def test_date_bc_and_infinity() -> None:
    # 0001-12-31 BC is the day before 0001-01-01; DuckDB stores infinity as INT32_MAX.
    days = [-719163, -719162 - 366 - 365, 2**31 - 1, -(2**31 - 1)]
    assert text(days, pa.date32(), oids.DATE) == [
        "0001-12-31 BC", "0002-01-01 BC", "infinity", "-infinity"]


def test_time() -> None:
    values = [dt.time(10), dt.time(10, 0, 0, 500000), dt.time(23, 59, 59, 999999), None,
              dt.time(0, 0, 0, 10)]
    assert text(values, pa.time64("us"), oids.TIME) == [
        "10:00:00", "10:00:00.5", "23:59:59.999999", None, "00:00:00.00001"]
    assert text([86_400_000_000], pa.time64("us"), oids.TIME) == ["24:00:00"]
    assert text([1_500_000_000], pa.time64("ns"), oids.TIME) == ["00:00:01.5"]


def test_timestamp() -> None:
    values = [dt.datetime(2024, 1, 31, 10), dt.datetime(2024, 1, 31, 10, 0, 0, 123456),
              dt.datetime(2024, 1, 31, 10, 0, 0, 120000), None]
    assert text(values, pa.timestamp("us"), oids.TIMESTAMP) == [
        "2024-01-31 10:00:00", "2024-01-31 10:00:00.123456", "2024-01-31 10:00:00.12", None]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_timestamp_units(unit: str) -> None:
    value = pa.scalar(dt.datetime(2024, 1, 31, 10, 0, 1), pa.timestamp(unit))
    assert text([value], pa.timestamp(unit), oids.TIMESTAMP) == ["2024-01-31 10:00:01"]


def test_timestamp_bc_and_infinity() -> None:
    values = [2**63 - 1, -(2**63 - 1), -62135596800000000 - 1]
    assert text(values, pa.timestamp("us"), oids.TIMESTAMP) == [
        "infinity", "-infinity", "0001-12-31 23:59:59.999999 BC"]


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", "2024-01-31 10:00:00.5+00"),
        ("America/New_York", "2024-01-31 05:00:00.5-05"),
        ("Asia/Kolkata", "2024-01-31 15:30:00.5+05:30"),
        ("Europe/Amsterdam", "2024-01-31 11:00:00.5+01"),
    ],
)
def test_timestamptz_in_session_zone(zone: str, expected: str) -> None:
    value = dt.datetime(2024, 1, 31, 10, 0, 0, 500000, tzinfo=dt.UTC)
    assert text([value, None], pa.timestamp("us", zone), oids.TIMESTAMPTZ) == [expected, None]


def test_timestamptz_daylight_saving_and_lmt() -> None:
    summer = dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC)
    old = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    assert text([summer, old], pa.timestamp("us", "Europe/Amsterdam"), oids.TIMESTAMPTZ) == [
        "2024-07-01 14:00:00+02", "1900-01-01 00:19:32+00:19:32"]
    assert text([2**63 - 1], pa.timestamp("us", "Asia/Kolkata"), oids.TIMESTAMPTZ) == ["infinity"]


def test_interval_postgres_style() -> None:
    hms = (4 * 3600 + 5 * 60 + 6) * 10**9
    values = [
        M([14, 3, hms]), M([0, 0, 0]), M([0, -1, 0]), M([0, 1, 0]), M([0, 0, -1_500_000_000]),
        M([0, 3, 10**9]), None, M([-12, 2, 3600 * 10**9]), M([-14, -3, -3600 * 10**9]),
        M([1, 0, 0]), M([0, 0, 1000 * 3600 * 10**9]), M([0, -2, 3600 * 10**9]), M([0, 0, 1000]),
        M([24, 0, 0]), M([-1, 0, 0]),
    ]
    assert text(values, pa.month_day_nano_interval(), oids.INTERVAL) == [
        "1 year 2 mons 3 days 04:05:06", "00:00:00", "-1 days", "1 day", "-00:00:01.5",
        "3 days 00:00:01", None, "-1 years +2 days 01:00:00", "-1 years -2 mons -3 days -01:00:00",
        "1 mon", "1000:00:00", "-2 days +01:00:00", "00:00:00.000001", "2 years", "-1 mons",
    ]


def test_arrays() -> None:
    assert text([[1, 2, None], [], None], pa.list_(pa.int32()), oids.INT4_ARRAY) == [
        "{1,2,NULL}", "{}", None]
    assert text([["a b", "c", "", "null", 'q"\\', "NULLx", None]], pa.list_(pa.string()),
                oids.TEXT_ARRAY) == ['{"a b",c,"","null","q\\"\\\\",NULLx,NULL}']
    assert text([[1.5, float("inf")]], pa.large_list(pa.float64()), oids.FLOAT8_ARRAY) == [
        "{1.5,Infinity}"]
    assert text([[True, False]], pa.list_(pa.bool_(), 2), oids.BOOL_ARRAY) == ["{t,f}"]


def test_arrays_of_quoted_types() -> None:
    stamps = [[dt.datetime(2024, 1, 1, 10), None]]
    assert text(stamps, pa.list_(pa.timestamp("us")), oids.TIMESTAMP_ARRAY) == [
        '{"2024-01-01 10:00:00",NULL}']
    assert text([[b"\x01\x02"]], pa.list_(pa.binary()), oids.BYTEA_ARRAY) == ['{"\\\\x0102"}']
    assert text([[dt.date(2024, 1, 31)]], pa.list_(pa.date32()), oids.DATE_ARRAY) == [
        "{2024-01-31}"]


def test_multidimensional_array_text() -> None:
    assert text([[[1, 2], [3, 4]]], pa.list_(pa.list_(pa.int64())), oids.INT8_ARRAY) == [
        "{{1,2},{3,4}}"]


def test_sliced_list_array() -> None:
    array = pa.array([[1], [2, 3], None, [4]], pa.list_(pa.int64())).slice(1, 3)
    out = encode_text(array, oids.INT8_ARRAY).to_pylist()
    assert out == [b"{2,3}", None, b"{4}"]


def test_struct_map_nested_as_json() -> None:
    import json

    rows = [{"a": 1, "b": "x"}, None, {"a": None, "b": "q\"uote"}]
    out = text(rows, pa.struct([("a", pa.int32()), ("b", pa.string())]), oids.JSON)
    assert [None if v is None else json.loads(v) for v in out] == rows
    maps = text([[(1, 2.5)]], pa.map_(pa.int32(), pa.float64()), oids.JSON)
    assert json.loads(maps[0] or "") == {"1": 2.5}
    nested = text([[[1, 2], [3]]], pa.list_(pa.list_(pa.int32())), oids.JSON)
    assert json.loads(nested[0] or "") == [[1, 2], [3]]
    structs = text([[{"d": D("1.50")}]], pa.list_(pa.struct([("d", pa.decimal128(5, 2))])),
                   oids.JSON)
    assert structs == ['[{"d": 1.50}]']


def test_null_type_and_dictionary() -> None:
    assert encode_text(pa.nulls(3), oids.TEXT).to_pylist() == [None, None, None]
    enum = pa.array(["red", None, "blue", "red"]).dictionary_encode()
    assert text_of_array(enum) == ["red", None, "blue", "red"]


def text_of_array(array: pa.Array) -> list[str | None]:
    return [None if v is None else v.decode() for v in encode_text(array, oids.TEXT).to_pylist()]


def test_chunked_and_sliced() -> None:
    chunked = pa.chunked_array([pa.array([1, None]), pa.array([3])])
    assert encode_text(chunked, oids.INT8).to_pylist() == [b"1", None, b"3"]
    sliced = pa.array([1.5, None, 1e-9, 2.0]).slice(1, 2)
    assert encode_text(sliced, oids.FLOAT8).to_pylist() == [None, b"1e-09"]
    assert encode_text(pa.chunked_array([], pa.int64()), oids.INT8).to_pylist() == []


def test_empty_arrays() -> None:
    for typ, oid in [(pa.float64(), oids.FLOAT8), (pa.timestamp("us", "UTC"), oids.TIMESTAMPTZ),
                     (pa.month_day_nano_interval(), oids.INTERVAL),
                     (pa.list_(pa.string()), oids.TEXT_ARRAY), (pa.binary(), oids.BYTEA)]:
        assert encode_text(pa.array([], typ), oid).to_pylist() == []


def test_unsupported_type() -> None:
    with pytest.raises(FeatureNotSupported):
        encode_text(pa.array([1], pa.duration("s")), oids.TEXT)
