"""Results handed to the wire layer: streamed Arrow batches, small tables, or a tag alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql import errors
from forge_sql.engine.byte_batches import ResultReader
from forge_sql.seam import oids
from forge_sql.seam.backend import Column, CopyIn, CopyOut
from forge_sql.sql.statements import Statement


def padded_widths(columns: Sequence[Column] | None) -> tuple[tuple[int, int], ...]:
    """(index, n) of each char(n) column: PostgreSQL stores and prints it blank-padded to
    n, and DuckDB keeps the value as written (forge_sql.engine.lengths cut it to n)."""
    return tuple(
        (i, c.type_modifier - 4) for i, c in enumerate(columns or ())
        if c.type_oid == oids.BPCHAR and c.type_modifier > 4
    )


def blank_padded(batch: pa.RecordBatch, widths: tuple[tuple[int, int], ...]) -> pa.RecordBatch:
    """``batch`` with its char(n) columns (``padded_widths``) padded with spaces to n."""
    if not widths:
        return batch
    arrays = list(batch.columns)
    for index, width in widths:
        array = arrays[index]
        if pa.types.is_string_view(array.type):
            array = array.cast(pa.string())
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            arrays[index] = pc.utf8_rpad(array, width=width, padding=" ")
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


class Source(Protocol):
    """The connection a streamed result reads from (forge_sql.engine.connection)."""

    def running(self, flag: bool) -> None: ...

    def stream_finished(self, result: ArrowResult) -> None: ...


class _NoCopy:
    """Results that are not a COPY over the connection."""

    copy: CopyIn | CopyOut | None = None
    binary: bool = False

    def take_rows(self, limit: int) -> Sequence[tuple[object, ...]] | None:
        return None  # read in batches

    def write(self, batch: pa.RecordBatch, first_line: int) -> None:
        raise errors.ProtocolError("unexpected COPY data: the statement is not COPY FROM STDIN")


class TagResult(_NoCopy):
    """A statement that returns no rows."""

    columns: tuple[Column, ...] | None = None

    def __init__(self, tag: str, notices: Sequence[tuple[str, str]] = ()) -> None:
        self._tag = tag
        self.notices = list(notices)

    def next_batch(self) -> pa.RecordBatch | None:
        return None

    def command_tag(self) -> str:
        return self._tag

    def close(self) -> None:
        pass


class TableResult(_NoCopy):
    """Rows the server computed itself (SHOW, catalog answers)."""

    def __init__(self, table: pa.Table, columns: tuple[Column, ...], tag: str) -> None:
        self.columns = columns
        self.notices: list[tuple[str, str]] = []
        widths = padded_widths(columns)
        self._batches = [blank_padded(b, widths) for b in table.to_batches()]
        self._tag = tag
        self._rows = 0

    def next_batch(self) -> pa.RecordBatch | None:
        if not self._batches:
            return None
        batch = self._batches.pop(0)
        self._rows += batch.num_rows
        return batch

    def command_tag(self) -> str:
        return self._tag if self._tag != "SELECT" else f"SELECT {self._rows}"

    def close(self) -> None:
        self._batches.clear()


class RowsResult(_NoCopy):
    """A few rows held as Python values (engine.constant_rows), built into Arrow only
    if they are read in batches."""

    def __init__(
        self, rows: list[tuple[object, ...]], types: Sequence[pa.DataType],
        columns: tuple[Column, ...],
    ) -> None:
        self.columns = columns
        self.notices: list[tuple[str, str]] = []
        self._rows = rows
        self._types = list(types)
        self._taken = 0

    def take_rows(self, limit: int) -> Sequence[tuple[object, ...]] | None:
        if padded_widths(self.columns):
            return None  # char(n) is padded in batches (blank_padded)
        rows = self._rows[self._taken : self._taken + limit]
        self._taken += len(rows)
        return rows

    def next_batch(self) -> pa.RecordBatch | None:
        rows = self._rows[self._taken :]
        if not rows:
            return None
        self._taken += len(rows)
        names = [c.name for c in self.columns]
        values = list(zip(*rows, strict=True))
        batch = pa.RecordBatch.from_arrays(
            [pa.array(v, t) for v, t in zip(values, self._types, strict=True)], names=names
        )
        return blank_padded(batch, padded_widths(self.columns))

    def command_tag(self) -> str:
        return f"SELECT {self._taken}"

    def close(self) -> None:
        self._taken = len(self._rows)


class ArrowResult(_NoCopy):
    """A DuckDB result read batch by batch: memory stays bounded whatever the row count.

    With ``copy`` set it is the result of COPY ... TO STDOUT.
    """

    def __init__(
        self,
        source: Source,
        fail: Callable[[BaseException, str | None], errors.ForgeError],
        statement: Statement,
        reader: ResultReader,
        columns: tuple[Column, ...],
        copy: CopyOut | None = None,
    ) -> None:
        self.columns = columns
        self._widths = padded_widths(columns)
        self.copy = copy
        self.notices: list[tuple[str, str]] = []
        self._source = source
        self._fail = fail  # translates a read error and fails the transaction
        self._statement = statement
        self._reader: ResultReader | None = reader
        self._held: list[pa.RecordBatch] | None = None
        self._rows = 0

    def next_batch(self) -> pa.RecordBatch | None:
        if self._held is not None:
            batch = self._held.pop(0) if self._held else None
        else:
            batch = self._read()
        if batch is None:
            return None
        self._rows += batch.num_rows
        # timestamptz arrays carry the session TimeZone (set on the DuckDB connection),
        # which the encoders print in.
        return blank_padded(batch, self._widths)

    def _read(self) -> pa.RecordBatch | None:
        if self._reader is None:
            return None
        self._source.running(True)
        try:
            return self._reader.read_next_batch()
        except StopIteration:
            self._finish()
            return None
        except duckdb.Error as exc:
            self._finish()
            raise self._fail(exc, self._statement.sql) from exc
        finally:
            self._source.running(False)

    def materialize(self) -> None:
        """Read the rest now, because another statement needs the cursor (open portals)."""
        if self._held is None and self._reader is not None:
            held = []
            while (batch := self._read()) is not None:
                held.append(batch)
            self._held = held

    def command_tag(self) -> str:
        return self._statement.tag(self._rows)

    def _finish(self) -> None:
        self._reader = None
        self._source.stream_finished(self)

    def close(self) -> None:
        self._held = None
        if self._reader is not None:
            self._reader = None
            self._source.stream_finished(self)
