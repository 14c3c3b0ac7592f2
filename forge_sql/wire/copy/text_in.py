"""COPY FROM in text format (PostgreSQL docs, COPY, "Text Format").

Rows end with a newline (or CR LF), fields are split at the delimiter, a backslash escapes
the next byte; the NULL marker is compared before unescaping, as ``CopyReadAttributesText``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy import fields
from forge_sql.wire.copy.fields import Ints, Malformed, Records

_DELIMITER, _NEWLINE, _RETURN, _BACKSLASH = 1, 2, 3, 4
_LETTERS = {
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("v"): b"\v",
}
# Escapes left to the per-value path: octal digits and \x (hex digits may follow).
_NUMERIC = frozenset(b"01234567x")
_AT_END = 256  # in the set of escaped bytes: a backslash is the last byte of the data
_MAX_PLAIN = 16  # distinct "\c means c" escapes replaced column-wide; beyond, per value
_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.)|$)", re.DOTALL)

Where = Callable[[int], str]  # row index -> error context


class TextScanner:
    """Finds the records and fields of text-format data and unescapes their values."""

    def __init__(self, fmt: CopyFormat) -> None:
        self.delimiter = ord(fmt.delimiter)
        self.null = fmt.null.encode()
        self._lut = np.zeros(256, np.uint8)
        self._lut[self.delimiter] = _DELIMITER
        self._lut[ord("\n")] = _NEWLINE
        self._lut[ord("\r")] = _RETURN
        self._lut[ord("\\")] = _BACKSLASH
        self._buf = np.zeros(0, np.uint8)
        self._escapes: Ints = np.zeros(0, np.int64)  # backslashes that escape the next byte
        self._escape_fields: Ints = self._escapes  # field (row * columns + column) of each
        self._escape_at: Ints = self._escapes
        self._columns = self._rows = 0

    def scan(self, data: bytes, final: bool) -> Records:
        buf = np.frombuffer(data, np.uint8)
        has_return = data.find(b"\r") >= 0
        has_backslash = data.find(b"\\") >= 0
        mask = buf == self.delimiter
        mask |= buf == ord("\n")
        if has_return:
            mask |= buf == ord("\r")
        if has_backslash:
            mask |= buf == ord("\\")
        at: Ints = np.flatnonzero(mask)
        kinds = self._lut[buf[at]]
        self._buf = buf
        self._escapes = at[:0]
        if has_backslash:
            escaping, escaped = fields.escapes(at, kinds == _BACKSLASH)
            kinds[escaped] = 0
            kinds[kinds == _BACKSLASH] = 0
            self._escapes = at[escaping]
        newlines = at[kinds == _NEWLINE]
        returns = at[kinds == _RETURN] if has_return else newlines[:0]
        starts, ends, nexts, bad = fields.split_records(len(data), newlines, returns, final)
        error = None
        if bad >= 0:
            error = Malformed(
                bad,
                "literal carriage return found in data",
                'Use "\\r" to represent carriage return.',
            )
        return Records(starts, ends, nexts, at[kinds == _DELIMITER], error)

    def prepare(self, starts: Ints, ends: Ints) -> None:
        """Locate the escapes of the fields (shape (rows, columns)) about to be decoded."""
        self._columns = starts.shape[1]
        self._rows = starts.shape[0]
        escapes = self._escapes
        field = np.searchsorted(starts.reshape(-1), escapes, side="right") - 1
        inside = field >= 0
        inside[inside] = escapes[inside] < ends.reshape(-1)[field[inside]]
        self._escape_fields = field[inside]
        self._escape_at = escapes[inside]

    def values(self, raw: pa.Array, column: int, where: Where) -> pa.Array:
        """One column's strings: NULL where the raw field is the NULL marker, else unescaped.

        Only the fields that hold an escape (known from the scan) are unescaped, so a column
        whose only backslashes are NULL markers costs nothing more.
        """
        nulls = pc.equal(raw, pa.scalar(self.null, raw.type)).to_numpy(zero_copy_only=False)
        mine = self._escape_fields % self._columns == column
        if not mine.any():
            return fields.with_nulls(raw, nulls)
        field_rows = self._escape_fields[mine] // self._columns
        holding = np.zeros(self._rows, np.bool_)
        holding[field_rows] = True
        holding &= ~nulls
        if not holding.any():
            return fields.with_nulls(raw, nulls)
        rows = np.flatnonzero(holding)
        # The escaped bytes of those fields decide which replacements are needed.
        after = self._escape_at[mine][holding[field_rows]] + 1
        inside = after < len(self._buf)
        chars = set(np.unique(self._buf[after[inside]]).tolist())
        if not inside.all():
            chars.add(_AT_END)

        def where_row(index: int) -> str:
            return where(int(rows[index]))

        unescaped = _unescape(raw.take(pa.array(rows)), chars, where_row)
        raw = pc.replace_with_mask(raw, pa.array(holding), unescaped)
        return fields.with_nulls(raw, nulls)


def _unescape(raw: pa.Array, escaped: set[int], where: Where) -> pa.Array:
    """Column-wide replacements for the ``escaped`` bytes; octal and hex escapes (and a
    trailing backslash) are decoded one value at a time."""
    typ = raw.type
    values = raw
    if ord("\\") in escaped:
        values = pc.replace_substring(values, b"\\\\", b"\x00")  # NUL: never in the data
    for char, value in _LETTERS.items():
        if char in escaped:
            values = pc.replace_substring(values, b"\\" + bytes([char]), value)
    plain = escaped - _LETTERS.keys() - _NUMERIC - {ord("\\"), _AT_END}
    if len(plain) <= _MAX_PLAIN:
        for char in sorted(plain):
            values = pc.replace_substring(values, b"\\" + bytes([char]), bytes([char]))
    left = pc.match_substring(values, "\\")
    if ord("\\") in escaped:
        values = pc.replace_substring(values, b"\x00", b"\\")
    rows = np.flatnonzero(left.to_numpy(zero_copy_only=False))
    if len(rows) == 0:
        return values
    originals = raw.take(pa.array(rows)).to_pylist()
    decoded = [
        _unescape_one(value, where, int(row)) for value, row in zip(originals, rows, strict=True)
    ]
    mask = np.zeros(len(raw), np.bool_)
    mask[rows] = True
    return pc.replace_with_mask(values, pa.array(mask), pa.array(decoded, typ))


def _unescape_one(value: bytes, where: Where, row: int) -> bytes:
    def replace(match: re.Match[bytes]) -> bytes:
        octal, hexa, char = match.groups()
        if octal is not None:
            return bytes([int(octal, 8) & 0xFF])
        if hexa is not None:
            return bytes([int(hexa, 16)])
        if char is None:
            return b""  # a backslash at the very end of the data is dropped
        return _LETTERS.get(char[0], char)

    result = _ESCAPE.sub(replace, value)
    if b"\x00" in result:
        raise fields.invalid_encoding(b"\x00", where(row))
    try:
        result.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fields.invalid_encoding(result[exc.start :], where(row)) from None
    return result
