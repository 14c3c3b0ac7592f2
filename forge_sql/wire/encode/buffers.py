"""Arrow binary arrays built straight from numpy buffers, so no encoder touches values one by one.

Every encoder returns a ``binary`` (or ``large_binary``) array: value i is the wire bytes of
row i, null where the input is null.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]

_INT32_MAX = 2**31 - 1


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array with dictionaries decoded (DuckDB ENUMs arrive as dictionaries)."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            values = values.chunk(0)
        elif values.num_chunks == 0:
            values = pa.array([], values.type)
        else:
            values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values


def valid_mask(array: pa.Array) -> Bools | None:
    """Per-row validity as numpy booleans, or None when the array has no nulls."""
    if array.null_count == 0:
        return None
    mask: Bools = pc.is_valid(array).to_numpy(zero_copy_only=False)
    return mask


def _bitmap(valid: Bools | None) -> pa.Buffer | None:
    if valid is None or valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def as_binary(array: pa.Array) -> pa.Array:
    """View a string array as binary (zero-copy); other arrays are returned unchanged."""
    if pa.types.is_string(array.type):
        return array.view(pa.binary())
    if pa.types.is_large_string(array.type):
        return array.view(pa.large_binary())
    return array


def offsets(array: pa.Array) -> Ints:
    """The n + 1 value offsets of a (large) binary or string array, slice offset applied."""
    width = (
        np.int64
        if pa.types.is_large_binary(array.type) or pa.types.is_large_string(array.type)
        else np.int32
    )
    raw = np.frombuffer(array.buffers()[1], dtype=width)
    result: Ints = raw[array.offset : array.offset + len(array) + 1].astype(np.int64, copy=False)
    return result


def data(array: pa.Array) -> Bytes:
    """The whole data buffer of a (large) binary or string array as uint8 (empty if none)."""
    buf = array.buffers()[2]
    if buf is None:
        return np.zeros(0, np.uint8)
    result: Bytes = np.frombuffer(buf, dtype=np.uint8)
    return result


def from_offsets(
    offs: Ints, payload: npt.NDArray[np.generic] | pa.Buffer, valid: Bools | None
) -> pa.Array:
    """A binary array from offsets (starting at 0) and a payload buffer."""
    n = len(offs) - 1
    large = int(offs[-1]) > _INT32_MAX
    typ = pa.large_binary() if large else pa.binary()
    offs_buf = pa.py_buffer(offs.astype(np.int64 if large else np.int32))
    payload_buf = payload if isinstance(payload, pa.Buffer) else pa.py_buffer(payload)
    return pa.Array.from_buffers(typ, n, [_bitmap(valid), offs_buf, payload_buf])


def fixed(values: npt.NDArray[np.generic], valid: Bools | None) -> pa.Array:
    """A binary array whose value i is the bytes of ``values[i]`` (a fixed-width row)."""
    values = np.ascontiguousarray(values)
    n = len(values)
    width = values.itemsize if values.ndim == 1 else values.itemsize * values.shape[1]
    offs = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return from_offsets(offs, values.reshape(-1).view(np.uint8), valid)


def from_matrix(chars: Bytes, lengths: Ints, valid: Bools | None) -> pa.Array:
    """A binary array whose value i is the first ``lengths[i]`` bytes of row i of ``chars``."""
    n, width = chars.shape
    keep = np.arange(width) < lengths[:, None]
    offs = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offs[1:])
    return from_offsets(offs, chars[keep], valid)


def constant(value: bytes, n: int) -> pa.Array:
    """``value`` repeated n times, as a binary array."""
    return fixed(
        np.full(n, value, dtype=f"S{len(value)}") if value else np.zeros((n, 0), np.uint8), None
    )


def digits(values: Ints, width: int) -> Bytes:
    """ASCII decimal digits of non-negative ``values``, zero padded to ``width`` columns."""
    out = np.empty((len(values), width), np.uint8)
    rest = values.copy()
    for col in range(width - 1, -1, -1):
        out[:, col] = rest % 10 + 48
        rest //= 10
    return out


def frame(values: pa.Array) -> tuple[npt.NDArray[np.generic], pa.Array, Ints]:
    """Wire framing of one column: big-endian int32 lengths (-1 for NULL), the value bytes
    with NULLs empty and no validity bitmap (so joins need no null handling), and the lengths.
    """
    values = as_binary(values)
    lengths = np.diff(offsets(values))
    valid = valid_mask(values)
    if valid is not None:
        if lengths[~valid].any():
            values = pc.fill_null(values, pa.scalar(b"", values.type))
            lengths = np.diff(offsets(values))
        lengths = np.where(valid, lengths, -1)
        values = pa.Array.from_buffers(
            values.type,
            len(values),
            [None, *values.buffers()[1:]],
            null_count=0,
            offset=values.offset,
        )
    return lengths.astype(">i4"), values, lengths
