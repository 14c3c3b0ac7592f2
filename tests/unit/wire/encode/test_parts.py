"""A large batch encoded in parts on several threads gives the bytes of the whole batch
encoded at once, for DataRows and every COPY TO format."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from forge_sql.seam import oids
from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy import binary_out
from forge_sql.wire.copy.encoder import encode_copy
from forge_sql.wire.encode import parts
from forge_sql.wire.encode.rows import encode_batch

ROWS = parts.PARALLEL_ROWS * 2 + 13  # several parts, the last one shorter
TYPES = [oids.INT8, oids.TEXT, oids.FLOAT8, oids.TIMESTAMP, oids.BOOL]


@pytest.fixture(scope="module")
def batch() -> pa.RecordBatch:
    def nulls(values: list[object], every: int) -> list[object]:
        return [None if i % every == 0 else v for i, v in enumerate(values)]
    start = dt.datetime(2024, 1, 1)
    return pa.RecordBatch.from_arrays([
        pa.array(nulls(list(range(ROWS)), 7), pa.int64()),
        pa.array(nulls([f"name-{i}" for i in range(ROWS)], 5)),
        pa.array(nulls([i / 3 for i in range(ROWS)], 11), pa.float64()),
        pa.array(nulls([start + dt.timedelta(seconds=i) for i in range(ROWS)], 13)),
        pa.array(nulls([i % 2 == 0 for i in range(ROWS)], 3)),
    ], names=["id", "name", "amount", "ts", "flag"])


@pytest.fixture(autouse=True)
def two_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts even on a one-core machine (the pool then runs them one after the other)."""
    monkeypatch.setattr(parts, "_THREADS", max(parts._THREADS, 2))


@pytest.mark.parametrize("formats", [[0], [1]])
def test_data_rows_in_parts(batch: pa.RecordBatch, formats: list[int]) -> None:
    pieces = parts.encode_in_parts(lambda part, _: encode_batch(part, TYPES, formats), batch)
    assert len(pieces) >= 2
    assert b"".join(bytes(p) for p in pieces) == bytes(encode_batch(batch, TYPES, formats))


@pytest.mark.parametrize("fmt", [CopyFormat(), CopyFormat(kind="csv", delimiter=",", null=""),
                                 CopyFormat(kind="binary")])
def test_copy_rows_in_parts(batch: pa.RecordBatch, fmt: CopyFormat) -> None:
    first = binary_out.HEADER if fmt.binary else b""
    pieces = parts.encode_in_parts(
        lambda part, index: encode_copy(part, TYPES, fmt, b"" if index else first), batch)
    assert b"".join(bytes(p) for p in pieces) == bytes(encode_copy(batch, TYPES, fmt, first))


def test_small_batches_stay_whole(batch: pa.RecordBatch) -> None:
    small = batch.slice(0, parts.PARALLEL_ROWS - 1)
    assert parts.encode_in_parts(lambda part, index: (part.num_rows, index), small) == [
        (small.num_rows, 0)]


def test_an_error_in_a_part_is_raised(batch: pa.RecordBatch) -> None:
    def encode(part: pa.RecordBatch, index: int) -> int:
        if index == 1:
            raise ValueError("bad part")
        return part.num_rows
    with pytest.raises(ValueError, match="bad part"):
        parts.encode_in_parts(encode, batch)
