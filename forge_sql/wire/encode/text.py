"""Text output format: each value exactly as PostgreSQL's type output function prints it.

The Arrow type decides the printing (the engine chose the OID from it); the OID only picks
between a PostgreSQL array and JSON for lists, and the time zone handling of timestamps.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.errors import FeatureNotSupported
from forge_sql.seam import oids
from forge_sql.wire.encode import arrays, buffers, floats, intervals, nested, numeric, temporal

_HEX = (
    np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2").view(np.uint8).reshape(256, 2)
)
_UUID_DASHES = (8, 13, 18, 23)


def encode_text(array: pa.Array | pa.ChunkedArray, type_oid: int) -> pa.Array:
    """PostgreSQL text output of every value of ``array`` (binary array, nulls kept)."""
    return text_of(buffers.as_array(array), type_oid)


def text_of(array: pa.Array, type_oid: int) -> pa.Array:
    typ = array.type
    if pa.types.is_dictionary(typ):
        array = array.dictionary_decode()
        typ = array.type
    if pa.types.is_null(typ):
        return pa.nulls(len(array), pa.binary())
    if pa.types.is_boolean(typ):
        return pc.if_else(array, pa.scalar(b"t"), pa.scalar(b"f"))
    if pa.types.is_integer(typ) or pa.types.is_decimal(typ):
        return numeric.numeric_text(array)
    if pa.types.is_floating(typ):
        return floats.float_text(array)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return buffers.as_binary(array)  # text, varchar, uuid, json: as they are
    if pa.types.is_fixed_size_binary(typ) and type_oid == oids.UUID and typ.byte_width == 16:
        return _uuid_text(array)
    if (
        pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_fixed_size_binary(typ)
    ):
        return bytea_text(array)
    if pa.types.is_date(typ):
        return temporal.date_text(array)
    if pa.types.is_time(typ):
        return temporal.time_text(array)
    if pa.types.is_timestamp(typ):
        if type_oid == oids.TIMESTAMPTZ:
            return temporal.timestamptz_text(array)
        return temporal.timestamp_text(array)
    if pa.types.is_interval(typ):
        return intervals.interval_text(array)
    if arrays.is_list(typ) and type_oid in oids.ELEMENT_OF:
        return arrays.array_text(array, oids.ELEMENT_OF[type_oid], text_of)
    if arrays.is_list(typ) or pa.types.is_struct(typ) or pa.types.is_map(typ):
        return nested.json_text(array)
    raise FeatureNotSupported(f"no text output for Arrow type {typ} (type OID {type_oid})")


def _hex(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Lowercase hex digits of every value: (offsets from 0, hex bytes)."""
    if pa.types.is_fixed_size_binary(array.type):
        width = array.type.byte_width
        offs = np.arange(len(array) + 1, dtype=np.int64) * width
        raw = np.frombuffer(array.buffers()[1], np.uint8)[array.offset * width :]
        return 2 * offs, _HEX[raw[: len(array) * width]].reshape(-1)
    array = buffers.as_binary(array)
    offs = buffers.offsets(array)
    raw = buffers.data(array)[int(offs[0]) : int(offs[-1])]
    return 2 * (offs - offs[0]), _HEX[raw].reshape(-1)


def bytea_text(array: pa.Array) -> pa.Array:
    """``\\x`` and lowercase hex (bytea_output = hex)."""
    offs, digits = _hex(array)
    hexed = buffers.from_offsets(offs, digits, buffers.valid_mask(array))
    return pc.binary_join_element_wise(b"\\x", hexed, b"")


def _uuid_text(array: pa.Array) -> pa.Array:
    _, digits = _hex(array)
    n = len(array)
    chars = np.full((n, 36), ord("-"), np.uint8)
    hex_cols = [i for i in range(36) if i not in _UUID_DASHES]
    chars[:, hex_cols] = digits.reshape(n, 32)
    return buffers.fixed(chars, buffers.valid_mask(array))
