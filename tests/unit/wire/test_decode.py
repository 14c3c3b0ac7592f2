"""Bind parameter decoding, checked against what psycopg 3's dumpers send."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import struct
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import Format
from psycopg.types.json import Jsonb

from forge_sql.errors import (
    CharacterNotInRepertoire,
    DatatypeMismatch,
    FeatureNotSupported,
    ForgeError,
    InvalidBinaryRepresentation,
    InvalidParameterValue,
    InvalidTextRepresentation,
)
from forge_sql.seam import oids
from forge_sql.wire.decode import decode_param

D = decimal.Decimal
_tx = Transformer()


def dumped(value: Any, fmt: PyFormat) -> tuple[bytes, int]:
    """(bytes, OID) psycopg sends for ``value`` as a parameter."""
    dumper = _tx.get_dumper(value, fmt)
    data = dumper.dump(value)
    assert data is not None
    return bytes(data), dumper.oid


VALUES: list[Any] = [
    True, False, 0, 1, -32768, 2**31 - 1, -(2**31) - 1, 2**63 - 1, -(2**63),
    1.5, -0.0, 1e300, float("inf"),
    D("1.50"), D("-0.0001"), D("12345678901234567890.123456789"), D("0"), D("1E+10"),
    D("NaN"), D("100"), D("-99999999.9999"),
    "", "héllo wörld", "quote ' and \" and \\",
    b"", b"\x00\x01\xff",
    uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    dt.date(2024, 1, 31), dt.date(1, 1, 1), dt.date(9999, 12, 31),
    dt.time(10, 0, 0, 500000), dt.time(0), dt.time(23, 59, 59, 999999),
    dt.datetime(2024, 1, 31, 10, 0, 0, 123456), dt.datetime(1, 1, 1),
    dt.datetime(2024, 1, 31, 10, tzinfo=dt.UTC),
    dt.timedelta(days=3, seconds=1), dt.timedelta(microseconds=-1), dt.timedelta(0),
    [1, 2, None], [[1, 2], [3, 4]], ["a b", None, ""], [D("1.5"), None],
    [dt.date(2024, 1, 1)], [b"\x01"],
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_binary_round_trip(value: Any) -> None:
    data, oid = dumped(value, PyFormat.BINARY)
    decoded = decode_param(data, oid, binary=True)
    if isinstance(value, D) and value.is_nan():
        assert isinstance(decoded, D) and decoded.is_nan()
    else:
        assert decoded == value
        assert type(decoded) is type(value)


def test_binary_decimal_keeps_scale() -> None:
    data, oid = dumped(D("1.50"), PyFormat.BINARY)
    assert str(decode_param(data, oid, True)) == "1.50"
    assert str(decode_param(struct.pack(">hhHhH", 1, 0, 0, 2, 7), oids.NUMERIC, True)) == "7.00"
    assert decode_param(struct.pack(">hhHh", 0, 0, 0xD000, 0), oids.NUMERIC, True) == D("Infinity")


def test_timestamptz_and_timetz_from_other_zones() -> None:
    zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
    value = dt.datetime(2024, 1, 31, 10, tzinfo=zone)
    data, oid = dumped(value, PyFormat.BINARY)
    decoded = decode_param(data, oid, True)
    assert decoded == value and isinstance(decoded, dt.datetime)
    assert decoded.utcoffset() == dt.timedelta(0)
    timetz = dt.time(10, 30, tzinfo=zone)
    data, oid = dumped(timetz, PyFormat.BINARY)
    assert oid == oids.TIMETZ
    assert decode_param(data, oid, True) == timetz


def test_interval_with_months_is_text() -> None:
    data = struct.pack(">qii", 1_000_001, -3, 14)
    assert decode_param(data, oids.INTERVAL, True) == "14 months -3 days 1000001 microseconds"


def test_text_like_binary() -> None:
    for oid in (oids.TEXT, oids.VARCHAR, oids.BPCHAR, oids.NAME, oids.UNKNOWN, oids.JSON):
        assert decode_param("ünï".encode(), oid, True) == "ünï"
    data, oid = dumped(Jsonb({"a": [1, 2]}), PyFormat.BINARY)
    assert oid == oids.JSONB
    assert decode_param(data, oid, True) == '{"a": [1, 2]}'
    assert decode_param(struct.pack(">I", 2**32 - 1), oids.OID, True) == 2**32 - 1


def test_empty_binary_array() -> None:
    assert decode_param(struct.pack(">iii", 0, 0, oids.INT4), oids.INT4_ARRAY, True) == []


@pytest.mark.parametrize("value", [v for v in VALUES if not isinstance(v, bytes | list)], ids=repr)
def test_text_params_stay_strings(value: Any) -> None:
    data, oid = dumped(value, PyFormat.TEXT)
    assert decode_param(data, oid, binary=False) == data.decode()


def test_text_arrays() -> None:
    assert decode_param(b"{1,2,NULL}", oids.INT4_ARRAY, False) == ["1", "2", None]
    assert decode_param(b'{"a b",c,"NULL",""}', oids.TEXT_ARRAY, False) == ["a b", "c", "NULL", ""]
    assert decode_param(b"{{1,2},{3,4}}", oids.INT8_ARRAY, False) == [["1", "2"], ["3", "4"]]
    assert decode_param(b"{}", oids.TEXT_ARRAY, False) == []
    assert decode_param(b'{"\\\\x0102",NULL}', oids.BYTEA_ARRAY, False) == [b"\x01\x02", None]
    data, _ = dumped(["x y", None, 'q"', "\\"], PyFormat.TEXT)
    assert decode_param(data, oids.TEXT_ARRAY, False) == ["x y", None, 'q"', "\\"]
    data, oid = dumped([1, None, -3], PyFormat.TEXT)
    assert decode_param(data, oid, False) == ["1", None, "-3"]


def test_text_bytea() -> None:
    assert decode_param(b"\\x00ff10", oids.BYTEA, False) == b"\x00\xff\x10"
    assert decode_param(b"a\\\\b\\001", oids.BYTEA, False) == b"a\\b\x01"
    assert decode_param(b"plain", oids.BYTEA, False) == b"plain"
    with pytest.raises(InvalidParameterValue):
        decode_param(b"\\x0", oids.BYTEA, False)
    with pytest.raises(InvalidTextRepresentation):
        decode_param(b"bad \\ escape", oids.BYTEA, False)


def test_null() -> None:
    assert decode_param(None, oids.INT4, True) is None
    assert decode_param(None, oids.TEXT, False) is None


@pytest.mark.parametrize(
    ("data", "oid", "error"),
    [
        (b"\x00\x01", oids.INT4, InvalidBinaryRepresentation),
        (b"\x00" * 9, oids.INT8, InvalidBinaryRepresentation),
        (b"", oids.BOOL, InvalidBinaryRepresentation),
        (b"\x00" * 15, oids.UUID, InvalidBinaryRepresentation),
        (struct.pack(">hhHh", 2, 0, 0, 0) + b"\x00\x01", oids.NUMERIC, InvalidBinaryRepresentation),
        (struct.pack(">hhHhH", 1, 0, 0x1234, 0, 1), oids.NUMERIC, InvalidBinaryRepresentation),
        (struct.pack(">hhHhH", 1, 0, 0, 0, 10000), oids.NUMERIC, InvalidBinaryRepresentation),
        (struct.pack(">i", 2**31 - 1), oids.DATE, InvalidBinaryRepresentation),
        (struct.pack(">q", 2**63 - 1), oids.TIMESTAMP, InvalidBinaryRepresentation),
        (struct.pack(">q", 10**18), oids.TIMESTAMPTZ, InvalidBinaryRepresentation),
        (struct.pack(">q", -1), oids.TIME, InvalidBinaryRepresentation),
        (b"\x02{}", oids.JSONB, InvalidBinaryRepresentation),
        (b"\xff\xfe", oids.TEXT, CharacterNotInRepertoire),
        (b"a\x00b", oids.VARCHAR, CharacterNotInRepertoire),
        (struct.pack(">iiiii", 1, 0, oids.INT4, 2, 1) + struct.pack(">ii", 4, 1),
         oids.INT4_ARRAY, InvalidBinaryRepresentation),
        (struct.pack(">iiiii", 1, 0, oids.INT4, 1, 1) + struct.pack(">ii", 4, 1) + b"x",
         oids.INT4_ARRAY, InvalidBinaryRepresentation),
        (struct.pack(">iiiii", 1, 0, oids.INT4, 1, 1) + struct.pack(">ih", 2, 1),
         oids.INT4_ARRAY, InvalidBinaryRepresentation),
        (struct.pack(">iii", 7, 0, oids.INT4), oids.INT4_ARRAY, InvalidBinaryRepresentation),
        (struct.pack(">iii", 0, 0, 424242), oids.INT4_ARRAY, InvalidBinaryRepresentation),
        (b"\x00", 424242, FeatureNotSupported),
        (b"\x00", oids.REGPROC, FeatureNotSupported),
    ],
)
def test_bad_binary(data: bytes, oid: int, error: type[ForgeError]) -> None:
    with pytest.raises(error) as info:
        decode_param(data, oid, True)
    if oid in oids.TYPES and error is InvalidBinaryRepresentation:
        assert oids.TYPES[oid].name in info.value.message
    if error is FeatureNotSupported:
        assert str(oid) in info.value.message


def test_text_errors() -> None:
    with pytest.raises(CharacterNotInRepertoire):
        decode_param(b"\xc3\x28", oids.TEXT, False)
    with pytest.raises(CharacterNotInRepertoire):
        decode_param(b"\xc3\x28", oids.INT4, False)
    with pytest.raises(InvalidTextRepresentation, match="malformed array literal"):
        decode_param(b"{1,2", oids.INT4_ARRAY, False)
    assert issubclass(DatatypeMismatch, ForgeError)


_BINARY_OIDS = sorted({*oids.TYPES, 0, 424242})


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64), st.sampled_from(_BINARY_OIDS))
def test_random_binary_raises_only_forge_errors(data: bytes, oid: int) -> None:
    with contextlib.suppress(ForgeError):
        decode_param(data, oid, True)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([oids.BYTEA, oids.INT4_ARRAY, oids.TEXT_ARRAY,
                                                  oids.BYTEA_ARRAY, oids.TEXT, oids.JSON]))
def test_random_text_raises_only_forge_errors(data: bytes, oid: int) -> None:
    with contextlib.suppress(ForgeError):
        decode_param(data, oid, False)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | st.text(st.characters(exclude_categories=["Cs"],
                                                 exclude_characters="\x00")), max_size=6))
def test_text_array_round_trip_through_psycopg(values: list[str | None]) -> None:
    # psycopg sends str lists in text with OID 0 (unknown); the session passes the resolved
    # type. Lists without a non-NULL item go as text even when binary is asked for.
    for fmt in (PyFormat.TEXT, PyFormat.BINARY):
        dumper = _tx.get_dumper(values, fmt)
        data = dumper.dump(values)
        assert data is not None
        binary = dumper.format == Format.BINARY
        assert decode_param(bytes(data), oids.TEXT_ARRAY, binary) == values


@settings(max_examples=100, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_decimal_round_trip_through_psycopg(value: D) -> None:
    data, oid = dumped(value, PyFormat.BINARY)
    decoded = decode_param(data, oid, True)
    assert decoded == value
