"""COPY FROM in CSV format (PostgreSQL docs, COPY, "CSV Format").

Quoted fields may hold delimiters, quotes and newlines. An unquoted field equal to the NULL
string is NULL; a quoted one is not (unless FORCE_NULL), so ``""`` is an empty string and an
empty unquoted field is NULL by default: quoting is tracked per field, as in
``CopyReadAttributesCSV``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.errors import BadCopyFileFormat
from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy import fields
from forge_sql.wire.copy.fields import Bools, Bytes, Ints, Malformed, Records

_DELIMITER, _NEWLINE, _RETURN, _QUOTE, _ESCAPE = 1, 2, 3, 4, 5

Where = Callable[[int], str]  # row index -> error context


class CsvScanner:
    """Finds the records and fields of CSV data, unquotes values and decides NULLs."""

    def __init__(self, fmt: CopyFormat, columns: Sequence[str]) -> None:
        self.delimiter = ord(fmt.delimiter)
        self.quote = ord(fmt.quote)
        self.escape = ord(fmt.escape)
        self.null = fmt.null.encode()
        self.force_null = _flags(fmt.force_null, columns)
        self.force_not_null = _flags(fmt.force_not_null, columns)
        self._lut = np.zeros(256, np.uint8)
        self._lut[self.delimiter] = _DELIMITER
        self._lut[ord("\n")] = _NEWLINE
        self._lut[ord("\r")] = _RETURN
        if self.escape != self.quote:
            self._lut[self.escape] = _ESCAPE
        self._lut[self.quote] = _QUOTE
        none: Ints = np.zeros(0, np.int64)
        self._buf: Bytes = np.zeros(0, np.uint8)
        self._quotes = none  # offsets of the quotes that open or close a quoted section
        self._separators = none  # offsets of the delimiters and newlines between fields
        self._toggle_field = none  # per quote above: separators before it (its field)
        self._mark_field = none  # the same for every quote or escape character
        self._quoted: Bools = np.zeros((0, len(columns)), np.bool_)
        self._complex = self._quoted  # quoted fields that are more than "..."

    def scan(self, data: bytes, final: bool) -> Records:
        buf = np.frombuffer(data, np.uint8)
        has_quote = data.find(bytes([self.quote])) >= 0
        has_escape = (
            has_quote and self.escape != self.quote and data.find(bytes([self.escape])) >= 0
        )
        has_return = data.find(b"\r") >= 0
        mask = buf == self.delimiter
        mask |= buf == ord("\n")
        for present, byte in (
            (has_quote, self.quote),
            (has_escape, self.escape),
            (has_return, ord("\r")),
        ):
            if present:
                mask |= buf == byte
        at: Ints = np.flatnonzero(mask)
        kinds = self._lut[buf[at]]
        toggles = kinds == _QUOTE
        if has_escape:
            toggles = _toggles(at, kinds)
        depth = np.cumsum(toggles)
        outside = depth % 2 == 0
        newlines = at[(kinds == _NEWLINE) & outside]
        returns = at[(kinds == _RETURN) & outside] if has_return else newlines[:0]
        starts, ends, nexts, bad = fields.split_records(len(data), newlines, returns, final)
        self._quotes = at[toggles]
        error = None
        if bad >= 0:
            error = Malformed(
                bad,
                "unquoted carriage return found in data",
                "Use quoted CSV field to represent carriage return.",
            )
        if final and len(depth) and depth[-1] % 2 and len(starts):
            unterminated = int(self._quotes[-1])  # the quote never closed
            if error is None or unterminated < error.offset:
                # Reported at the end of the data, every newline in the field counted.
                error = Malformed(unterminated, "unterminated CSV quoted field", None, len(data))
        records = Records(starts, ends, nexts, at[(kinds == _DELIMITER) & outside], error)
        # Fields are counted by the separators before them: the field of each quote.
        separator = ((kinds == _DELIMITER) | (kinds == _NEWLINE)) & outside
        before = np.cumsum(separator) - separator
        marks = (kinds == _QUOTE) | (kinds == _ESCAPE)
        self._buf = buf
        self._separators = at[separator]
        self._toggle_field = before[toggles]
        self._mark_field = before[marks]
        inner = at[(kinds == _NEWLINE) & ~outside]
        if len(inner):
            record = np.searchsorted(nexts, inner, side="right")
            counts = np.bincount(record, minlength=len(nexts))[: len(nexts)]
            records.inner_newlines = np.cumsum(counts)
            records.inner_at = inner
        return records

    def prepare(self, starts: Ints, ends: Ints) -> None:
        """Find the quoted fields among those (shape (rows, columns)) about to be decoded.
        A field that is just ``"..."`` with no quote or escape inside is unquoted here, by
        moving its span in by one byte each side; ``values`` unquotes the others."""
        count = starts.size
        first = int(np.searchsorted(self._separators, starts[0, 0]))  # fields before
        quoted = _per_field(self._toggle_field - first, count) > 0
        marks = _per_field(self._mark_field - first, count)
        flat_starts, flat_ends = starts.reshape(-1), ends.reshape(-1)
        last = len(self._buf) - 1
        simple = (
            (marks == 2)
            & (flat_ends - flat_starts >= 2)
            & (self._buf[np.minimum(flat_starts, last)] == self.quote)
            & (self._buf[np.clip(flat_ends - 1, 0, last)] == self.quote)
        )
        flat_starts[simple] += 1
        flat_ends[simple] -= 1
        self._quoted = quoted.reshape(starts.shape)
        self._complex = (quoted & ~simple).reshape(starts.shape)

    def values(self, raw: pa.Array, column: int, where: Where) -> pa.Array:
        """One column's strings: unquoted, NULL as the NULL string and FORCE_* options say."""
        null = pa.scalar(self.null, raw.type)
        quoted = self._quoted[:, column]
        complex_ = self._complex[:, column]
        equal = pc.equal(raw, null).to_numpy(zero_copy_only=False)
        nulls: Bools | None = None
        if not self.force_not_null[column]:
            nulls = equal & ~quoted
        if complex_.any():
            rows = np.flatnonzero(complex_)
            unquoted = self._unquote(raw.take(pa.array(rows)), rows, where)
            raw = pc.replace_with_mask(raw, pa.array(complex_), unquoted)
        if self.force_null[column] and quoted.any():
            forced = quoted & pc.equal(raw, null).to_numpy(zero_copy_only=False)
            nulls = forced if nulls is None else nulls | forced
        return fields.with_nulls(raw, nulls)

    def _unquote(self, values: pa.Array, rows: Ints, where: Where) -> pa.Array:
        """Values of quoted fields. ``"..."`` with only doubled (or escaped) quotes inside is
        done column-wide; anything else (quotes in mid-field) by the per-value parser."""
        quote, escape = bytes([self.quote]), bytes([self.escape])
        offsets = np.frombuffer(
            values.buffers()[1], np.int32 if values.type == pa.binary() else np.int64
        )[values.offset : values.offset + len(values) + 1]
        data = values.buffers()[2]
        buf = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
        lengths = np.diff(offsets)
        wrapped = lengths >= 2
        first = offsets[:-1][wrapped]
        last = offsets[1:][wrapped] - 1
        wrapped[wrapped] = (buf[first] == self.quote) & (buf[last] == self.quote)
        inner = pc.binary_slice(values, 1, -1)
        if self.escape == self.quote:
            pair = quote + quote
            simple = pc.equal(
                pc.count_substring(inner, quote),
                pc.multiply(pc.count_substring(inner, pair), 2),
            ).to_numpy(zero_copy_only=False)
            result = pc.replace_substring(inner, pair, quote)
        else:
            inner = pc.replace_substring(inner, escape + escape, b"\x00")
            simple = pc.equal(
                pc.count_substring(inner, quote), pc.count_substring(inner, escape + quote)
            ).to_numpy(zero_copy_only=False)
            result = pc.replace_substring(inner, escape + quote, quote)
            result = pc.replace_substring(result, b"\x00", escape)
        odd = np.flatnonzero(~(wrapped & simple))
        if len(odd) == 0:
            return result
        originals = values.take(pa.array(odd)).to_pylist()
        parsed = [
            self._parse_field(value, where, int(rows[i]))
            for value, i in zip(originals, odd, strict=True)
        ]
        mask = np.zeros(len(values), np.bool_)
        mask[odd] = True
        return pc.replace_with_mask(result, pa.array(mask), pa.array(parsed, values.type))

    def _parse_field(self, raw: bytes, where: Where, row: int) -> bytes:
        """One field as ``CopyReadAttributesCSV`` reads it: quoted sections anywhere, in which
        the escape character takes a following quote or escape literally."""
        quote, escape = self.quote, self.escape
        out = bytearray()
        i, n = 0, len(raw)
        while i < n:
            c = raw[i]
            i += 1
            if c != quote:
                out.append(c)
                continue
            while True:
                if i >= n:
                    raise BadCopyFileFormat("unterminated CSV quoted field", context=where(row))
                c = raw[i]
                i += 1
                if c == escape and i < n and raw[i] in (escape, quote):
                    out.append(raw[i])
                    i += 1
                elif c == quote:
                    break
                else:
                    out.append(c)
        return bytes(out)


def _per_field(field: Ints, count: int) -> Ints:
    """How many of the entries fall in each of fields 0 .. count - 1."""
    inside = field[(field >= 0) & (field < count)]
    counts: Ints = np.bincount(inside, minlength=count)[:count]
    return counts


def _flags(names: Sequence[str], columns: Sequence[str]) -> list[bool]:
    if "*" in names:
        return [True] * len(columns)
    chosen = set(names)
    return [name in chosen for name in columns]


def _toggles(at: Ints, kinds: Bytes) -> Bools:
    """Quotes that open or close a quoted section when the escape is not the quote: inside
    quotes, a quote after an odd run of escapes is data."""
    is_quote = kinds == _QUOTE
    _, escaped = fields.escapes(at, kinds == _ESCAPE)
    candidate = np.zeros(len(at), np.bool_)
    candidate[escaped] = is_quote[escaped]
    toggles: Bools = is_quote & ~candidate
    before: Ints = np.cumsum(toggles) - toggles
    if (before[candidate] % 2 == 1).all():
        return toggles
    # An escape outside quotes is an ordinary character: walk the quotes in order.
    toggles = is_quote.copy()
    inside = False
    for entry in np.flatnonzero(is_quote).tolist():
        if inside and candidate[entry]:
            toggles[entry] = False
        else:
            inside = not inside
    return toggles
