"""COPY TO in binary format: each tuple is an int16 field count, then per field an int32
length (-1 for NULL) and the value's binary send format.

That is the body of a DataRow, so the tuples are framed column-wise by the same machinery
as ``encode.rows`` (numpy length prefixes, one ``binary_join_element_wise``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from forge_sql.wire.copy import framing
from forge_sql.wire.encode import buffers, framer
from forge_sql.wire.encode.binary import binary_spec, encode_binary
from forge_sql.wire.encode.rows import Piece, _as_matrix, _join, _merge

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + struct.pack(">ii", 0, 0)  # no flags, no header extension
TRAILER = struct.pack(">h", -1)


def binary_rows(
    batch: pa.RecordBatch, type_oids: Sequence[int], first: bytes | None = None
) -> pa.Buffer | bytes:
    """The tuples of ``batch`` in binary COPY format; with ``first`` given, one CopyData
    message per tuple, ``first`` opening the first (``framing``)."""
    rows, columns = batch.num_rows, batch.num_columns
    if rows == 0:
        return b""
    if framer.compiled is not None:
        specs = [binary_spec(v, oid) for v, oid in zip(batch.columns, type_oids, strict=True)]
        framed: bytes = framer.compiled.fields(
            rows, specs, b"" if first is None else b"d", first or b""
        )
        return framed
    encoded = [encode_binary(v, oid) for v, oid in zip(batch.columns, type_oids, strict=True)]
    total = rows * (2 + 4 * columns)
    pieces: list[Piece] = [np.full(rows, columns, ">i2").view(np.uint8).reshape(rows, 2)]
    for values in encoded:
        prefix, body, lengths = buffers.frame(values)
        total += int(np.maximum(lengths, 0).sum())
        pieces.append(prefix.view(np.uint8).reshape(rows, 4))
        pieces.append(_as_matrix(body, lengths))
    if first is not None:
        pieces = framing.message_pieces(pieces, rows, first)
        total += 5 * rows + len(first)
    return _join(_merge(pieces), total)
