"""DataRow messages for a whole RecordBatch, built column-wise.

One ``binary_join_element_wise`` lays out every row; its data buffer is the wire output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.errors import InvalidParameterValue, ProtocolError
from forge_sql.wire.encode import buffers, framer
from forge_sql.wire.encode.binary import binary_of, binary_spec
from forge_sql.wire.encode.text import text_of
from forge_sql.wire.messages import data_row

TEXT, BINARY = 0, 1
_INT32_MAX = 2**31 - 1
SMALL_BATCH_ROWS = 16  # at most this many rows take the per-row path
Bytes = npt.NDArray[np.uint8]
Piece: TypeAlias = "Bytes | pa.Array"  # a (rows, width) byte matrix or one value per row


def result_formats(formats: Sequence[int], columns: int) -> list[int]:
    """Bind's result-column format codes: none means all text, one applies to all."""
    if len(formats) == 0:
        return [TEXT] * columns
    if len(formats) == 1:
        codes = [formats[0]] * columns
    elif len(formats) == columns:
        codes = list(formats)
    else:
        raise ProtocolError(
            f"bind message has {len(formats)} result formats but query has {columns} columns"
        )
    for code in codes:
        if code not in (TEXT, BINARY):
            raise InvalidParameterValue(f"unsupported format code: {code}")
    return codes


def encode_batch(
    batch: pa.RecordBatch, type_oids: Sequence[int], formats: Sequence[int]
) -> pa.Buffer | bytes:
    """Every row of ``batch`` as consecutive DataRow messages: ``'D'``, int32 length, int16
    column count, then per column int32 length (-1 for NULL) and the value bytes.

    Compiled framing (``framer``) lays the rows out in one pass; without it, runs of
    fixed-width pieces (header, length prefixes, binary numbers without NULLs) are merged in
    numpy first, so they cost one join argument instead of several.
    """
    n, columns = batch.num_rows, batch.num_columns
    codes = result_formats(formats, columns)
    if len(type_oids) != columns:
        raise ValueError(f"{len(type_oids)} type OIDs for {columns} columns")
    if n == 0:
        return b""
    if n <= SMALL_BATCH_ROWS:
        return _few_rows(batch, type_oids, codes)
    if framer.compiled is not None:
        specs = [
            binary_spec(column, oid) if code == BINARY else framer.spec(text_of(column, oid))
            for column, oid, code in zip(batch.columns, type_oids, codes, strict=True)
        ]
        framed: bytes = framer.compiled.fields(n, specs, b"D", b"")
        return framed
    encoded = [
        binary_of(column, oid) if code == BINARY else text_of(column, oid)
        for column, oid, code in zip(batch.columns, type_oids, codes, strict=True)
    ]
    row_length = np.full(n, 4 + 2 + 4 * columns, np.int64)
    pieces: list[Piece] = []
    for values in encoded:
        prefix, body, lengths = buffers.frame(values)
        row_length += np.maximum(lengths, 0)
        pieces.append(prefix.view(np.uint8).reshape(n, 4))
        pieces.append(_as_matrix(body, lengths))
    header = np.empty(n, np.dtype([("type", "S1"), ("length", ">i4"), ("columns", ">i2")]))
    header["type"] = b"D"
    header["length"] = row_length
    header["columns"] = columns
    pieces.insert(0, header.view(np.uint8).reshape(n, 7))
    return _join(_merge(pieces), int(row_length.sum()) + n)


def _few_rows(batch: pa.RecordBatch, type_oids: Sequence[int], codes: Sequence[int]) -> bytes:
    """A handful of rows: per-row framing costs less than the columnar set-up (SELECT 1)."""
    cells = [
        _few_values(column, oid, code)
        for column, oid, code in zip(batch.columns, type_oids, codes, strict=True)
    ]
    return b"".join([data_row(row) for row in zip(*cells, strict=True)])


def _few_values(column: pa.Array, oid: int, code: int) -> list[bytes | None]:
    """One column of a handful of rows; integers in text print as Python prints them,
    which is PostgreSQL's output too and skips a compute kernel's set-up."""
    if code == TEXT and pa.types.is_integer(column.type):
        return [None if v is None else str(v).encode() for v in column.to_pylist()]
    values: list[bytes | None] = (
        binary_of(column, oid) if code == BINARY else text_of(column, oid)
    ).to_pylist()
    return values


def _as_matrix(body: pa.Array, lengths: npt.NDArray[np.int64]) -> Piece:
    """A fixed-width column without NULLs as a byte matrix, anything else unchanged."""
    width = int(lengths[0])
    if width < 0 or not (lengths == width).all():
        same: pa.Array = body
        return same
    if width == 0:
        return np.zeros((len(body), 0), np.uint8)
    start = int(buffers.offsets(body)[0])
    matrix: Bytes = buffers.data(body)[start : start + width * len(body)].reshape(-1, width)
    return matrix


def _merge(pieces: list[Piece]) -> list[Piece]:
    """Concatenate neighbouring byte matrices."""
    merged: list[Piece] = []
    run: list[Bytes] = []
    for piece in pieces:
        if isinstance(piece, np.ndarray):
            run.append(piece)
            continue
        if run:
            merged.append(np.hstack(run) if len(run) > 1 else run[0])
            run = []
        merged.append(piece)
    if run:
        merged.append(np.hstack(run) if len(run) > 1 else run[0])
    return merged


def _join(pieces: list[Piece], total: int) -> pa.Buffer | bytes:
    if len(pieces) == 1 and isinstance(pieces[0], np.ndarray):
        return pa.py_buffer(np.ascontiguousarray(pieces[0]))
    large = total > _INT32_MAX
    target = pa.large_binary() if large else pa.binary()
    arrays: list[pa.Array] = []
    for piece in pieces:
        array = buffers.fixed(piece, None) if isinstance(piece, np.ndarray) else piece
        arrays.append(array if array.type == target else array.cast(target))
    rows = pc.binary_join_element_wise(*arrays, pa.scalar(b"", target))
    end = int(buffers.offsets(rows)[-1])
    data = rows.buffers()[2]
    return data.slice(0, end) if data.size != end else data
