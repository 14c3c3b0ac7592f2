"""Binary-format parameters, decoded by type OID as the matching ``*_recv`` functions do.

Malformed input (wrong length, truncated, bad header) is 22P03 invalid_binary_representation
naming the type; a type without a binary decoder here is 0A000.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
import uuid
from collections.abc import Callable

from forge_sql.errors import FeatureNotSupported, InvalidBinaryRepresentation
from forge_sql.seam import oids
from forge_sql.wire.decode.text import decode_utf8, type_name

_PG_EPOCH = dt.datetime(2000, 1, 1)
_PG_EPOCH_DATE = _PG_EPOCH.date()
_NUMERIC_SIGNS = {0x0000: 0, 0x4000: 1}
_NUMERIC_NAN, _NUMERIC_PINF, _NUMERIC_NINF = 0xC000, 0xD000, 0xF000
_MAX_ARRAY_DIMS = 6  # MAXDIM in src/include/utils/array.h
_FIXED = oids.SEND_WIDTHS
_TEXT_LIKE = {oids.TEXT, oids.VARCHAR, oids.BPCHAR, oids.NAME, oids.UNKNOWN, oids.JSON, oids.CHAR}


def _bad(type_oid: int, detail: str) -> InvalidBinaryRepresentation:
    return InvalidBinaryRepresentation(
        f"incorrect binary data format in a parameter of type {type_name(type_oid)}",
        detail=detail,
    )


def decode_binary(data: bytes, type_oid: int) -> object:
    """The Python value of one binary-format parameter of type ``type_oid``."""
    size = _FIXED.get(type_oid)
    if size is not None and len(data) != size:
        raise _bad(type_oid, f"expected {size} bytes, got {len(data)}")
    decoder = _DECODERS.get(type_oid)
    if decoder is not None:
        return decoder(data)
    if type_oid in _TEXT_LIKE:
        return decode_utf8(data, type_oid)
    if type_oid in oids.ELEMENT_OF:
        return _array(data, type_oid)
    raise FeatureNotSupported(
        f"binary format is not supported for parameters of type OID {type_oid}"
        + (f" ({type_name(type_oid)})" if type_oid in oids.TYPES else ""),
        hint="Send this parameter in text format.",
    )


def _bool(data: bytes) -> bool:
    return data != b"\x00"


def _float(fmt: str) -> Callable[[bytes], float]:
    def decode(data: bytes) -> float:
        value: float = struct.unpack(fmt, data)[0]
        return value

    return decode


def _int(fmt: str) -> Callable[[bytes], int]:
    def decode(data: bytes) -> int:
        value: int = struct.unpack(fmt, data)[0]
        return value

    return decode


def _jsonb(data: bytes) -> str:
    if data[:1] != b"\x01":
        raise _bad(oids.JSONB, f"unsupported jsonb version number {data[:1].hex() or 'missing'}")
    return decode_utf8(data[1:], oids.JSONB)


def _numeric(data: bytes) -> decimal.Decimal:
    if len(data) < 8:
        raise _bad(oids.NUMERIC, f"header needs 8 bytes, got {len(data)}")
    ndigits, weight, sign, dscale = struct.unpack_from(">hhHh", data)
    if ndigits < 0 or len(data) != 8 + 2 * ndigits:
        raise _bad(oids.NUMERIC, f"{ndigits} digits do not match {len(data)} bytes")
    if sign == _NUMERIC_NAN:
        return decimal.Decimal("NaN")
    if sign in (_NUMERIC_PINF, _NUMERIC_NINF):
        return decimal.Decimal("Infinity" if sign == _NUMERIC_PINF else "-Infinity")
    if sign not in _NUMERIC_SIGNS or dscale < 0:
        raise _bad(oids.NUMERIC, f"invalid sign 0x{sign:04x} or scale {dscale}")
    groups = struct.unpack_from(f">{ndigits}H", data, 8)
    if any(g > 9999 for g in groups):
        raise _bad(oids.NUMERIC, "digit out of range")
    digits = "".join(f"{g:04d}" for g in groups) or "0"
    exponent = 4 * (weight - ndigits + 1)
    # Show exactly the display scale, as numeric_out does: 1.50, not 1.5 (trailing zero
    # digits are not sent) nor 1.5000 (digit groups are four wide).
    if exponent > -dscale:
        digits += "0" * (exponent + dscale)
    elif exponent < -dscale:
        digits = digits[: len(digits) - (-dscale - exponent)] or "0"
    exponent = -dscale
    return decimal.Decimal((_NUMERIC_SIGNS[sign], tuple(map(int, digits)), exponent))


def _uuid(data: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=data)


def _date(data: bytes) -> dt.date:
    (days,) = struct.unpack(">i", data)
    if days in (2**31 - 1, -(2**31)):
        raise _bad(oids.DATE, "infinite dates are not supported in binary parameters")
    try:
        return _PG_EPOCH_DATE + dt.timedelta(days=days)
    except OverflowError:
        raise _bad(oids.DATE, f"date out of range: {days} days from 2000-01-01") from None


def _time_of(micros: int, type_oid: int) -> dt.time:
    if not 0 <= micros < 86_400_000_000:
        raise _bad(type_oid, f"time out of range: {micros} microseconds")
    seconds, fraction = divmod(micros, 1_000_000)
    return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, fraction)


def _time(data: bytes) -> dt.time:
    return _time_of(struct.unpack(">q", data)[0], oids.TIME)


def _timetz(data: bytes) -> dt.time:
    micros, west = struct.unpack(">qi", data)
    if abs(west) > 15 * 3600 + 59 * 60:
        raise _bad(oids.TIMETZ, f"time zone offset out of range: {west}")
    zone = dt.timezone(dt.timedelta(seconds=-west))
    return _time_of(micros, oids.TIMETZ).replace(tzinfo=zone)


def _timestamp_of(data: bytes, type_oid: int) -> dt.datetime:
    (micros,) = struct.unpack(">q", data)
    if micros in (2**63 - 1, -(2**63)):
        raise _bad(type_oid, "infinite timestamps are not supported in binary parameters")
    try:
        return _PG_EPOCH + dt.timedelta(microseconds=micros)
    except OverflowError:
        raise _bad(type_oid, f"timestamp out of range: {micros} microseconds") from None


def _timestamp(data: bytes) -> dt.datetime:
    return _timestamp_of(data, oids.TIMESTAMP)


def _timestamptz(data: bytes) -> dt.datetime:
    return _timestamp_of(data, oids.TIMESTAMPTZ).replace(tzinfo=dt.UTC)


def _interval(data: bytes) -> dt.timedelta | str:
    """A timedelta when there are no months; else text DuckDB's INTERVAL cast reads, since
    a month has no fixed length."""
    micros, days, months = struct.unpack(">qii", data)
    if months == 0:
        try:
            return dt.timedelta(days=days, microseconds=micros)
        except OverflowError:
            raise _bad(oids.INTERVAL, "interval out of range") from None
    return f"{months} months {days} days {micros} microseconds"


def _array(data: bytes, type_oid: int) -> list[object]:
    """Binary array (``array_recv``): header, dims, then length-prefixed elements."""
    if len(data) < 12:
        raise _bad(type_oid, f"array header needs 12 bytes, got {len(data)}")
    ndim, flags, element_oid = struct.unpack_from(">iiI", data)
    if not 0 <= ndim <= _MAX_ARRAY_DIMS or flags not in (0, 1):
        raise _bad(type_oid, f"invalid array header (ndim {ndim}, flags {flags})")
    if len(data) < 12 + 8 * ndim:
        raise _bad(type_oid, "array dimensions are truncated")
    dims = [struct.unpack_from(">ii", data, 12 + 8 * i)[0] for i in range(ndim)]
    if any(d < 0 for d in dims):
        raise _bad(type_oid, "negative array dimension")
    total = math.prod(dims) if ndim else 0
    if total > len(data):  # every element takes at least 4 bytes
        raise _bad(type_oid, "array has more elements than data")
    if element_oid not in _DECODERS and element_oid not in _TEXT_LIKE:
        if element_oid in oids.TYPES:
            raise FeatureNotSupported(
                f"binary arrays of {type_name(element_oid)} are not supported"
            )
        raise _bad(type_oid, f"unknown array element type OID {element_oid}")
    pos = 12 + 8 * ndim
    elements: list[object] = []
    for index in range(total):
        if pos + 4 > len(data):
            raise _bad(type_oid, "array elements are truncated")
        (length,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if length == -1:
            elements.append(None)
            continue
        if length < 0 or pos + length > len(data):
            raise _bad(type_oid, "array element length is out of range")
        try:
            elements.append(decode_binary(data[pos : pos + length], element_oid))
        except InvalidBinaryRepresentation as exc:
            raise _bad(type_oid, f"element {index + 1}: {exc.detail}") from None
        pos += length
    if pos != len(data):
        raise _bad(type_oid, f"{len(data) - pos} bytes after the last array element")
    for size in reversed(dims[1:]):
        elements = [elements[i : i + size] for i in range(0, len(elements), size)]
    return elements


_DECODERS: dict[int, Callable[[bytes], object]] = {
    oids.BOOL: _bool,
    oids.INT2: _int(">h"),
    oids.INT4: _int(">i"),
    oids.INT8: _int(">q"),
    oids.OID: _int(">I"),
    oids.FLOAT4: _float(">f"),
    oids.FLOAT8: _float(">d"),
    oids.NUMERIC: _numeric,
    oids.BYTEA: bytes,
    oids.JSONB: _jsonb,
    oids.UUID: _uuid,
    oids.DATE: _date,
    oids.TIME: _time,
    oids.TIMETZ: _timetz,
    oids.TIMESTAMP: _timestamp,
    oids.TIMESTAMPTZ: _timestamptz,
    oids.INTERVAL: _interval,
}

__all__ = ["decode_binary"]
