"""CopyDecoder: the data of a COPY FROM STDIN, in whatever chunks it arrives, as Arrow batches.

CopyData boundaries have nothing to do with rows: chunks are gathered until ``batch_bytes``,
then every complete row is decoded at once and the incomplete rest waits for more data.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from forge_sql.errors import BadCopyFileFormat, FeatureNotSupported, ForgeError
from forge_sql.seam.backend import CopyIn
from forge_sql.wire.copy import fields
from forge_sql.wire.copy.arrow_in import ArrowReader
from forge_sql.wire.copy.binary_in import BinaryReader
from forge_sql.wire.copy.csv_in import CsvScanner
from forge_sql.wire.copy.fields import Ints, Records
from forge_sql.wire.copy.options import check_format
from forge_sql.wire.copy.text_in import TextScanner

_MAX_PIECES = 16  # cuts of a batch at multi-line CSV records; beyond, ``lines`` is set
# Try Arrow's CSV reader first; FORGE_SQL_PURE_PYTHON (as for ``encode.framer``) turns it
# off, and tests switch it to check both paths.
ARROW_READER = not os.environ.get("FORGE_SQL_PURE_PYTHON")


@dataclass
class CopyBatch:
    """Rows decoded from COPY data.

    Row i is on input line ``first_line + i`` unless ``lines`` is set: a CSV record whose
    quoted fields hold newlines spans several lines, and PostgreSQL numbers it by its last.
    """

    batch: pa.RecordBatch  # one column per target column, in order
    first_line: int  # 1-based input line of the batch's first row (a header line counts)
    lines: npt.NDArray[np.int64] | None = None  # the line of each row, when not consecutive

    def line(self, row: int) -> int:
        """The input line of row ``row``, for error messages."""
        return int(self.lines[row]) if self.lines is not None else self.first_line + row


class CopyDecoder:
    """Decodes the COPY data of ``copy``: binary into typed columns; text and csv into typed
    columns where Arrow's reader can (``arrow_in``), else into strings (the engine casts them).
    """

    def __init__(self, copy: CopyIn, batch_bytes: int = 8 << 20) -> None:
        fmt = copy.format
        check_format(fmt)
        self.copy = copy
        self.rows = 0
        self._batch_bytes = batch_bytes
        self._wanted = batch_bytes  # grows while a single row is bigger than a batch
        self._chunks: list[bytes] = []
        self._size = 0
        self._line = 1  # input line of the next record
        self._ended = False  # the end-of-data marker was seen
        self._header = fmt.header and fmt.kind != "binary"
        self._names = [c.name for c in copy.columns]
        self._scanner: TextScanner | CsvScanner | None = None
        self._binary: BinaryReader | None = None
        self._arrow: ArrowReader | None = None
        if ARROW_READER and fmt.kind != "binary":
            reader = ArrowReader(copy)
            self._arrow = reader if reader.usable else None
        if fmt.kind == "text":
            self._scanner = TextScanner(fmt)
        elif fmt.kind == "csv":
            self._scanner = CsvScanner(fmt, self._names)
        elif fmt.kind == "binary":
            self._binary = BinaryReader(copy)
        else:
            raise FeatureNotSupported(f'COPY format "{fmt.kind}" not recognized')

    def feed(self, data: bytes | memoryview) -> list[CopyBatch]:
        """Take one chunk of COPY data; the batches of rows complete enough to decode."""
        if not len(data):
            return []
        if self._ended:
            if self._binary is not None:
                where = fields.context(self.copy, self._line)  # the trailer's tuple number
                raise BadCopyFileFormat("received copy data after EOF marker", context=where)
            return []  # text and csv ignore what follows \.
        self._chunks.append(bytes(data))
        self._size += len(data)
        if self._size < self._wanted:
            return []
        return self._decode(final=False)

    def finish(self) -> list[CopyBatch]:
        """After CopyDone: the remaining rows. A truncated last row is an error."""
        batches = [] if self._ended else self._decode(final=True)
        if self._binary is not None:
            self._binary.finish()
        return batches

    def _decode(self, final: bool) -> list[CopyBatch]:
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks, self._size = [], 0
        lines = None
        fast = None
        if self._arrow is not None and not self._header:
            fast = self._arrow.read(data, final)
        if fast is not None:
            batch, used = fast
        elif self._binary is not None:
            batch, used, self._ended = self._binary.read(data, final, self._line)
        else:
            batch, used, lines = self._records(data, final)
        rest = data[used:]
        if rest and not self._ended:
            self._chunks, self._size = [rest], len(rest)
        # Rescanning a row that outgrows a batch must not be quadratic: wait for twice as much.
        self._wanted = max(self._batch_bytes, 2 * len(rest))
        if batch is None or batch.num_rows == 0:
            return []
        self.rows += batch.num_rows
        if lines is None:
            result = [CopyBatch(batch, self._line)]
            self._line += batch.num_rows
            return result
        return _numbered(batch, lines)

    def _records(self, data: bytes, final: bool) -> tuple[pa.RecordBatch | None, int, Ints | None]:
        """Text or csv: decode the complete records of ``data``; (batch, bytes used, the line
        of each row).

        Of several faults, the one on the earliest line is reported, as PostgreSQL (which
        reads line by line) would.
        """
        assert self._scanner is not None
        records = self._scanner.scan(data, final)
        count = len(records.starts)
        if count == 0:
            return None, 0, None
        used = int(records.nexts[-1])
        marker = fields.end_marker(data, records)
        if marker >= 0:
            self._ended = True
            count = marker
        line = self._line  # of the buffer's first record
        lines = records.lines(line)  # of each record: its last line
        if count:
            self._line = int(lines[count - 1]) + 1
        first = 0
        if self._header and count > 0:
            self._header = False
            first = 1
        faults: list[fields.Fault] = []
        end = int(records.nexts[count - 1]) if count else 0
        error = records.error
        if error is not None and error.offset < end:
            row = fields.record_of(records, error.offset)
            text = data[records.starts[row] : records.ends[row]]
            at = error.offset if error.line_offset < 0 else error.line_offset
            where = fields.context(self.copy, records.line_at(line, at), text)
            faults.append((row, BadCopyFileFormat(error.message, hint=error.hint, context=where)))
        if count:
            bad = fields.utf8_fault(data, int(records.starts[0]), end)
            if bad is not None:
                row = fields.record_of(records, bad[0])
                where = fields.context(self.copy, int(lines[row]))
                faults.append((row, fields.invalid_encoding(bad[1], where)))
        limit = min([count, *(row for row, _ in faults)])
        batch = None
        if limit > first:
            rows = Records(
                records.starts[first:limit],
                records.ends[first:limit],
                records.nexts[first:limit],
                records.delimiters,
            )
            batch = self._batch(data, rows, lines[first:limit], faults, first)
        if faults:
            raise min(faults, key=lambda fault: fault[0])[1]
        return batch, used, lines[first:limit]

    def _batch(
        self, data: bytes, rows: Records, lines: Ints, faults: list[fields.Fault], skipped: int
    ) -> pa.RecordBatch | None:
        """The columns of ``rows``; faults found on the way are added to ``faults``."""
        assert self._scanner is not None
        if not self._names:
            raise BadCopyFileFormat("COPY needs at least one column")
        starts, ends, fault = fields.field_spans(data, rows, self.copy, lines)
        if fault is not None:
            faults.append((skipped + fault[0], fault[1]))
            if len(starts) == 0:
                return None
        columns = []
        self._scanner.prepare(starts, ends)
        for i, values in enumerate(fields.cut_columns(data, starts, ends)):
            where = fields.Where(self.copy, lines, data, rows)
            try:
                columns.append(self._scanner.values(values, i, where))
            except ForgeError as exc:
                faults.append((skipped + where.row, exc))
        if faults:
            return None
        return pa.RecordBatch.from_arrays(columns, names=self._names)


def _numbered(batch: pa.RecordBatch, lines: Ints) -> list[CopyBatch]:
    """``batch`` as CopyBatches numbered by line. Rows are on consecutive lines except after
    a CSV record with newlines in quoted fields: the batch is cut there, as long as that
    makes few pieces; else one batch carries the line of every row."""
    breaks = np.flatnonzero(np.diff(lines) != 1) + 1
    if len(breaks) > _MAX_PIECES:
        return [CopyBatch(batch, int(lines[0]), lines)]
    bounds = [0, *breaks.tolist(), batch.num_rows]
    return [
        CopyBatch(batch.slice(start, stop - start), int(lines[start]))
        for start, stop in itertools.pairwise(bounds)
    ]
