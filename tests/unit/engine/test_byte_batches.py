"""Batch slicing and joining by bytes (engine.byte_batches), on Arrow data and on DuckDB."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from forge_sql.engine import byte_batches
from forge_sql.engine.byte_batches import VECTOR_ROWS, bounded, fetch_rows, row_width, sliced


def _text(rows: int, width: int, start: int = 0) -> pa.RecordBatch:
    values = [f"{i:0{width}d}" for i in range(start, start + rows)]
    return pa.RecordBatch.from_arrays([pa.array(values)], names=["v"])


def _values(batches: list[pa.RecordBatch]) -> list[str]:
    return [v for b in batches for v in b.column(0).to_pylist()]


def test_row_width_of_fixed_and_variable_types() -> None:
    assert row_width(["BIGINT", "DOUBLE", "BOOLEAN"]) == 1 + 8 + 8 + 1
    assert row_width(["DECIMAL(18,3)", "TIMESTAMP WITH TIME ZONE", "DATE"]) == 1 + 16 + 8 + 4
    assert row_width(["BIGINT", "VARCHAR"]) is None
    assert row_width(["INTEGER[]"]) is None
    assert row_width(["STRUCT(a INTEGER)"]) is None


def test_fetch_rows() -> None:
    assert fetch_rows(["BIGINT"], 65536, 8 << 20) == 65536  # narrow: the row limit
    assert fetch_rows(["BIGINT"] * 100, 65536, 8 << 20) == (8 << 20) // 801
    assert fetch_rows(["VARCHAR"], 65536, 8 << 20) == VECTOR_ROWS  # width unknown yet
    assert fetch_rows(["VARCHAR"], 1024, 8 << 20) == 1024


def test_wide_batch_is_sliced_under_the_byte_limit() -> None:
    batch = _text(1000, 1000)  # ~1 MB
    parts = list(sliced(batch, 65536, 100_000))
    assert all(p.nbytes <= 100_000 for p in parts)
    assert len(parts) >= 10
    assert _values(parts) == _values([batch])


def test_row_wider_than_the_limit_goes_alone() -> None:
    batch = _text(5, 50_000)
    parts = list(sliced(batch, 65536, 10_000))
    assert [p.num_rows for p in parts] == [1] * 5
    assert _values(parts) == _values([batch])


def test_uneven_rows_are_halved_until_they_fit() -> None:
    values = ["x" * 10] * 99 + ["y" * 100_000]
    batch = pa.RecordBatch.from_arrays([pa.array(values)], names=["v"])
    parts = list(sliced(batch, 65536, 50_000))
    assert all(p.nbytes <= 50_000 or p.num_rows == 1 for p in parts)
    assert _values(parts) == values


def test_small_batches_are_joined_up_to_the_limits() -> None:
    batches = [_text(100, 10, start=i * 100) for i in range(50)]
    joined = list(bounded(iter(batches), 1000, 1 << 30))
    assert [b.num_rows for b in joined] == [1000] * 5
    assert _values(joined) == _values(batches)
    by_bytes = list(bounded(iter(batches), 65536, 3 * batches[0].nbytes))
    assert all(b.nbytes <= 3 * batches[0].nbytes for b in by_bytes)
    assert _values(by_bytes) == _values(batches)


def test_row_limit_slices_too() -> None:
    parts = list(bounded(iter([_text(2500, 3)]), 1000, 1 << 30))
    assert [p.num_rows for p in parts] == [1000, 1000, 500]


def test_empty_batches_are_dropped() -> None:
    assert list(bounded(iter([_text(0, 3), _text(0, 3)]), 10, 1000)) == []


@pytest.mark.parametrize(
    ("sql", "narrow"),
    [
        ("SELECT range AS v FROM range(200000)", True),
        ("SELECT repeat('x', 5000) || range AS v FROM range(10000)", False),
    ],
)
def test_duckdb_reader_is_bounded(sql: str, narrow: bool) -> None:
    con = duckdb.connect()
    con.execute(sql)
    reader = byte_batches.open_reader(con, 65536, 1 << 20)
    batches = list(reader)
    # Narrow rows come in whole batches of the row limit; wide ones as the bytes allow.
    assert (batches[0].num_rows == 65536) is narrow
    assert all(b.num_rows <= 65536 and b.nbytes <= 1 << 20 for b in batches)
    assert sum(b.num_rows for b in batches) == (200000 if narrow else 10000)
    assert reader.schema.names == ["v"]


def test_duckdb_error_while_reading_passes_through() -> None:
    con = duckdb.connect()
    con.execute("SET streaming_buffer_size = '32KB'")  # as the server's cursors have it
    con.execute(
        "SELECT CASE WHEN range < 5000000 THEN repeat('x', 10) ELSE error('boom') END AS v "
        "FROM range(10000000)"
    )
    reader = byte_batches.open_reader(con, 65536, 1 << 20)
    with pytest.raises(duckdb.InvalidInputException, match="boom"):
        list(reader)


def test_duckdb_error_kinds_are_recovered_from_the_arrow_stream() -> None:
    error = byte_batches.duckdb_error(OSError("Conversion Error: Could not convert"))
    assert type(error) is duckdb.ConversionException
    error = byte_batches.duckdb_error(OSError("Out of Range Error: too big"))
    assert type(error) is duckdb.OutOfRangeException
    assert type(byte_batches.duckdb_error(OSError("disk full"))) is duckdb.Error
