"""COPY TO in text and CSV format: whole columns of PostgreSQL text output, escaped or
quoted as ``CopyAttributeOutText`` / ``CopyAttributeOutCSV`` do, joined into rows at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy import framing
from forge_sql.wire.encode import buffers, framer
from forge_sql.wire.encode.text import encode_text

# CopyAttributeOutText: these control characters get letter escapes, backslash and the
# delimiter a backslash; other control characters are sent as they are.
_TEXT_ESCAPES = {
    ord("\\"): b"\\\\",
    ord("\b"): b"\\b",
    ord("\f"): b"\\f",
    ord("\n"): b"\\n",
    ord("\r"): b"\\r",
    ord("\t"): b"\\t",
    ord("\v"): b"\\v",
}
# Every byte the text output of these Arrow types can hold (digits, signs, "Infinity",
# "NaN", " BC", "infinity", time zones): a column of them needs no scan unless the delimiter
# is one of these.
_NUMBER = b"0123456789-+.eEInfinityaN"
_TEMPORAL = b"0123456789-+:. BCinfty"


def text_rows(
    batch: pa.RecordBatch, type_oids: Sequence[int], fmt: CopyFormat, first: bytes | None = None
) -> pa.Buffer | bytes:
    """Rows in text format: escaped values joined by the delimiter, ending with a newline."""
    delimiter = fmt.delimiter.encode()
    escapes = dict(_TEXT_ESCAPES)
    escapes.setdefault(delimiter[0], b"\\" + delimiter)
    columns = []
    for values, oid in zip(batch.columns, type_oids, strict=True):
        text = encode_text(values, oid)
        if may_contain(values.type, delimiter):
            text = _escape(text, escapes)
        columns.append(text)
    return delimited_rows(columns, fmt.null.encode(), delimiter, batch.num_rows, first)


def delimited_rows(
    columns: Sequence[pa.Array], null: bytes, delimiter: bytes, rows: int, first: bytes | None
) -> pa.Buffer | bytes:
    """Rows of the (escaped or quoted) ``columns``: ``null`` for NULL, ``delimiter`` between
    values, a newline at the end; with ``first`` given, CopyData messages (``join_rows``)."""
    if rows == 0:
        return b""
    if framer.compiled is not None:
        specs = [framer.spec(c) for c in columns]
        framed: bytes = framer.compiled.delimited(
            rows, specs, [null] * len(specs), delimiter, first is not None, first or b""
        )
        return framed
    pieces: list[pa.Array | bytes] = []
    for text in columns:
        pieces += [pc.fill_null(text, pa.scalar(null, text.type)), delimiter]
    pieces[-1] = b"\n"
    return join_rows(pieces, rows, first)


def text_header(names: Sequence[str], fmt: CopyFormat) -> bytes:
    """The HEADER line of a text COPY: column names escaped as values are."""
    delimiter = fmt.delimiter.encode()
    escapes = dict(_TEXT_ESCAPES)
    escapes.setdefault(delimiter[0], b"\\" + delimiter)
    fields = [b"".join(escapes.get(b, bytes([b])) for b in n.encode()) for n in names]
    return delimiter.join(fields) + b"\n"


def may_contain(typ: pa.DataType, special: bytes) -> bool:
    """Whether the text output of Arrow type ``typ`` can hold a byte that needs escaping or
    quoting, when ``special`` bytes are special besides control characters and quotes."""
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_boolean(typ) or pa.types.is_null(typ):
        alphabet = b"tf"
    elif pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        alphabet = _NUMBER
    elif pa.types.is_date(typ) or pa.types.is_timestamp(typ) or pa.types.is_time(typ):
        alphabet = _TEMPORAL
    else:
        return True
    return any(byte in alphabet for byte in special)


def _escape(text: pa.Array, escapes: dict[int, bytes]) -> pa.Array:
    """Backslash escapes, one column-wide replacement per special byte present."""
    found = present(text, escapes)
    if ord("\\") in found:  # first: the other escapes add backslashes
        text = pc.replace_substring(text, b"\\", escapes[ord("\\")])
    for byte in found - {ord("\\")}:
        text = pc.replace_substring(text, bytes([byte]), escapes[byte])
    return text


def present(text: pa.Array, candidates: Iterable[int]) -> set[int]:
    """Which of the ``candidates`` bytes occur in the values of ``text`` (one copy of the
    data, then a memchr per byte: cheaper than any per-value test)."""
    offsets = buffers.offsets(text)
    if len(offsets) < 2 or offsets[-1] == offsets[0]:
        return set()
    raw = buffers.data(text)[int(offsets[0]) : int(offsets[-1])].tobytes()
    return {byte for byte in candidates if raw.find(bytes([byte])) >= 0}


def join_rows(
    pieces: Sequence[pa.Array | bytes], rows: int, first: bytes | None = None
) -> pa.Buffer | bytes:
    """Row i is the concatenation of value i of every piece (bytes are the same each row);
    the data buffer of that one join is the output.

    With ``first`` given, each row is framed as one CopyData message, ``first`` opening
    the first one (``framing``).
    """
    if rows == 0:
        return b""
    if first is not None:
        pieces = [framing.as_array(p) for p in framing.message_pieces(pieces, rows, first)]
    large = any(isinstance(p, pa.Array) and pa.types.is_large_binary(p.type) for p in pieces)
    target = pa.large_binary() if large else pa.binary()
    args = [
        pa.scalar(p, target)
        if isinstance(p, bytes)
        else (p if p.type == target else p.cast(target))
        for p in pieces
    ]
    try:
        joined = pc.binary_join_element_wise(*args, pa.scalar(b"", target))
    except pa.ArrowCapacityError:
        if large:
            raise
        args = [a.cast(pa.large_binary()) for a in args]
        joined = pc.binary_join_element_wise(*args, pa.scalar(b"", pa.large_binary()))
    offsets = buffers.offsets(joined)
    data = joined.buffers()[2]
    start, end = int(offsets[0]), int(offsets[-1])
    if data is None:
        return b""
    return data.slice(start, end - start) if (start, end) != (0, data.size) else data
