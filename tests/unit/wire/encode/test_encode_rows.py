"""DataRow framing of encode_batch, checked against a test-side DataRow parser."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forge_sql.errors import InvalidParameterValue, ProtocolError
from forge_sql.seam import oids
from forge_sql.wire.encode.binary import encode_binary
from forge_sql.wire.encode.rows import encode_batch
from forge_sql.wire.encode.text import encode_text

Row = list[bytes | None]


def parse_data_rows(data: bytes, columns: int) -> list[Row]:
    """Split DataRow messages ('D', int32 length, int16 count, count x (int32 len, bytes))."""
    rows: list[Row] = []
    pos = 0
    while pos < len(data):
        assert data[pos : pos + 1] == b"D"
        (length,) = struct.unpack_from(">i", data, pos + 1)
        end = pos + 1 + length
        (count,) = struct.unpack_from(">h", data, pos + 5)
        assert count == columns
        cursor, row = pos + 7, list[bytes | None]()
        for _ in range(count):
            (size,) = struct.unpack_from(">i", data, cursor)
            cursor += 4
            if size == -1:
                row.append(None)
            else:
                row.append(data[cursor : cursor + size])
                cursor += size
        assert cursor == end, "DataRow length does not match its cells"
        rows.append(row)
        pos = end
    return rows


def sample_batch() -> tuple[pa.RecordBatch, list[int]]:
    batch = pa.record_batch({
        "id": pa.array([1, None, 3, 4], pa.int64()),
        "name": pa.array(["a", "", None, "dd"]),
        "score": pa.array([1.5, None, 1e-7, 2.0]),
        "at": pa.array([dt.datetime(2024, 1, 1), None, dt.datetime(2024, 1, 1, 0, 0, 0, 5),
                        dt.datetime(1999, 1, 1)], pa.timestamp("us")),
        "ok": pa.array([True, False, None, True]),
        "amount": pa.array([decimal.Decimal("1.50"), None, decimal.Decimal("-3.00"),
                            decimal.Decimal(0)], pa.decimal128(8, 2)),
        "tags": pa.array([["x"], None, [], ["y", None]], pa.list_(pa.string())),
        "nothing": pa.nulls(4),
    })
    types = [oids.INT8, oids.TEXT, oids.FLOAT8, oids.TIMESTAMP, oids.BOOL, oids.NUMERIC,
             oids.TEXT_ARRAY, oids.TEXT]
    return batch, types


def expected_rows(batch: pa.RecordBatch, types: list[int], formats: list[int]) -> list[Row]:
    columns = [
        (encode_binary if fmt else encode_text)(column, oid).to_pylist()
        for column, oid, fmt in zip(batch.columns, types, formats, strict=True)
    ]
    return [list(cells) for cells in zip(*columns, strict=True)]


@pytest.mark.parametrize(
    "formats",
    [[], [0], [1], [0, 1, 0, 1, 0, 1, 0, 1], [1, 0, 1, 0, 1, 0, 1, 0]],
    ids=["none", "all-text", "all-binary", "mixed-a", "mixed-b"],
)
def test_rows_match_cell_encoders(formats: list[int]) -> None:
    batch, types = sample_batch()
    per_column = formats * len(types) if len(formats) == 1 else formats or [0] * len(types)
    rows = parse_data_rows(bytes(encode_batch(batch, types, formats)), batch.num_columns)
    assert rows == expected_rows(batch, types, per_column)
    assert rows[1][0] is None and rows[2][1] is None


def test_exact_bytes_of_one_row() -> None:
    batch = pa.record_batch({"a": pa.array([7], pa.int32()), "b": pa.array([None], pa.string())})
    data = bytes(encode_batch(batch, [oids.INT4, oids.TEXT], [0]))
    assert data == b"D" + struct.pack(">ih", 4 + 2 + 4 + 1 + 4, 2) + b"\x00\x00\x00\x017" + (
        b"\xff\xff\xff\xff")
    binary = bytes(encode_batch(batch, [oids.INT4, oids.TEXT], [1, 0]))
    assert binary == b"D" + struct.pack(">ihi", 4 + 2 + 8 + 4, 2, 4) + b"\x00\x00\x00\x07" + (
        b"\xff\xff\xff\xff")


def test_zero_rows() -> None:
    batch, types = sample_batch()
    assert bytes(encode_batch(batch.slice(0, 0), types, [])) == b""


def test_sliced_batch() -> None:
    batch, types = sample_batch()
    part = batch.slice(1, 2)
    for formats in ([0], [1]):
        rows = parse_data_rows(bytes(encode_batch(part, types, formats)), part.num_columns)
        assert rows == expected_rows(part, types, formats * len(types))
        assert len(rows) == 2


def test_all_fixed_width_binary_without_nulls() -> None:
    batch = pa.record_batch({
        "i": pa.array(range(5), pa.int64()),
        "f": pa.array([0.5] * 5),
        "d": pa.array([dt.date(2024, 1, i + 1) for i in range(5)]),
    })
    types = [oids.INT8, oids.FLOAT8, oids.DATE]
    data = bytes(encode_batch(batch, types, [1]))
    assert len(data) == 5 * (7 + 12 + 12 + 8)
    assert parse_data_rows(data, 3) == expected_rows(batch, types, [1, 1, 1])


def test_all_empty_strings() -> None:
    batch = pa.record_batch({"s": pa.array(["", ""])})
    assert parse_data_rows(bytes(encode_batch(batch, [oids.TEXT], [])), 1) == [[b""], [b""]]


def test_dictionary_and_chunk_columns() -> None:
    batch = pa.record_batch({"e": pa.array(["r", None, "g"]).dictionary_encode()})
    assert parse_data_rows(bytes(encode_batch(batch, [oids.TEXT], [1])), 1) == [
        [b"r"], [None], [b"g"]]


def test_format_code_errors() -> None:
    batch, types = sample_batch()
    with pytest.raises(ProtocolError):
        encode_batch(batch, types, [0, 1])
    with pytest.raises(InvalidParameterValue):
        encode_batch(batch, types, [2])


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 12).flatmap(lambda n: st.tuples(
        st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
        st.lists(st.none() | st.text(max_size=5), min_size=n, max_size=n),
        st.lists(st.none() | st.floats(), min_size=n, max_size=n),
        st.lists(st.none() | st.booleans(), min_size=n, max_size=n),
    )),
    st.lists(st.sampled_from([0, 1]), min_size=4, max_size=4),
    st.integers(0, 3),
)
def test_random_batches(columns: tuple[list[Any], ...], formats: list[int], skip: int) -> None:
    batch = pa.record_batch({
        "i": pa.array(columns[0], pa.int64()), "s": pa.array(columns[1], pa.string()),
        "f": pa.array(columns[2], pa.float64()), "b": pa.array(columns[3], pa.bool_()),
    }).slice(skip)
    types = [oids.INT8, oids.TEXT, oids.FLOAT8, oids.BOOL]
    rows = parse_data_rows(bytes(encode_batch(batch, types, formats)), 4)
    assert rows == expected_rows(batch, types, formats)
