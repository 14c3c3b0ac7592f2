"""Property tests: random values of each type survive encoding and psycopg's loaders."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from forge_sql.seam import oids
from forge_sql.wire.encode.binary import encode_binary
from forge_sql.wire.encode.text import encode_text

Load = Callable[[bytes, int, int], object]

_text_values = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


def _round_trip(load: Load, values: list[Any], typ: pa.DataType, oid: int) -> list[list[Any]]:
    array = pa.array(values, typ)
    results = []
    for fmt, encode in ((0, encode_text), (1, encode_binary)):
        out = encode(array, oid).to_pylist()
        results.append([None if b is None else load(b, oid, fmt) for b in out])
    return results


def _same_float(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(
        1, b))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), max_size=20))
def test_int8(pg_load: Load, values: list[int | None]) -> None:
    for loaded in _round_trip(pg_load, values, pa.int64(), oids.INT8):
        assert loaded == values


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | st.floats(allow_nan=True, allow_infinity=True), max_size=20))
def test_float8(pg_load: Load, values: list[float | None]) -> None:
    for loaded in _round_trip(pg_load, values, pa.float64(), oids.FLOAT8):
        assert all(_same_float(a, b) for a, b in zip(loaded, values, strict=True))


def pg_float_text(value: float, single: bool) -> str:
    """Model of PostgreSQL's float4out/float8out: shortest digits, fixed form for decimal
    exponents -4 <= e < 6 (float4) or < 15 (float8), else d.ddde+XX."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    shortest = np.format_float_scientific(np.float32(value) if single else value, unique=True)
    mantissa, exponent = shortest.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    e = int(exponent)
    if -4 <= e < (6 if single else 15):
        if e >= 0:
            padded = digits.ljust(e + 1, "0")
            body = padded[: e + 1] + ("." + padded[e + 1 :] if len(padded) > e + 1 else "")
        else:
            body = "0." + "0" * (-e - 1) + digits
    else:
        rest = "." + digits[1:] if len(digits) > 1 else ""
        body = f"{digits[0]}{rest}e{'-' if e < 0 else '+'}{abs(e):02d}"
    return sign + body


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(width=32), max_size=20))
def test_float4_text_matches_postgres_model(values: list[float]) -> None:
    text = encode_text(pa.array(values, pa.float32()), oids.FLOAT4).to_pylist()
    assert [t.decode() for t in text] == [pg_float_text(v, True) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(), max_size=20))
def test_float8_text_matches_postgres_model(values: list[float]) -> None:
    text = encode_text(pa.array(values, pa.float64()), oids.FLOAT8).to_pylist()
    assert [t.decode() for t in text] == [pg_float_text(v, False) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | _text_values, max_size=10))
def test_text(pg_load: Load, values: list[str | None]) -> None:
    for loaded in _round_trip(pg_load, values, pa.string(), oids.TEXT):
        assert loaded == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.binary(max_size=40), max_size=10))
def test_bytea(pg_load: Load, values: list[bytes | None]) -> None:
    for loaded in _round_trip(pg_load, values, pa.binary(), oids.BYTEA):
        assert loaded == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.dates(), max_size=10))
def test_date(pg_load: Load, values: list[dt.date | None]) -> None:
    for loaded in _round_trip(pg_load, values, pa.date32(), oids.DATE):
        assert loaded == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.datetimes(), max_size=10))
def test_timestamp(pg_load: Load, values: list[dt.datetime | None]) -> None:
    for loaded in _round_trip(pg_load, values, pa.timestamp("us"), oids.TIMESTAMP):
        assert loaded == values


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.none() | st.datetimes(min_value=dt.datetime(1900, 1, 1), timezones=st.just(dt.UTC)),
             max_size=10),
    st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
)
def test_timestamptz(pg_load: Load, values: list[dt.datetime | None], zone: str) -> None:
    for loaded in _round_trip(pg_load, values, pa.timestamp("us", zone), oids.TIMESTAMPTZ):
        assert loaded == values


_decimals = st.decimals(min_value=-(10**20), max_value=10**20, places=4, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | _decimals, max_size=10))
def test_numeric(pg_load: Load, values: list[decimal.Decimal | None]) -> None:
    for typ in (pa.decimal128(25, 4), pa.decimal128(38, 4)):
        for loaded in _round_trip(pg_load, values, typ, oids.NUMERIC):
            assert loaded == values
            assert all(v is None or v.as_tuple().exponent == -4 for v in loaded)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.decimals(min_value=-(10**17), max_value=10**17, places=0),
                max_size=10))
def test_numeric_small_precision(pg_load: Load, values: list[decimal.Decimal | None]) -> None:
    for loaded in _round_trip(pg_load, values, pa.decimal128(18, 0), oids.NUMERIC):
        assert loaded == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.lists(st.none() | _text_values, max_size=5), max_size=5))
def test_text_arrays(pg_load: Load, values: list[list[str | None] | None]) -> None:
    for loaded in _round_trip(pg_load, values, pa.list_(pa.string()), oids.TEXT_ARRAY):
        assert loaded == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.lists(st.none() | st.integers(-(2**31), 2**31 - 1), max_size=5),
                max_size=5))
def test_int_arrays(pg_load: Load, values: list[list[int | None] | None]) -> None:
    for loaded in _round_trip(pg_load, values, pa.list_(pa.int32()), oids.INT4_ARRAY):
        assert loaded == values
