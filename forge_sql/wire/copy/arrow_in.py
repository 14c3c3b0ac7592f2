"""COPY FROM text and CSV read by Arrow's CSV reader (multithreaded C++) into typed columns.

Only data that reader reads exactly as the general decoder and the engine's casts would is
taken: no escapes but whole-field NULL markers, no quotes, no carriage returns, no NUL.
Anything else, and any value the reader refuses, is left to the general decoder, which
reports faults as PostgreSQL does.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from forge_sql.seam import oids
from forge_sql.seam.backend import CopyIn

# Types whose values Arrow parses to what DuckDB's cast from text gives, for every value it
# accepts (checked value by value in tests/unit/wire/copy/test_copy_arrow.py). Other
# columns are read as strings, as the general decoder reads them.
_TYPED = {
    oids.INT2: pa.int16(),
    oids.INT4: pa.int32(),
    oids.INT8: pa.int64(),
    oids.FLOAT8: pa.float64(),
    oids.BOOL: pa.bool_(),
    oids.DATE: pa.date32(),
}
_TRUE, _FALSE = ["t", "true"], ["f", "false"]
# Year 0 and before: Arrow counts them proleptically, DuckDB as BC years; left to DuckDB.
_FIRST_DAY = -719162  # 0001-01-01 in days since 1970-01-01
_FIRST_MICROSECOND = _FIRST_DAY * 86_400_000_000
# ISO 8601 as Arrow reads it, except "YYYY-MM-DD hh" (13 characters), which DuckDB refuses.
_HOUR_ONLY = 13
_BLOCK_BYTES = 1 << 20  # per parsing thread; a longer line makes Arrow refuse the data


class ArrowReader:
    """Reads the complete records of text or CSV COPY data, or says it cannot."""

    def __init__(self, copy: CopyIn) -> None:
        fmt = copy.format
        self.usable = (
            fmt.kind in ("text", "csv")
            and not fmt.force_null
            and not fmt.force_not_null
            and bool(copy.columns)
        )
        self._text = fmt.kind == "text"
        self._null = fmt.null.encode()
        self._quote = fmt.quote.encode()
        self._delimiter = ord(fmt.delimiter)
        self._names = [c.name for c in copy.columns]
        self._timestamps = [i for i, c in enumerate(copy.columns) if c.type_oid == oids.TIMESTAMP]
        types = {c.name: _TYPED.get(c.type_oid, pa.string()) for c in copy.columns}
        self._read = pcsv.ReadOptions(
            column_names=self._names, block_size=_BLOCK_BYTES, use_threads=True
        )
        self._parse = pcsv.ParseOptions(
            delimiter=fmt.delimiter,
            quote_char=False,
            escape_char=False,
            double_quote=False,
            newlines_in_values=False,
            # Skipped, so the row count shows them: the general decoder reads an empty line
            # as one empty field, and Arrow as a row of empty fields.
            ignore_empty_lines=True,
        )
        self._convert = pcsv.ConvertOptions(
            column_types=types,
            null_values=[fmt.null],
            strings_can_be_null=True,
            true_values=_TRUE,
            false_values=_FALSE,
            check_utf8=True,
        )

    def read(self, data: bytes, final: bool) -> tuple[pa.RecordBatch, int] | None:
        """The complete records of ``data`` as one batch (one record per line) and the bytes
        they take; None when the general decoder must read this data."""
        end = len(data) if final else data.rfind(b"\n") + 1
        if end == 0 or not self._plain(data, end):
            return None
        records = data.count(b"\n", 0, end) + (0 if data[end - 1] == ord("\n") else 1)
        try:
            table = pcsv.read_csv(
                pa.py_buffer(data).slice(0, end),
                read_options=self._read,
                parse_options=self._parse,
                convert_options=self._convert,
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # a value or record the general decoder has to judge
        if table.num_rows != records:
            return None
        columns = [_one_chunk(c) for c in table.columns]
        for index in self._timestamps:
            parsed = _timestamps(columns[index])
            if parsed is None:
                return None
            columns[index] = parsed
        if not all(map(_after_year_zero, columns)):
            return None
        return pa.RecordBatch.from_arrays(columns, names=self._names), end

    def _plain(self, data: bytes, end: int) -> bool:
        """Whether ``data[:end]`` holds nothing Arrow reads differently from PostgreSQL."""
        if data.find(b"\r", 0, end) >= 0 or data.find(b"\x00", 0, end) >= 0:
            return False
        if not self._text:
            # Quotes (and the end-of-data line \.) need the general decoder.
            if data.find(self._quote, 0, end) >= 0:
                return False
            return data.find(b"\\", 0, end) < 0 or data.find(b"\\.", 0, end) < 0
        if data.find(b"\\", 0, end) < 0:
            return True
        return self._null == b"\\N" and self._only_null_markers(data, end)

    def _only_null_markers(self, data: bytes, end: int) -> bool:
        """Whether every backslash starts a field that is just ``\\N`` (not an escape)."""
        if data.count(b"\\", 0, end) != data.count(b"\\N", 0, end):
            return False
        buf = np.frombuffer(data, np.uint8, end)
        at = np.flatnonzero(buf == ord("\\"))
        before = buf[np.maximum(at - 1, 0)]
        after = buf[np.minimum(at + 2, end - 1)]
        starts = (at == 0) | (before == self._delimiter) | (before == ord("\n"))
        ends = (at + 2 == end) | (after == self._delimiter) | (after == ord("\n"))
        return bool((starts & ends).all())


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    if column.num_chunks == 1:
        return column.chunk(0)
    if column.num_chunks == 0:
        return pa.array([], column.type)
    return column.combine_chunks()


def _after_year_zero(column: pa.Array) -> bool:
    """Whether a date or timestamp column holds only dates from year 1 on."""
    if pa.types.is_date32(column.type):
        first = _FIRST_DAY
    elif pa.types.is_timestamp(column.type):
        first = _FIRST_MICROSECOND
    else:
        return True
    low = pc.min(column.view(pa.int32() if first == _FIRST_DAY else pa.int64())).as_py()
    return low is None or low >= first


def _timestamps(text: pa.Array) -> pa.Array | None:
    """TIMESTAMP values from their text, None if one is written in a form DuckDB refuses."""
    if pc.any(pc.equal(pc.binary_length(text), _HOUR_ONLY)).as_py():
        return None
    try:
        return pc.cast(text, pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
