"""COPY binary format: header, tuples, typed columns, errors; round trips for every type."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from typing import Any

import pyarrow as pa
import pytest
from conftest import BINARY, TEXT, copy_in, decode, decode_batches

from forge_sql.errors import (
    BadCopyFileFormat,
    CharacterNotInRepertoire,
    FeatureNotSupported,
    InvalidBinaryRepresentation,
)
from forge_sql.seam import oids
from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy.encoder import copy_header, copy_trailer, encode_copy

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + b"\x00" * 8
TRAILER = b"\xff\xff"


def tuple_(*fields: bytes | None) -> bytes:
    out = struct.pack(">h", len(fields))
    for field in fields:
        out += b"\xff\xff\xff\xff" if field is None else struct.pack(">i", len(field)) + field
    return out


INT_TEXT = copy_in(BINARY, "i", "t", types=[oids.INT4, oids.TEXT])


def test_header_tuples_trailer_exact() -> None:
    data = HEADER + tuple_(b"\x00\x00\x00\x07", b"seven") + tuple_(None, b"") + TRAILER
    assert decode(INT_TEXT, data) == [(7, "seven"), (None, "")]
    batch = pa.record_batch({"i": pa.array([7, None], pa.int32()), "t": ["seven", ""]})
    out = (
        copy_header(BINARY, ["i", "t"])
        + bytes(encode_copy(batch, [oids.INT4, oids.TEXT], BINARY))
        + copy_trailer(BINARY)
    )
    assert out == data


def test_any_split_and_no_trailer() -> None:
    data = HEADER + b"".join(tuple_(struct.pack(">i", i), b"x" * i) for i in range(40))
    expected = [(i, "x" * i) for i in range(40)]
    assert decode(INT_TEXT, data) == expected
    for cut in range(0, len(data), 7):
        assert decode(INT_TEXT, data + TRAILER, [cut, cut + 3], batch_bytes=16) == expected


def test_header_extension_is_skipped() -> None:
    header = SIGNATURE + struct.pack(">ii", 1 << 20, 3) + b"abc"  # bit 20: non-critical
    assert decode(INT_TEXT, header + tuple_(None, None) + TRAILER) == [(None, None)]


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", BadCopyFileFormat, "COPY file signature not recognized"),
        (b"PGCOPY\n\xff\r\n\x01" + b"\x00" * 8, BadCopyFileFormat, "signature not recognized"),
        (SIGNATURE + b"\x00\x00", BadCopyFileFormat, r"header \(missing flags\)"),
        (SIGNATURE + b"\x00" * 6, BadCopyFileFormat, r"header \(missing length\)"),
        (SIGNATURE + b"\x00\x00\x00\x00\x00\x00\x00\x09ab", BadCopyFileFormat, "wrong length"),
        (SIGNATURE + b"\x00\x01\x00\x00" + b"\x00" * 4, FeatureNotSupported, "WITH OIDS"),
        (SIGNATURE + b"\x00\x00\x00\x01" + b"\x00" * 4, BadCopyFileFormat, "critical flags"),
        (HEADER + TRAILER + b"x", BadCopyFileFormat, "received copy data after EOF marker"),
    ],
)
def test_header_errors(data: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        decode(INT_TEXT, data)


def test_data_after_trailer() -> None:
    data = HEADER + tuple_(None, None) + TRAILER + b"\x00"
    for cuts in ([], [len(data) - 1]):
        with pytest.raises(BadCopyFileFormat, match="after EOF marker") as info:
            decode(INT_TEXT, data, cuts, batch_bytes=1)
        assert info.value.context == "COPY t, line 2"  # the trailer counts as a tuple


@pytest.mark.parametrize(
    ("body", "error", "message", "where"),
    [
        (tuple_(None), BadCopyFileFormat, "row field count is 1, expected 2", "line 2"),
        (tuple_(None, b"abc")[:-1], BadCopyFileFormat, "unexpected EOF in COPY data", "line 2"),
        (b"\x00", BadCopyFileFormat, "unexpected EOF in COPY data", "line 2"),
        (b"\x00\x02\xff\xff\xff\xfe", BadCopyFileFormat, "invalid field size", "line 2"),
        (
            tuple_(b"\x00\x01", b""),
            InvalidBinaryRepresentation,
            "incorrect binary data format",
            "line 2, column i",
        ),
        (tuple_(None, b"\xff"), CharacterNotInRepertoire, "0xff", "line 2, column t"),
        (tuple_(None, b"a\x00"), CharacterNotInRepertoire, "0x00", "line 2, column t"),
    ],
)
def test_tuple_errors(body: bytes, error: type[Exception], message: str, where: str) -> None:
    data = HEADER + tuple_(None, None) + body
    with pytest.raises(error, match=message) as info:
        decode(INT_TEXT, data)
    assert info.value.context == f"COPY t, {where}"  # type: ignore[attr-defined]


def test_fixed_stride_path_with_breaks() -> None:
    """All-fixed-width columns take the numpy stride path; NULLs break the stride."""
    copy = copy_in(BINARY, "a", "b", types=[oids.INT8, oids.FLOAT8])
    values = [(i, None if i % 97 == 0 else i / 2) for i in range(1000)]
    body = b"".join(
        tuple_(struct.pack(">q", a), None if b is None else struct.pack(">d", b)) for a, b in values
    )
    data = HEADER + body + TRAILER
    assert decode(copy, data) == values
    assert decode(copy, data, range(5, len(data), 333), batch_bytes=100) == values
    with pytest.raises(BadCopyFileFormat, match="field count is 1") as info:
        decode(copy, HEADER + body + tuple_(None) + TRAILER)
    assert info.value.context == "COPY t, line 1001"


# -- every type, through our encoder and back -----------------------------------------

SAMPLES: list[tuple[int, pa.Array, pa.Array | None]] = [
    (oids.BOOL, pa.array([True, False, None]), None),
    (oids.INT2, pa.array([-32768, 32767, None], pa.int16()), None),
    (oids.INT4, pa.array([-(2**31), 2**31 - 1, None], pa.int32()), None),
    (oids.INT8, pa.array([-(2**63), 2**63 - 1, None], pa.int64()), None),
    (oids.FLOAT4, pa.array([1.5, float("-inf"), None], pa.float32()), None),
    (oids.FLOAT8, pa.array([1e-300, float("nan"), None]), None),
    (oids.TEXT, pa.array(["é\tx\n", "", None]), None),
    (oids.VARCHAR, pa.array(["a", "b" * 1000, None]), None),
    (oids.JSON, pa.array(['{"a": 1}', "[]", None]), None),
    (oids.JSONB, pa.array(['{"a": 1}', "[]", None]), None),
    (oids.BYTEA, pa.array([b"\x00\xff", b"", None]), None),
    (oids.DATE, pa.array([dt.date(2024, 2, 29), dt.date(1, 1, 1), None]), None),
    (oids.TIME, pa.array([dt.time(23, 59, 59, 999999), dt.time(0), None]), None),
    (
        oids.TIMESTAMP,
        pa.array(
            [dt.datetime(2024, 1, 31, 10, 0, 0, 5), dt.datetime(1970, 1, 1), None],
            pa.timestamp("us"),
        ),
        None,
    ),
    (
        oids.TIMESTAMPTZ,
        pa.array(
            [dt.datetime(2024, 1, 31, 10, tzinfo=dt.UTC), None, None], pa.timestamp("us", "UTC")
        ),
        None,
    ),
    (
        oids.INTERVAL,
        pa.array(
            [pa.MonthDayNano([14, 3, 4_000_000_000_000]), None, pa.MonthDayNano([-1, -2, -3000])],
            pa.month_day_nano_interval(),
        ),
        None,
    ),
    (
        oids.UUID,
        pa.array(
            ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None, "00000000-0000-0000-0000-000000000000"]
        ),
        None,
    ),
    (
        oids.NUMERIC,
        pa.array(
            [decimal.Decimal("1.50"), decimal.Decimal("-12345678901234.0001"), None],
            pa.decimal128(20, 4),
        ),
        pa.array(["1.5000", "-12345678901234.0001", None]),
    ),
    (
        oids.INT4_ARRAY,
        pa.array([[1, None, 3], [], None], pa.list_(pa.int32())),
        pa.array([[1, None, 3], [], None], pa.list_(pa.int64())),
    ),
    (oids.TEXT_ARRAY, pa.array([["a", "b c"], [None], None], pa.list_(pa.string())), None),
]


@pytest.mark.parametrize(("oid", "values", "decoded"), SAMPLES, ids=lambda v: str(v)[:20])
def test_binary_round_trip(oid: int, values: pa.Array, decoded: pa.Array | None) -> None:
    batch = pa.record_batch({"v": values, "n": pa.array([1, 2, 3], pa.int64())})
    data = (
        copy_header(BINARY, ["v", "n"])
        + bytes(encode_copy(batch, [oid, oids.INT8], BINARY))
        + copy_trailer(BINARY)
    )
    copy = copy_in(BINARY, "v", "n", types=[oid, oids.INT8])
    [result] = decode_batches(copy, data)
    expected = decoded if decoded is not None else values
    assert result.batch.column(0).to_pylist() == expected.to_pylist() or _same_nan(
        result.batch.column(0).to_pylist(), expected.to_pylist()
    )
    if decoded is None:
        assert result.batch.column(0).type == values.type
    assert result.batch.column(1).to_pylist() == [1, 2, 3]


def _same_nan(a: list[Any], b: list[Any]) -> bool:
    return [str(x) for x in a] == [str(x) for x in b]


@pytest.mark.parametrize(("oid", "values", "decoded"), SAMPLES, ids=lambda v: str(v)[:20])
@pytest.mark.parametrize("kind", ["text", "csv"])
def test_text_round_trip(oid: int, values: pa.Array, decoded: pa.Array | None, kind: str) -> None:
    """text and csv decode to the exact text output of the value (the engine casts it)."""
    from forge_sql.wire.encode.text import encode_text

    fmt = TEXT if kind == "text" else CopyFormat(kind="csv", delimiter=",", null="")
    batch = pa.record_batch({"v": values})
    data = bytes(encode_copy(batch, [oid], fmt))
    expected = [None if v is None else v.decode() for v in encode_text(values, oid).to_pylist()]
    assert decode(copy_in(fmt, "v"), data) == [(v,) for v in expected]


def test_infinite_dates_and_timestamps() -> None:
    copy = copy_in(BINARY, "d", "ts", types=[oids.DATE, oids.TIMESTAMP])
    data = HEADER + tuple_(struct.pack(">i", 2**31 - 1), struct.pack(">q", -(2**63))) + TRAILER
    [batch] = decode_batches(copy, data)
    assert batch.batch.column(0).cast(pa.int32()).to_pylist() == [2**31 - 1]
    assert batch.batch.column(1).cast(pa.int64()).to_pylist() == [-(2**63 - 1)]
    with pytest.raises(InvalidBinaryRepresentation, match="date out of range"):
        decode(copy, HEADER + tuple_(struct.pack(">i", 2**31 - 2), None))


def test_uuid_and_timetz_one_by_one() -> None:
    copy = copy_in(BINARY, "u", "tz", types=[oids.UUID, oids.TIMETZ])
    value = uuid.uuid4()
    timetz = struct.pack(">qi", 3_600_000_000, -7200)
    assert decode(copy, HEADER + tuple_(value.bytes, timetz)) == [(str(value), "01:00:00+02:00")]
