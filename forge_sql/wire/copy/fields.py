"""Records and fields of COPY text or CSV data, located in a buffer and cut into Arrow columns.

A format's scanner finds the record terminators and field delimiters (numpy, whole buffer);
everything after that is shared: end-of-data marker, HEADER, field counts, UTF-8, columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.errors import BadCopyFileFormat, CharacterNotInRepertoire, ForgeError
from forge_sql.seam.backend import CopyIn

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Bytes = npt.NDArray[np.uint8]

_INT32_MAX = 2**31 - 1
_SHOWN_BYTES = 100  # MAX_COPY_DATA_DISPLAY in copyfrom.c


class Malformed(NamedTuple):
    """Data a scanner cannot read (22P04): where, and the line PostgreSQL would report."""

    offset: int  # the offending byte
    message: str
    hint: str | None = None
    line_offset: int = -1  # the byte whose line is reported, when not ``offset``


@dataclass(slots=True)
class Records:
    """Complete records of a buffer, as byte offsets (found by a format's scanner)."""

    starts: Ints  # first byte of each record
    ends: Ints  # end of its content: the line terminator is not included
    nexts: Ints  # first byte after its terminator
    delimiters: Ints  # sorted offsets of the field delimiters that separate fields
    error: Malformed | None = None  # the first malformed byte
    # Newlines inside quoted CSV fields, counted up to the end of each record: PostgreSQL's
    # line numbers count them (CopyReadLineText), so a record's line is its last line.
    inner_newlines: Ints | None = None
    inner_at: Ints | None = None  # the offsets of those newlines

    def line_at(self, first_line: int, offset: int) -> int:
        """The input line of byte ``offset`` (PostgreSQL's count when it reads that byte)."""
        line = first_line + min(record_of(self, offset), len(self.starts) - 1)
        if self.inner_at is not None:
            line += int(np.searchsorted(self.inner_at, offset))
        return line

    def lines(self, first_line: int) -> Ints:
        """The input line of each record when the first one starts at ``first_line``."""
        numbers: Ints = first_line + np.arange(len(self.starts), dtype=np.int64)
        if self.inner_newlines is not None:
            numbers += self.inner_newlines
        return numbers


def context(copy: CopyIn, line: int, text: bytes | None = None, column: str | None = None) -> str:
    """The CONTEXT line PostgreSQL's CopyFromErrorCallback writes."""
    where = f"COPY {copy.table}, line {line}"
    if column is not None:
        where += f", column {column}"
    if text is not None:
        where += f': "{shown(text)}"'
    return where


def shown(text: bytes) -> str:
    """At most 100 bytes of ``text`` (then "..."), as ``limit_printout_length`` prints."""
    if len(text) <= _SHOWN_BYTES:
        return text.decode("utf-8", "replace")
    return text[:_SHOWN_BYTES].decode("utf-8", "ignore") + "..."


def record_of(records: Records, offset: int) -> int:
    """Index of the record that holds byte ``offset``."""
    return int(np.searchsorted(records.nexts, offset, side="right"))


def end_marker(data: bytes, records: Records) -> int:
    """Index of the first record that is just ``\\.`` (end of data), or -1."""
    buf = np.frombuffer(data, np.uint8)
    two = np.flatnonzero(records.ends - records.starts == 2)
    if len(two) == 0:
        return -1
    at = records.starts[two]
    hits = two[(buf[at] == ord("\\")) & (buf[at + 1] == ord("."))]
    return int(hits[0]) if len(hits) else -1


def utf8_fault(data: bytes, start: int, stop: int) -> tuple[int, bytes] | None:
    """Offset and bytes of the first invalid UTF-8 sequence or NUL in ``data[start:stop]``.

    Arrow validates the whole range at memory speed; Python locates a fault, if any.
    """
    if stop <= start:
        return None
    zero = data.find(b"\x00", start, stop)
    offsets = pa.py_buffer(np.array([0, stop - start], np.int64))
    whole = pa.Array.from_buffers(
        pa.large_string(), 1, [None, offsets, pa.py_buffer(data)[start:stop]]
    )
    try:
        whole.validate(full=True)
    except pa.ArrowInvalid:
        try:
            data[start:stop].decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = start + exc.start
            if zero < 0 or bad < zero:
                return bad, data[bad:stop]
    return (zero, b"\x00") if zero >= 0 else None


def invalid_encoding(sequence: bytes, where: str | None) -> CharacterNotInRepertoire:
    """``report_invalid_encoding``: the bytes of the offending character, as 0x.. 0x.."""
    lead = sequence[0]
    width = (
        2 if lead & 0xE0 == 0xC0 else 3 if lead & 0xF0 == 0xE0 else 4 if lead & 0xF8 == 0xF0 else 1
    )
    shown_bytes = " ".join(f"0x{b:02x}" for b in sequence[:width])
    return CharacterNotInRepertoire(
        f'invalid byte sequence for encoding "UTF8": {shown_bytes}', context=where
    )


Fault = tuple[int, ForgeError]  # (row, the error PostgreSQL reports for it)


def field_spans(
    data: bytes, records: Records, copy: CopyIn, lines: Ints
) -> tuple[Ints, Ints, Fault | None]:
    """(starts, ends) of every field, shape (records, columns), up to the first record with
    another number of fields; that record's 22P04 error, as ``NextCopyFrom`` reports it."""
    columns = len(copy.columns)
    count = len(records.starts)
    lo, hi = np.searchsorted(records.delimiters, [records.starts[0], records.ends[-1]])
    delimiters = records.delimiters[lo:hi]
    expected = count * (columns - 1)
    inner = (
        delimiters[:expected].reshape(count, columns - 1) if len(delimiters) >= expected else None
    )
    # Equal totals can hide a short record followed by a long one: each record's first and
    # last delimiter must lie inside it.
    if (
        inner is not None
        and len(delimiters) == expected
        and (
            columns == 1 or ((inner[:, 0] >= records.starts) & (inner[:, -1] < records.ends)).all()
        )
    ):
        starts = np.empty((count, columns), np.int64)
        ends = np.empty((count, columns), np.int64)
        starts[:, 0] = records.starts
        starts[:, 1:] = inner + 1
        ends[:, :-1] = inner
        ends[:, -1] = records.ends
        return starts, ends, None
    per_record = np.bincount(np.searchsorted(records.ends, delimiters), minlength=count)
    row = int(np.flatnonzero(per_record[:count] != columns - 1)[0])
    fault = (row, _wrong_count(data, records, copy, lines, row, int(per_record[row])))
    if row == 0:
        empty = np.zeros((0, columns), np.int64)
        return empty, empty, fault
    before = Records(records.starts[:row], records.ends[:row], records.nexts[:row], delimiters)
    starts, ends, _ = field_spans(data, before, copy, lines)
    return starts, ends, fault


def _wrong_count(
    data: bytes, records: Records, copy: CopyIn, lines: Ints, row: int, delimiters: int
) -> BadCopyFileFormat:
    columns = len(copy.columns)
    text = data[records.starts[row] : records.ends[row]]
    where = context(copy, int(lines[row]), text)
    if delimiters >= columns:
        return BadCopyFileFormat("extra data after last expected column", context=where)
    missing = copy.columns[delimiters + 1].name
    return BadCopyFileFormat(f'missing data for column "{missing}"', context=where)


class Where:
    """Error context for a row of a batch; remembers the row it was last asked for, so the
    earliest of several faulty rows can be reported."""

    def __init__(
        self,
        copy: CopyIn,
        lines: Ints,
        data: bytes | None = None,
        records: Records | None = None,
        column: str | None = None,
    ) -> None:
        self.copy = copy
        self.lines = lines
        self.data = data
        self.records = records
        self.column = column
        self.row = -1

    def __call__(self, row: int) -> str:
        self.row = row
        text = None
        if self.data is not None and self.records is not None:
            text = self.data[self.records.starts[row] : self.records.ends[row]]
        return context(self.copy, int(self.lines[row]), text, self.column)


def cut_columns(data: bytes, starts: Ints, ends: Ints) -> list[pa.Array]:
    """One binary array per column, holding the raw bytes of its fields.

    All fields in buffer order, with the delimiters between them as extra values, are one
    zero-copy array over ``data``; a ``take`` of every other value gathers a column.
    """
    count, columns = starts.shape
    large = len(data) > _INT32_MAX
    offsets = np.empty(2 * count * columns, np.int64 if large else np.int32)
    offsets[0::2] = starts.reshape(-1)
    offsets[1::2] = ends.reshape(-1)
    typ = pa.large_binary() if large else pa.binary()
    fields = pa.Array.from_buffers(
        typ, len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    index_type = np.int64 if 2 * count * columns > _INT32_MAX else np.int32
    step = np.arange(0, 2 * count * columns, 2 * columns, dtype=index_type)
    result = []
    for column in range(columns):
        result.append(pc.take(fields, pa.array(step + 2 * column)))
    return result


def with_nulls(values: pa.Array, nulls: Bools | None) -> pa.Array:
    """``values`` as UTF-8 strings (already validated), NULL where ``nulls``."""
    typ = pa.large_string() if pa.types.is_large_binary(values.type) else pa.string()
    if values.null_count:
        values = pc.fill_null(values, pa.scalar(b"", values.type))
    validity = None
    if nulls is not None and nulls.any():
        if values.offset:
            nulls = np.concatenate([np.zeros(values.offset, np.bool_), nulls])
        validity = pa.py_buffer(np.packbits(~nulls, bitorder="little"))
    buffers = values.buffers()
    return pa.Array.from_buffers(
        typ, len(values), [validity, buffers[1], buffers[2]], offset=values.offset
    )


def split_records(
    size: int, newlines: Ints, returns: Ints, final: bool
) -> tuple[Ints, Ints, Ints, int]:
    """(starts, ends, nexts) of the records that ``newlines`` end (a carriage return just before
    one is part of the terminator), plus the unterminated last record when ``final``; and the
    offset of the first carriage return that does not end a line (-1 if none)."""
    nexts = newlines + 1
    ends = newlines.copy()
    bad = -1
    if len(returns):
        where = np.searchsorted(newlines, returns + 1)
        crlf = where < len(newlines)
        crlf[crlf] = newlines[where[crlf]] == returns[crlf] + 1
        ends[where[crlf]] -= 1
        if not crlf.all():
            bad = int(returns[~crlf][0])
    done = int(nexts[-1]) if len(nexts) else 0
    if final and done < size:
        nexts = np.append(nexts, size)
        ends = np.append(ends, size)
    starts = np.zeros(len(nexts), np.int64)
    starts[1:] = nexts[:-1]
    return starts, ends, nexts, bad


def escapes(at: Ints, is_escape: Bools) -> tuple[Ints, Ints]:
    """Of the entries ``at`` (sorted offsets of the bytes a scanner looks at), the escape
    characters that escape the next byte (an even place in a run of them) and the entries
    they escape (when the next byte is one of the entries)."""
    idx = np.flatnonzero(is_escape)
    if len(idx) == 0:
        return idx, idx
    pos = at[idx]
    new_run = np.ones(len(idx), np.bool_)
    new_run[1:] = np.diff(pos) != 1
    place = np.arange(len(idx))
    run_start = np.maximum.accumulate(np.where(new_run, place, 0))
    escaping = idx[(place - run_start) % 2 == 0]
    following = escaping + 1
    inside = following < len(at)
    following = following[inside]
    escaped: Ints = following[at[following] == at[escaping[inside]] + 1]
    return escaping, escaped
