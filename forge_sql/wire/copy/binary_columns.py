"""Typed Arrow columns from the fields of binary COPY tuples, decoded by type OID.

Fixed-width types are gathered and byte-swapped with numpy, strings and bytea are cut from
the data without a copy per value; numeric, arrays and rarer types go through the
parameter decoder one value at a time.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.errors import ForgeError, InvalidBinaryRepresentation
from forge_sql.seam import oids
from forge_sql.wire.copy.fields import Bools, Ints, invalid_encoding
from forge_sql.wire.decode.binary import decode_binary

Where = Callable[[int], str]  # row index -> error context

_PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400_000_000
_INT32_MAX, _INT64_MAX = 2**31 - 1, 2**63 - 1
_INT32_MIN, _INT64_MIN = -(2**31), -(2**63)
_INT32_MAX_ARROW = 2**31 - 1

# (big-endian layout, Arrow type) of the plain fixed-width types.
_NUMBERS: dict[int, tuple[str, pa.DataType]] = {
    oids.INT2: (">i2", pa.int16()),
    oids.INT4: (">i4", pa.int32()),
    oids.INT8: (">i8", pa.int64()),
    oids.OID: (">u4", pa.uint32()),
    oids.FLOAT4: (">f4", pa.float32()),
    oids.FLOAT8: (">f8", pa.float64()),
    oids.TIME: (">i8", pa.time64("us")),
}
# The fixed-width types decoded column-wise by ``_fixed`` (timetz and "char" go one by one).
_WIDTHS = {
    oid: width
    for oid, width in oids.SEND_WIDTHS.items()
    if oid in _NUMBERS
    or oid in (oids.BOOL, oids.DATE, oids.TIMESTAMP, oids.TIMESTAMPTZ, oids.INTERVAL, oids.UUID)
}
_TEXT_LIKE = {oids.TEXT, oids.VARCHAR, oids.BPCHAR, oids.NAME, oids.CHAR, oids.UNKNOWN, oids.JSON}
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_UUID_HEX_COLUMNS = [i for i in range(36) if i not in (8, 13, 18, 23)]


def column(data: bytes, offsets: Ints, sizes: Ints, type_oid: int, where: Where) -> pa.Array:
    """The values of one column: ``sizes`` -1 is NULL, else ``data[offset:offset + size]``."""
    valid = sizes >= 0
    fixed = _WIDTHS.get(type_oid)
    if fixed is not None:
        wrong = valid & (sizes != fixed)
        if wrong.any():
            raise InvalidBinaryRepresentation(
                "incorrect binary data format", context=where(int(np.argmax(wrong)))
            )
        raw = _gather(data, offsets, fixed)
        return _fixed(raw, valid, type_oid, where)
    if type_oid in _TEXT_LIKE:
        return _text(_spans(data, offsets, sizes), where)
    if type_oid == oids.BYTEA:
        return _spans(data, offsets, sizes)
    if type_oid == oids.JSONB:
        version = _gather(data, offsets, 1)[:, 0]
        wrong = valid & ((sizes < 1) | (version != 1))
        if wrong.any():
            raise InvalidBinaryRepresentation(
                "unsupported jsonb version number", context=where(int(np.argmax(wrong)))
            )
        return _text(_spans(data, offsets + 1, np.where(valid, sizes - 1, -1)), where)
    return _one_by_one(data, offsets, sizes, type_oid, where)


def _gather(data: bytes, offsets: Ints, size: int) -> np.ndarray:
    """(rows, size) bytes at ``offsets``; rows of NULLs read whatever is there (clipped)."""
    buf = np.frombuffer(data, np.uint8)
    index = offsets[:, None] + np.arange(size, dtype=np.int64)[None, :]
    return buf.take(index, mode="clip")


def _validity(valid: Bools) -> pa.Buffer | None:
    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _numbers(values: np.ndarray, valid: Bools, typ: pa.DataType) -> pa.Array:
    native = np.ascontiguousarray(values.astype(values.dtype.newbyteorder("=")))
    return pa.Array.from_buffers(typ, len(native), [_validity(valid), pa.py_buffer(native)])


def _fixed(raw: np.ndarray, valid: Bools, type_oid: int, where: Where) -> pa.Array:
    count = len(raw)
    if type_oid in _NUMBERS:
        layout, typ = _NUMBERS[type_oid]
        values = np.ascontiguousarray(raw).view(layout).reshape(count)
        return _numbers(values, valid, typ)
    if type_oid == oids.BOOL:
        flags = raw[:, 0] != 0
        return pa.array(flags, pa.bool_(), mask=~valid)
    if type_oid == oids.DATE:
        days = np.ascontiguousarray(raw).view(">i4").reshape(count).astype(np.int64)
        shifted = _shift(days, _PG_EPOCH_DAYS, _INT32_MIN, _INT32_MAX, valid, "date", where)
        return _numbers(shifted.astype(np.int32), valid, pa.date32())
    if type_oid in (oids.TIMESTAMP, oids.TIMESTAMPTZ):
        micros = np.ascontiguousarray(raw).view(">i8").reshape(count).astype(np.int64)
        shifted = _shift(micros, _PG_EPOCH_US, _INT64_MIN, _INT64_MAX, valid, "timestamp", where)
        typ = pa.timestamp("us", "UTC" if type_oid == oids.TIMESTAMPTZ else None)
        return _numbers(shifted, valid, typ)
    if type_oid == oids.INTERVAL:
        return _interval(raw, valid, where)
    if type_oid == oids.UUID:
        return _uuid(raw, valid)
    raise AssertionError(f"no fixed-width decoder for type OID {type_oid}")


def _shift(
    values: Ints, epoch: int, low: int, high: int, valid: Bools, name: str, where: Where
) -> Ints:
    """PostgreSQL's 2000-01-01 epoch to Arrow's 1970-01-01, keeping +-infinity as DuckDB
    stores it (the largest value, and its negation)."""
    plus, minus = values == high, values == low
    limit = high - epoch
    out = valid & ~plus & ~minus & ((values > limit) | (values < -high - epoch))
    if out.any():
        raise InvalidBinaryRepresentation(
            f"{name} out of range", context=where(int(np.argmax(out)))
        )
    shifted: Ints = np.where(plus, high, np.where(minus, -high, values + epoch))
    return shifted


def _interval(raw: np.ndarray, valid: Bools, where: Where) -> pa.Array:
    """int64 microseconds, int32 days, int32 months -> Arrow's month_day_nano."""
    count = len(raw)
    packed = np.ascontiguousarray(raw)
    micros = packed[:, :8].copy().view(">i8").reshape(count).astype(np.int64)
    days = packed[:, 8:12].copy().view(">i4").reshape(count).astype(np.int32)
    months = packed[:, 12:].copy().view(">i4").reshape(count).astype(np.int32)
    too_big = valid & (np.abs(micros) > _INT64_MAX // 1000)
    if too_big.any():
        raise InvalidBinaryRepresentation(
            "interval out of range", context=where(int(np.argmax(too_big)))
        )
    out = np.zeros(count, np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")]))
    out["months"], out["days"], out["nanos"] = months, days, micros * 1000
    return pa.Array.from_buffers(
        pa.month_day_nano_interval(), count, [_validity(valid), pa.py_buffer(out)]
    )


def _uuid(raw: np.ndarray, valid: Bools) -> pa.Array:
    """The canonical ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` text of 16-byte UUIDs."""
    count = len(raw)
    digits = np.empty((count, 32), np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 15]
    chars = np.full((count, 36), ord("-"), np.uint8)
    chars[:, _UUID_HEX_COLUMNS] = digits
    offsets = np.arange(0, 36 * (count + 1), 36, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), count, [_validity(valid), pa.py_buffer(offsets), pa.py_buffer(chars)]
    )


def _spans(data: bytes, offsets: Ints, sizes: Ints) -> pa.Array:
    """Binary values ``data[offset:offset + size]`` (NULL where size is -1): one zero-copy
    array over all spans and the gaps between them, then a ``take`` of the spans."""
    count = len(offsets)
    valid = sizes >= 0
    if count == 0:
        return pa.array([], pa.binary())
    # In one column the fields are in buffer order; a NULL's empty span is clipped to the data.
    starts = np.minimum(offsets, len(data))
    large = len(data) > _INT32_MAX_ARROW
    bounds = np.empty(2 * count, np.int64 if large else np.int32)
    bounds[0::2] = starts
    bounds[1::2] = starts + np.maximum(sizes, 0)
    typ = pa.large_binary() if large else pa.binary()
    spans = pa.Array.from_buffers(
        typ, 2 * count - 1, [None, pa.py_buffer(bounds), pa.py_buffer(data)]
    )
    values = pc.take(spans, pa.array(np.arange(0, 2 * count, 2, dtype=np.int64)))
    if valid.all():
        return values
    buffers = values.buffers()
    return pa.Array.from_buffers(
        typ, count, [_validity(valid), buffers[1], buffers[2]], offset=values.offset
    )


def _text(values: pa.Array, where: Where) -> pa.Array:
    """Binary values as UTF-8 strings; invalid UTF-8 or NUL is 22021, as ``textrecv``."""
    typ = pa.large_string() if pa.types.is_large_binary(values.type) else pa.string()
    text = values.view(typ)
    try:
        text.validate(full=True)
        has_nul = pc.any(pc.match_substring(values, "\x00")).as_py()
    except pa.ArrowInvalid:
        has_nul = True
    if has_nul:
        for row, value in enumerate(values.to_pylist()):
            if value is None:
                continue
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise invalid_encoding(value[exc.start :], where(row)) from None
            if b"\x00" in value:
                raise invalid_encoding(b"\x00", where(row))
    return text


def _one_by_one(data: bytes, offsets: Ints, sizes: Ints, type_oid: int, where: Where) -> pa.Array:
    """numeric (as exact text), arrays, timetz and the like, through the parameter decoder."""
    values: list[object] = []
    for row, (offset, size) in enumerate(zip(offsets.tolist(), sizes.tolist(), strict=True)):
        if size < 0:
            values.append(None)
            continue
        try:
            value = decode_binary(data[offset : offset + size], type_oid)
        except ForgeError as exc:
            if exc.context is None:
                exc.context = where(row)
            raise
        values.append(_plain(value))
    if type_oid == oids.NUMERIC:
        return pa.array(values, pa.string())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _plain(value: object) -> object:
    """Values pyarrow takes: numeric as text without exponent, uuid and timetz as text."""
    if isinstance(value, decimal.Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.time) and value.tzinfo is not None:
        return value.isoformat()  # timetz: Arrow has no time with a zone
    return value
