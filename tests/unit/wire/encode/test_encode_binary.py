"""Binary output bytes, and both output formats read back by psycopg 3's own loaders."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import struct
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from forge_sql.errors import FeatureNotSupported
from forge_sql.seam import oids
from forge_sql.wire.encode.binary import encode_binary
from forge_sql.wire.encode.text import encode_text

Load = Callable[[bytes, int, int], object]
D = decimal.Decimal
UTC = dt.UTC


def binary(values: list[Any], typ: pa.DataType, oid: int) -> list[bytes | None]:
    out = encode_binary(pa.array(values, typ), oid)
    assert pa.types.is_binary(out.type) or pa.types.is_large_binary(out.type)
    result: list[bytes | None] = out.to_pylist()
    return result


def test_fixed_width_layouts() -> None:
    assert binary([True, False, None], pa.bool_(), oids.BOOL) == [b"\x01", b"\x00", None]
    assert binary([1, -2], pa.int16(), oids.INT2) == [b"\x00\x01", b"\xff\xfe"]
    assert binary([1, None], pa.uint16(), oids.INT4) == [b"\x00\x00\x00\x01", None]
    assert binary([2**40], pa.int64(), oids.INT8) == [struct.pack(">q", 2**40)]
    assert binary([1.5], pa.float32(), oids.FLOAT4) == [struct.pack(">f", 1.5)]
    assert binary([-0.1], pa.float64(), oids.FLOAT8) == [struct.pack(">d", -0.1)]


def test_temporal_layouts() -> None:
    assert binary([dt.date(2000, 1, 2)], pa.date32(), oids.DATE) == [b"\x00\x00\x00\x01"]
    assert binary([2**31 - 1, -(2**31 - 1)], pa.date32(), oids.DATE) == [
        struct.pack(">i", 2**31 - 1), struct.pack(">i", -(2**31))]
    assert binary([dt.time(0, 0, 1)], pa.time64("us"), oids.TIME) == [struct.pack(">q", 10**6)]
    assert binary([dt.datetime(2000, 1, 1, 0, 0, 1)], pa.timestamp("us"), oids.TIMESTAMP) == [
        struct.pack(">q", 10**6)]
    assert binary([2**63 - 1], pa.timestamp("us"), oids.TIMESTAMP) == [struct.pack(">q", 2**63 - 1)]
    interval = pa.MonthDayNano([14, 3, 1_500_000_000])
    assert binary([interval], pa.month_day_nano_interval(), oids.INTERVAL) == [
        struct.pack(">qii", 1_500_000, 3, 14)]


def test_numeric_layout() -> None:
    # 12345.678 -> digits 1, 2345, 6780; weight 1; dscale 3
    assert binary([D("12345.678")], pa.decimal128(10, 3), oids.NUMERIC) == [
        struct.pack(">hhHh3H", 3, 1, 0, 3, 1, 2345, 6780)]
    assert binary([D("-0.0001")], pa.decimal128(6, 4), oids.NUMERIC) == [
        struct.pack(">hhHhH", 1, -1, 0x4000, 4, 1)]
    assert binary([D("0")], pa.decimal128(6, 2), oids.NUMERIC) == [struct.pack(">hhHh", 0, 0, 0, 2)]
    assert binary([10**8], pa.int64(), oids.NUMERIC) == [struct.pack(">hhHhH", 1, 2, 0, 0, 1)]


def test_array_layout() -> None:
    head = struct.pack(">iiiii", 1, 1, oids.INT4, 3, 1)
    cells = struct.pack(">ii", 4, 1) + struct.pack(">i", -1) + struct.pack(">ii", 4, 3)
    assert binary([[1, None, 3], [], None], pa.list_(pa.int32()), oids.INT4_ARRAY) == [
        head + cells, struct.pack(">iii", 0, 0, oids.INT4), None]


def test_text_like_and_special() -> None:
    assert binary(["héllo", None], pa.string(), oids.TEXT) == ["héllo".encode(), None]
    assert binary(['{"a":1}'], pa.string(), oids.JSONB) == [b'\x01{"a":1}']
    assert binary([b"\x00\x01"], pa.binary(), oids.BYTEA) == [b"\x00\x01"]
    u = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert binary([str(u), None, str(u).upper()], pa.string(), oids.UUID) == [
        u.bytes, None, u.bytes]
    assert binary([1, None], pa.int32(), oids.TEXT) == [b"1", None]


def test_wide_decimals_one_by_one() -> None:
    assert binary([D("-1.5"), None], pa.decimal256(50, 1), oids.NUMERIC) == [
        struct.pack(">hhHh2H", 2, 0, 0x4000, 1, 1, 5000), None]
    assert binary([D("12.5")], pa.decimal128(37, 20), oids.NUMERIC) == [
        struct.pack(">hhHh2H", 2, 0, 0, 20, 12, 5000)]


def test_unconstrained_numeric_has_each_values_own_dscale() -> None:
    """DECIMAL(38,10) is numeric without typmod (forge_sql.seam.numeric), and arithmetic on
    it (DECIMAL(38,20)): dscale leaves out trailing zeros, as numeric_send of 1.5 does."""
    values = [D("1.5"), D("100"), D("0"), None, D("-0.0000000001"), D("12345678901234567.25")]
    expected = [
        struct.pack(">hhHh2H", 2, 0, 0, 1, 1, 5000),
        struct.pack(">hhHh1H", 1, 0, 0, 0, 100),
        struct.pack(">hhHh", 0, 0, 0, 0),
        None,
        struct.pack(">hhHh1H", 1, -3, 0x4000, 10, 100),
        struct.pack(">hhHh6H", 6, 4, 0, 2, 1, 2345, 6789, 123, 4567, 2500),
    ]
    assert binary(values, pa.decimal128(38, 10), oids.NUMERIC) == expected
    assert binary([D("12.5")], pa.decimal128(38, 20), oids.NUMERIC) == [
        struct.pack(">hhHh2H", 2, 0, 0, 1, 12, 5000)]


def test_unsupported_combinations() -> None:
    with pytest.raises(FeatureNotSupported, match="OID"):
        encode_binary(pa.array(["x"]), oids.INT4)
    with pytest.raises(FeatureNotSupported):
        encode_binary(pa.array([1]), 999_999)
    with pytest.raises(FeatureNotSupported):
        encode_binary(pa.array([[[1]]]), oids.INT8_ARRAY)


# (Arrow type, OID, Python values psycopg must load back)
CASES: list[tuple[pa.DataType, int, list[Any]]] = [
    (pa.bool_(), oids.BOOL, [True, False]),
    (pa.int16(), oids.INT2, [0, -32768, 32767]),
    (pa.int8(), oids.INT2, [-128, 127]),
    (pa.int32(), oids.INT4, [0, -(2**31), 2**31 - 1]),
    (pa.uint16(), oids.INT4, [65535]),
    (pa.int64(), oids.INT8, [0, -(2**63), 2**63 - 1]),
    (pa.uint32(), oids.INT8, [2**32 - 1]),
    (pa.float32(), oids.FLOAT4, [1.5, -0.25, 1e6, 3.0e-5]),
    (pa.float64(), oids.FLOAT8, [0.1, -1e300, 5e-324, 123456789012345.6, 1e15, 1e-5]),
    (pa.decimal128(10, 2), oids.NUMERIC, [D("1.50"), D("-12345678.99"), D("0.00")]),
    (pa.decimal128(38, 0), oids.NUMERIC, [D(10**37), D(-(10**20)), D(5)]),
    (pa.decimal128(38, 10), oids.NUMERIC, [D("1234567890123456789012.0123456789"), D("0E-10")]),
    (pa.uint64(), oids.NUMERIC, [D(2**64 - 1), D(0)]),
    (pa.string(), oids.TEXT, ["", "héllo wörld", "tab\there"]),
    (pa.large_string(), oids.VARCHAR, ["x" * 1000]),
    (pa.binary(), oids.BYTEA, [b"", b"\x00\xff\x10"]),
    (pa.string(), oids.UUID, [uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")]),
    (pa.date32(), oids.DATE, [dt.date(2024, 1, 31), dt.date(1, 1, 1), dt.date(9999, 12, 31)]),
    (pa.time64("us"), oids.TIME, [dt.time(10), dt.time(23, 59, 59, 999999), dt.time(0, 0, 0, 1)]),
    (pa.timestamp("us"), oids.TIMESTAMP, [dt.datetime(2024, 1, 31, 10, 0, 0, 123456),
                                          dt.datetime(1, 1, 1), dt.datetime(1999, 12, 31, 23)]),
    (pa.timestamp("us", "America/New_York"), oids.TIMESTAMPTZ,
     [dt.datetime(2024, 1, 31, 10, 0, 0, 5, tzinfo=UTC), dt.datetime(2024, 7, 1, tzinfo=UTC)]),
    (pa.timestamp("us", "Asia/Kolkata"), oids.TIMESTAMPTZ,
     [dt.datetime(1970, 1, 1, tzinfo=UTC)]),
    (pa.month_day_nano_interval(), oids.INTERVAL,
     [dt.timedelta(days=3, seconds=1), dt.timedelta(microseconds=-1_500_000), dt.timedelta(0)]),
    (pa.list_(pa.int32()), oids.INT4_ARRAY, [[1, None, 3], []]),
    (pa.list_(pa.string()), oids.TEXT_ARRAY, [["a b", "", None, 'x"y\\z', "NULL"]]),
    (pa.list_(pa.float64()), oids.FLOAT8_ARRAY, [[1.5, 1e-7]]),
    (pa.list_(pa.timestamp("us")), oids.TIMESTAMP_ARRAY, [[dt.datetime(2024, 1, 1, 10, 30)]]),
    (pa.list_(pa.date32()), oids.DATE_ARRAY, [[dt.date(2024, 2, 29), None]]),
    (pa.list_(pa.bool_()), oids.BOOL_ARRAY, [[True, None]]),
    (pa.list_(pa.binary()), oids.BYTEA_ARRAY, [[b"\x01\x02", b""]]),
    (pa.list_(pa.decimal128(5, 2)), oids.NUMERIC_ARRAY, [[D("1.50"), D("-2.00")]]),
]


def _arrow_values(typ: pa.DataType, values: list[Any]) -> pa.Array:
    if pa.types.is_interval(typ):
        micros = [None if v is None else v // dt.timedelta(microseconds=1) for v in values]
        return pa.array([None if us is None else pa.MonthDayNano([0, 0, us * 1000])
                         for us in micros], typ)
    if isinstance(values[0], uuid.UUID):
        return pa.array([None if v is None else str(v) for v in values], typ)
    return pa.array(values, typ)


@pytest.mark.parametrize("fmt", [0, 1], ids=["text", "binary"])
@pytest.mark.parametrize(("typ", "oid", "values"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_psycopg_loads_what_we_send(
    pg_load: Load, fmt: int, typ: pa.DataType, oid: int, values: list[Any]
) -> None:
    array = _arrow_values(typ, [*values, None])
    out = (encode_binary if fmt else encode_text)(array, oid).to_pylist()
    assert out[-1] is None
    loaded = [pg_load(data, oid, fmt) for data in out[:-1]]
    if oid == oids.FLOAT4:
        # Binary carries the float32 itself; text its shortest float32 digits.
        values = [float(np.float32(v)) if fmt else float(str(np.float32(v))) for v in values]
    if oid in (oids.TIMESTAMPTZ,):
        assert all(isinstance(v, dt.datetime) and v.utcoffset() is not None for v in loaded)
    assert loaded == values


def test_json_loaded_by_psycopg(pg_load: Load) -> None:
    structs = pa.array([{"a": 1, "b": [1.5, None]}], pa.struct(
        [("a", pa.int64()), ("b", pa.list_(pa.float64()))]))
    for fmt, encode in ((0, encode_text), (1, encode_binary)):
        data = encode(structs, oids.JSON).to_pylist()[0]
        assert pg_load(data, oids.JSON, fmt) == {"a": 1, "b": [1.5, None]}
    jsonb = encode_binary(pa.array(['{"k": [1, 2]}']), oids.JSONB).to_pylist()[0]
    assert pg_load(jsonb, oids.JSONB, 1) == json.loads('{"k": [1, 2]}')


def test_interval_with_months_loaded_by_psycopg(pg_load: Load) -> None:
    # psycopg counts a month as 30 days and a year as 365 days, both formats alike.
    array = pa.array([pa.MonthDayNano([14, -3, 3_600_000_000_000])], pa.month_day_nano_interval())
    expected = dt.timedelta(days=365 + 60 - 3, hours=1)
    assert pg_load(encode_text(array, oids.INTERVAL).to_pylist()[0], oids.INTERVAL, 0) == expected
    assert pg_load(encode_binary(array, oids.INTERVAL).to_pylist()[0], oids.INTERVAL, 1) == expected


def test_sliced_chunked_dictionary_binary() -> None:
    array = pa.array([1, 2, None, 4], pa.int32()).slice(1, 3)
    assert encode_binary(array, oids.INT4).to_pylist() == [
        b"\x00\x00\x00\x02", None, b"\x00\x00\x00\x04"]
    chunked = pa.chunked_array([pa.array(["a"]), pa.array([None, "b"])])
    assert encode_binary(chunked, oids.TEXT).to_pylist() == [b"a", None, b"b"]
    enum = pa.array(["x", "y", "x"]).dictionary_encode()
    assert encode_binary(enum, oids.TEXT).to_pylist() == [b"x", b"y", b"x"]
    decimals = pa.array([D("1.5"), None, D("-2.25")], pa.decimal128(4, 2)).slice(1)
    assert encode_binary(decimals, oids.NUMERIC).to_pylist() == [
        None, struct.pack(">hhHh2H", 2, 0, 0x4000, 2, 2, 2500)]
