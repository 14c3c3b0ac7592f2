"""Result batches bounded in bytes as well as rows, so no batch (and no Arrow string buffer)
grows with the width of the rows: ``SELECT repeat('x', 40000) FROM range(60000)`` streams in
batches of a few megabytes, and a single row wider than the limit still goes out alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb
import pyarrow as pa

# DuckDB's vector size: its Arrow export fetches whole vectors, so fetching fewer rows at a
# time saves no memory, and fetching more lets one batch of wide rows grow without bound
# (a 65536-row batch of 40 kB strings overflows the 2 GiB offsets of an Arrow string array).
VECTOR_ROWS = 2048

# Arrow bytes per row of the DuckDB types whose values have a fixed width.
_FIXED_WIDTH = {
    "BOOLEAN": 1,
    "TINYINT": 1,
    "UTINYINT": 1,
    "SMALLINT": 2,
    "USMALLINT": 2,
    "INTEGER": 4,
    "UINTEGER": 4,
    "BIGINT": 8,
    "UBIGINT": 8,
    "HUGEINT": 16,
    "UHUGEINT": 16,
    "FLOAT": 4,
    "DOUBLE": 8,
    "DATE": 4,
    "TIME": 8,
    "TIME WITH TIME ZONE": 8,
    "INTERVAL": 16,
    "UUID": 40,  # exported as a 36-character string and its offset
}
_FIXED_PREFIXES = {"DECIMAL": 16, "TIMESTAMP": 8}


def row_width(types: Sequence[str]) -> int | None:
    """Arrow bytes per row of a result with these DuckDB column types; None when a column
    is of variable width (text, bytea, lists, structs, ...)."""
    total = 1  # a row of no columns still counts
    for name in types:
        width = _FIXED_WIDTH.get(name)
        if width is None:
            width = next((w for p, w in _FIXED_PREFIXES.items() if name.startswith(p)), None)
        if width is None:
            return None
        total += width
    return total


def fetch_rows(types: Sequence[str], batch_rows: int, batch_bytes: int) -> int:
    """Rows DuckDB should put in each batch it hands over: ``batch_rows`` when the rows are
    narrow and of fixed width, fewer when that would exceed ``batch_bytes``, and one vector
    at a time when their width is only known once they are read."""
    width = row_width(types)
    if width is None:
        return min(batch_rows, VECTOR_ROWS)
    return max(1, min(batch_rows, batch_bytes // width))


class ResultReader:
    """Reads like a ``pyarrow.RecordBatchReader`` (``schema``, ``read_next_batch``,
    iteration) over DuckDB's reader, its batches regrouped when ``regroup`` is set.

    DuckDB's errors cross the Arrow stream as OSError ("Invalid Input Error: ..."); they
    come out as the DuckDB exceptions they were, so they are translated like any other.
    """

    def __init__(
        self, reader: pa.RecordBatchReader, max_rows: int, max_bytes: int, regroup: bool
    ) -> None:
        self.schema = reader.schema
        self._batches: Iterator[pa.RecordBatch] = (
            bounded(reader, max_rows, max_bytes) if regroup else iter(reader)
        )

    def read_next_batch(self) -> pa.RecordBatch:
        """The next batch; StopIteration at the end."""
        try:
            return next(self._batches)
        except OSError as exc:
            raise duckdb_error(exc) from None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            try:
                yield self.read_next_batch()
            except StopIteration:
                return


def duckdb_error(exc: OSError) -> duckdb.Error:
    """The DuckDB exception that ``exc`` carries as text: "Conversion Error: ..." becomes
    ``duckdb.ConversionException``; a message without such a prefix, ``duckdb.Error``."""
    text = str(exc)
    kind, sep, _ = text.partition(" Error: ")
    name = "".join(word.capitalize() for word in kind.split()) + "Exception"
    cls = getattr(duckdb, name, None) if sep else None
    if not (isinstance(cls, type) and issubclass(cls, duckdb.Error)):
        cls = duckdb.Error
    return cls(text)


def open_reader(
    cursor: duckdb.DuckDBPyConnection, batch_rows: int, batch_bytes: int
) -> ResultReader:
    """The executed statement's rows on ``cursor`` in batches of at most ``batch_rows`` rows
    and ``batch_bytes`` bytes (or a single row, if one row is wider)."""
    types = [str(column[1]) for column in cursor.description or ()]
    rows = fetch_rows(types, batch_rows, batch_bytes)
    reader: pa.RecordBatchReader = cursor.to_arrow_reader(rows)
    # Narrow rows of fixed width are bounded by rows and bytes already: nothing to regroup.
    regroup = rows < batch_rows or row_width(types) is None
    return ResultReader(reader, batch_rows, batch_bytes, regroup)


def bounded(
    batches: Iterator[pa.RecordBatch] | pa.RecordBatchReader, max_rows: int, max_bytes: int
) -> Iterator[pa.RecordBatch]:
    """``batches`` regrouped: small ones joined and large ones sliced, so that each has at
    most ``max_rows`` rows and ``max_bytes`` bytes, unless it is a single row."""
    pending: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        nbytes = batch.nbytes
        if pending and (rows + batch.num_rows > max_rows or size + nbytes > max_bytes):
            yield _join(pending)
            pending, rows, size = [], 0, 0
        if batch.num_rows > max_rows or nbytes > max_bytes:
            yield from sliced(batch, max_rows, max_bytes)
            continue
        pending.append(batch)
        rows += batch.num_rows
        size += nbytes
    if pending:
        yield _join(pending)


def sliced(batch: pa.RecordBatch, max_rows: int, max_bytes: int) -> Iterator[pa.RecordBatch]:
    """Zero-copy slices of ``batch`` of at most ``max_rows`` rows and ``max_bytes`` bytes
    (a wider single row is a slice of its own)."""
    start = 0
    total = batch.num_rows
    while start < total:
        rest = batch.slice(start)
        rows = min(rest.num_rows, max_rows)
        # Guess from the average width, then halve while the rows are wider than that.
        rows = max(1, min(rows, rows * max_bytes // max(1, rest.slice(0, rows).nbytes)))
        part = rest.slice(0, rows)
        while rows > 1 and part.nbytes > max_bytes:
            rows //= 2
            part = rest.slice(0, rows)
        yield part
        start += rows


def _join(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)
