"""One CopyData message per row, as PostgreSQL sends COPY TO data.

The protocol lets CopyData boundaries fall anywhere, but clients parse COPY OUT data a
message at a time: psycopg reads one row per message, and the ADBC driver expects the
binary file header and the first tuple in the first message. The message headers are one
more column-wise piece of the same join that lays out the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.wire.encode import buffers

Piece: TypeAlias = "pa.Array | bytes | np.ndarray[Any, Any]"


def message_pieces(pieces: Sequence[Piece], rows: int, first: bytes = b"") -> list[Piece]:
    """``pieces`` preceded by a CopyData header per row (and ``first`` inside row 0's)."""
    lengths = np.zeros(rows, np.int64)
    lengths[0] += len(first)
    for piece in pieces:
        if isinstance(piece, bytes):
            lengths += len(piece)
        elif isinstance(piece, np.ndarray):
            lengths += piece.shape[1] if piece.ndim == 2 else piece.itemsize
        else:
            lengths += pc.fill_null(pc.binary_length(piece), 0).to_numpy(zero_copy_only=False)
    header = np.empty(rows, np.dtype([("type", "S1"), ("length", ">i4")]))
    header["type"] = b"d"
    header["length"] = lengths + 4
    framed: list[Piece] = [header.view(np.uint8).reshape(rows, 5)]
    if first:
        offsets = np.full(rows + 1, len(first), np.int64)
        offsets[0] = 0
        framed.append(buffers.from_offsets(offsets, np.frombuffer(first, np.uint8), None))
    return framed + list(pieces)


def as_array(piece: Piece) -> pa.Array | bytes:
    """A byte-matrix piece as a binary array, for joins that take arrays."""
    return buffers.fixed(piece, None) if isinstance(piece, np.ndarray) else piece
