"""COPY TO in CSV format, quoting as ``CopyAttributeOutCSV`` does: a value is quoted when it
holds the delimiter, the quote, CR or LF, or equals the NULL string (so an empty string is
``""`` while NULL is empty), or its column is in FORCE_QUOTE; NULL is never quoted."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy.text_out import delimited_rows, may_contain, present
from forge_sql.wire.encode import buffers
from forge_sql.wire.encode.text import encode_text

Bools = npt.NDArray[np.bool_]
_END_MARKER = b"\\."  # quoted when it is a whole line, so a reader does not stop there


def csv_rows(
    batch: pa.RecordBatch, type_oids: Sequence[int], fmt: CopyFormat, first: bytes | None = None
) -> pa.Buffer | bytes:
    """Rows in CSV format: quoted where needed, joined by the delimiter, ending with LF."""
    delimiter = fmt.delimiter.encode()
    forced = _forced(fmt.force_quote, batch.schema.names)
    single = batch.num_columns == 1
    columns = []
    for values, oid, force in zip(batch.columns, type_oids, forced, strict=True):
        text = encode_text(values, oid)
        need = None if force else _needs_quotes(text, values.type, fmt, single)
        if force or need is not None:
            text = _quote(text, need, fmt)
        columns.append(text)
    return delimited_rows(columns, fmt.null.encode(), delimiter, batch.num_rows, first)


def csv_header(names: Sequence[str], fmt: CopyFormat) -> bytes:
    """The HEADER line: column names, quoted by the same rules as values."""
    specials = (fmt.delimiter + fmt.quote + "\r\n").encode()
    quote, escape = fmt.quote.encode(), fmt.escape.encode()
    fields = []
    for name in names:
        raw = name.encode()
        if (
            any(b in specials for b in raw)
            or raw == fmt.null.encode()
            or (len(names) == 1 and raw == _END_MARKER)
        ):
            if escape != quote:
                raw = raw.replace(escape, escape + escape)
            raw = quote + raw.replace(quote, escape + quote) + quote
        fields.append(raw)
    return fmt.delimiter.encode().join(fields) + b"\n"


def _forced(force_quote: Sequence[str], names: Sequence[str]) -> list[bool]:
    if "*" in force_quote:
        return [True] * len(names)
    chosen = set(force_quote)
    return [name in chosen for name in names]


def _needs_quotes(text: pa.Array, typ: pa.DataType, fmt: CopyFormat, single: bool) -> Bools | None:
    """Per value: whether it must be quoted; None when no value of the column must."""
    specials = (fmt.delimiter + fmt.quote + "\r\n").encode()
    null = fmt.null.encode()
    need: Bools | None = None
    if may_contain(typ, specials) and present(text, specials):
        need = _holding(text, specials)
    if null == b"":
        equal = np.diff(buffers.offsets(text)) == 0
    elif may_contain(typ, null):
        equal = _is(text, null)
    else:
        equal = None
    if single and may_contain(typ, _END_MARKER):
        marker_rows = _is(text, _END_MARKER)
        equal = marker_rows if equal is None else equal | marker_rows
    if equal is not None:
        valid = buffers.valid_mask(text)
        if valid is not None:
            equal = equal & valid
        need = equal if need is None else need | equal
    if need is None or not need.any():
        return None
    return need


def _is(text: pa.Array, value: bytes) -> Bools:
    equal: Bools = (
        pc.equal(text, pa.scalar(value, text.type)).fill_null(False).to_numpy(zero_copy_only=False)
    )
    return equal


def _holding(text: pa.Array, specials: bytes) -> Bools:
    """Per value: whether it holds one of the ``specials`` bytes (numpy over the data)."""
    offsets = buffers.offsets(text)
    first = int(offsets[0])
    lut = np.zeros(256, np.bool_)
    lut[list(specials)] = True
    hits = np.flatnonzero(lut[buffers.data(text)[first : int(offsets[-1])]]) + first
    holding: Bools = np.searchsorted(hits, offsets[1:]) > np.searchsorted(hits, offsets[:-1])
    return holding


def _quote(text: pa.Array, need: Bools | None, fmt: CopyFormat) -> pa.Array:
    """Quote the values where ``need`` (all non-NULL values when None): escape characters
    and quotes inside get the escape character before them."""
    quote, escape = fmt.quote.encode(), fmt.escape.encode()
    subset = text if need is None else text.filter(pa.array(need))
    found = present(subset, (quote[0], escape[0]))
    if escape != quote and escape[0] in found:
        subset = pc.replace_substring(subset, escape, escape + escape)
    if quote[0] in found:
        subset = pc.replace_substring(subset, quote, escape + quote)
    mark = pa.scalar(quote, subset.type)  # of the column's type: it may be large_binary
    quoted = pc.binary_join_element_wise(mark, subset, mark, pa.scalar(b"", subset.type))
    if need is None:
        return quoted
    return pc.replace_with_mask(text, pa.array(need), quoted)
