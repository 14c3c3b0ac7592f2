"""Binary output format: each value as PostgreSQL's type send function writes it.

Fixed-width types come straight from numpy (``astype('>i8')`` and friends, no per-value
work); the OID decides the layout and the Arrow type must be one the engine maps to it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.errors import FeatureNotSupported, InvalidTextRepresentation, NumericValueOutOfRange
from forge_sql.seam import oids
from forge_sql.wire.encode import arrays, buffers, framer, intervals, numeric, temporal, text
from forge_sql.wire.encode.buffers import Bools

_INTS = {
    oids.INT2: (pa.int16(), ">i2"),
    oids.INT4: (pa.int32(), ">i4"),
    oids.INT8: (pa.int64(), ">i8"),
    oids.OID: (pa.uint32(), ">u4"),
}
_FLOATS = {oids.FLOAT4: (pa.float32(), ">f4"), oids.FLOAT8: (pa.float64(), ">f8")}
# Types whose binary form is their text in UTF-8 (textsend, json_send, ...).
_TEXT_LIKE = {oids.TEXT, oids.VARCHAR, oids.BPCHAR, oids.NAME, oids.CHAR, oids.UNKNOWN, oids.JSON}
_NIBBLE = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _NIBBLE[_c] = 10 + _i
_UUID_HEX_COLS = [i for i in range(36) if i not in (8, 13, 18, 23)]


def encode_binary(array: pa.Array | pa.ChunkedArray, type_oid: int) -> pa.Array:
    """PostgreSQL binary send format of every value of ``array`` (binary array, nulls kept)."""
    return binary_of(buffers.as_array(array), type_oid)


def _unsupported(array: pa.Array, type_oid: int) -> FeatureNotSupported:
    name = oids.TYPES[type_oid].name if type_oid in oids.TYPES else str(type_oid)
    return FeatureNotSupported(
        f"binary output of Arrow type {array.type} as type {name} (OID {type_oid}) is not "
        "supported",
        hint="Request text format for this column.",
    )


def binary_of(array: pa.Array, type_oid: int) -> pa.Array:
    typ = array.type
    if pa.types.is_dictionary(typ):
        array = array.dictionary_decode()
        typ = array.type
    valid = buffers.valid_mask(array)
    if pa.types.is_null(typ):
        return pa.nulls(len(array), pa.binary())
    if type_oid in _TEXT_LIKE:
        if pa.types.is_string(typ) or pa.types.is_large_string(typ):
            return buffers.as_binary(array)
        return text.text_of(array, type_oid)
    if type_oid == oids.JSONB:
        return pc.binary_join_element_wise(b"\x01", binary_of(array, oids.JSON), b"")
    fixed = fixed_binary(array, type_oid)
    if fixed is not None:
        return buffers.fixed(fixed, valid)
    if type_oid == oids.NUMERIC and (
        pa.types.is_integer(typ) or pa.types.is_decimal(typ) or pa.types.is_string(typ)
    ):
        return numeric.numeric_binary(array, valid)
    if type_oid == oids.BYTEA and (
        pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
    ):
        return buffers.as_binary(array)
    if type_oid == oids.BYTEA and pa.types.is_fixed_size_binary(typ):
        return array.cast(pa.binary())
    if type_oid == oids.UUID:
        return _uuid_binary(array, valid)
    if type_oid == oids.INTERVAL and pa.types.is_interval(typ):
        return intervals.interval_binary(array, valid)
    if type_oid in oids.ELEMENT_OF and arrays.is_list(typ):
        return arrays.array_binary(array, oids.ELEMENT_OF[type_oid], binary_of, valid)
    raise _unsupported(array, type_oid)


def fixed_binary(array: pa.Array, type_oid: int) -> npt.NDArray[np.generic] | None:
    """The send form of a fixed-width column as numpy, item i holding row i's bytes (NULL
    rows a placeholder), or None when the column's values are not of fixed width."""
    typ = array.type
    if type_oid == oids.BOOL and pa.types.is_boolean(typ):
        flags: npt.NDArray[np.generic] = array.fill_null(False).to_numpy(zero_copy_only=False)
        return flags.astype(np.uint8)
    if type_oid in _INTS and pa.types.is_integer(typ):
        target, layout = _INTS[type_oid]
        ints: npt.NDArray[np.generic] = _checked(array, target).to_numpy().astype(layout)
        return ints
    if type_oid in _FLOATS and (pa.types.is_floating(typ) or pa.types.is_integer(typ)):
        target, layout = _FLOATS[type_oid]
        floats: npt.NDArray[np.generic] = pc.cast(array, target, safe=False).fill_null(0).to_numpy()
        return floats.astype(layout)
    if type_oid == oids.DATE and pa.types.is_date(typ):
        return temporal.date_binary(array)
    if type_oid == oids.TIME and pa.types.is_time(typ):
        return temporal.time_binary(array)
    if type_oid in (oids.TIMESTAMP, oids.TIMESTAMPTZ) and pa.types.is_timestamp(typ):
        if type_oid == oids.TIMESTAMP and typ.tz is not None:
            array = pc.local_timestamp(array)  # wall-clock time, as the text form shows
        return temporal.timestamp_binary(array)
    return None


def binary_spec(array: pa.Array | pa.ChunkedArray, type_oid: int) -> framer.Spec:
    """The binary send form of a column as the compiled framer takes it: fixed-width values
    straight from numpy with the column's own validity bitmap, others as a binary array."""
    array = buffers.as_array(array)
    fixed = None if pa.types.is_dictionary(array.type) else fixed_binary(array, type_oid)
    if fixed is not None and (spec := framer.fixed_spec(fixed, array)) is not None:
        return spec
    return framer.spec(binary_of(array, type_oid))


def _checked(array: pa.Array, target: pa.DataType) -> pa.Array:
    """``array`` as ``target`` with nulls zeroed; values that do not fit are an error."""
    if array.type != target:
        try:
            array = pc.cast(array, target)
        except pa.ArrowInvalid as exc:
            raise NumericValueOutOfRange(f"value out of range for {target}: {exc}") from None
    return array.fill_null(0)


def _uuid_binary(array: pa.Array, valid: Bools | None) -> pa.Array:
    """16 bytes from DuckDB's canonical ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` strings."""
    typ = array.type
    if pa.types.is_fixed_size_binary(typ) and typ.byte_width == 16:
        return array.cast(pa.binary())
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        raise _unsupported(array, oids.UUID)
    filled = buffers.as_binary(
        pc.fill_null(array, pa.scalar("00000000-0000-0000-0000-000000000000", typ))
    )
    offs = buffers.offsets(filled)
    n = len(filled)
    if (np.diff(offs) != 36).any():
        raise InvalidTextRepresentation("uuid value is not in canonical 36-character form")
    chars = buffers.data(filled)[int(offs[0]) : int(offs[0]) + 36 * n].reshape(n, 36)
    nibbles = _NIBBLE[chars[:, _UUID_HEX_COLS]]
    if (nibbles == 255).any():
        raise InvalidTextRepresentation("uuid value contains a non-hexadecimal digit")
    raw = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    return buffers.fixed(raw.astype(np.uint8), valid)
