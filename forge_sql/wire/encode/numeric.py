"""numeric text and binary send format (numeric.c ``numeric_out``, ``numeric_send``) from
decimal128 and integer arrays.

Unscaled values that fit int64 are encoded on whole arrays; the others one by one. The
unconstrained numeric (forge_sql.seam.numeric) is printed with each value's own scale, as
PostgreSQL's numeric without typmod: 1.5, not 1.5000000000.
"""

from __future__ import annotations

import decimal
import struct

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.errors import FeatureNotSupported
from forge_sql.seam.numeric import unconstrained
from forge_sql.wire.encode import buffers
from forge_sql.wire.encode.buffers import Bools

_POS, _NEG, _NAN = 0x0000, 0x4000, 0xC000
_HEADER = np.dtype([("ndigits", ">i2"), ("weight", ">i2"), ("sign", ">u2"), ("dscale", ">i2")])
_INT_GROUPS = 5  # 2**64 < 10000**5
_MAX_VECTOR_SCALE = 18
U64 = npt.NDArray[np.uint64]


def own_scale(typ: pa.DataType) -> bool:
    """Whether values of ``typ`` are shown with their own scale (trailing zeros dropped)."""
    return pa.types.is_decimal(typ) and unconstrained(typ.precision, typ.scale)


def numeric_text(array: pa.Array) -> pa.Array:
    """numeric_out of integers and decimals (binary array, nulls kept)."""
    text = pc.cast(array, pa.string())
    if pa.types.is_decimal(array.type) and array.type.scale > 0:
        text = _without_exponent(array, text)
    if own_scale(array.type):
        # Every value has a point (scale >= 10), which stops the trim of zeros: 100.000 is
        # 100., then 100 (a trim is several times faster than a regex replace).
        text = pc.ascii_rtrim(pc.ascii_rtrim(text, "0"), ".")
    return buffers.as_binary(text)


def _without_exponent(array: pa.Array, text: pa.Array) -> pa.Array:
    """Arrow prints zero and values below 1e-6 of a decimal type with an exponent (0E-10,
    1.000E-7); numeric_out never does."""
    exponent = pc.fill_null(pc.match_substring(text, "E"), False)
    if not pc.any(exponent).as_py():
        return text
    zero = pc.fill_null(pc.match_substring_regex(text, r"^-?0E[-+]?\d+$"), False)
    text = pc.if_else(zero, pa.scalar("0." + "0" * array.type.scale), text)
    rows = np.flatnonzero(pc.and_(exponent, pc.invert(zero)).to_numpy(zero_copy_only=False))
    if len(rows) == 0:
        return text
    mask = np.zeros(len(array), np.bool_)
    mask[rows] = True
    plain = [format(array[int(i)].as_py(), "f") for i in rows]
    return pc.replace_with_mask(text, pa.array(mask), pa.array(plain, pa.string()))


def numeric_binary(array: pa.Array, valid: Bools | None) -> pa.Array:
    typ = array.type
    own = own_scale(typ)
    if pa.types.is_integer(typ):
        values = array.fill_null(0).to_numpy()
        negative = values < 0 if pa.types.is_signed_integer(typ) else np.zeros(len(values), bool)
        return _vector(_magnitude(values), negative, 0, valid)
    if pa.types.is_decimal128(typ) and 0 <= typ.scale <= _MAX_VECTOR_SCALE:
        words = np.frombuffer(array.buffers()[1], dtype="<i8").reshape(-1, 2)
        words = words[array.offset : array.offset + len(array)]
        low, high = words[:, 0], words[:, 1]
        fits = high == (low >> 63)
        if valid is not None:
            fits |= ~valid
        low = np.where(fits, low, 0)
        result = _vector(_magnitude(low), low < 0, typ.scale, valid, own)
        if fits.all():
            return result
        odd = np.flatnonzero(~fits)
        slow = [_one(array[int(i)].as_py(), None if own else typ.scale) for i in odd]
        mask = np.zeros(len(array), np.bool_)
        mask[odd] = True
        return pc.replace_with_mask(result, pa.array(mask), pa.array(slow, pa.binary()))
    if pa.types.is_decimal(typ):
        scale = None if own else max(typ.scale, 0)
        return pa.array(
            [None if v is None else _one(v, scale) for v in array.to_pylist()], pa.binary()
        )
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        # A value typed numeric that DuckDB kept as text (a parameter bound as a string).
        try:
            values = [None if v is None else decimal.Decimal(v) for v in array.to_pylist()]
        except decimal.InvalidOperation:
            raise FeatureNotSupported("cannot send text that is no number as numeric") from None
        return pa.array([None if v is None else numeric_bytes(v) for v in values], pa.binary())
    raise FeatureNotSupported(f"cannot send {typ} as numeric")


def _magnitude(values: np.ndarray) -> U64:
    """|values| as uint64, exact for the most negative int64 too."""
    if values.dtype == np.uint64:
        return values
    signed = values.astype(np.int64)
    as_unsigned = signed.view(np.uint64)
    result: U64 = np.where(signed < 0, ~as_unsigned + np.uint64(1), as_unsigned)
    return result


def _vector(
    mag: U64, negative: Bools, scale: int, valid: Bools | None, own: bool = False
) -> pa.Array:
    """int16 ndigits, int16 weight (power of 10000 of the first digit), uint16 sign, int16
    dscale, then the base-10000 digits with leading and trailing zero digits stripped.
    ``own``: each value's dscale leaves out its trailing zeros."""
    n = len(mag)
    frac_groups = -(-scale // 4)
    ten = np.uint64(10)
    whole, frac = mag // ten ** np.uint64(scale), mag % ten ** np.uint64(scale)
    groups = np.empty((n, _INT_GROUPS + frac_groups), np.int64)
    for j in range(_INT_GROUPS):
        groups[:, _INT_GROUPS - 1 - j] = (whole // np.uint64(10_000**j)) % np.uint64(10_000)
    for k in range(1, frac_groups + 1):
        shift = scale - 4 * k
        if shift >= 0:
            group = frac // ten ** np.uint64(shift) % np.uint64(10_000)
        else:  # last group, padded with zeros on the right
            group = frac % ten ** np.uint64(scale - 4 * (k - 1)) * ten ** np.uint64(-shift)
        groups[:, _INT_GROUPS - 1 + k] = group
    width = groups.shape[1]
    nonzero = groups != 0
    any_nonzero = nonzero.any(axis=1)
    first = np.argmax(nonzero, axis=1)
    last = width - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    ndigits = np.where(any_nonzero, last - first + 1, 0)

    header = np.empty(n, _HEADER)
    header["ndigits"] = ndigits
    header["weight"] = np.where(any_nonzero, _INT_GROUPS - 1 - first, 0)
    header["sign"] = np.where(negative & any_nonzero, _NEG, _POS)
    header["dscale"] = _own_scales(frac, scale) if own else scale
    shifted = np.take_along_axis(
        groups, np.minimum(first[:, None] + np.arange(width), width - 1), axis=1
    )
    chars = np.empty((n, 8 + 2 * width), np.uint8)
    chars[:, :8] = header.view(np.uint8).reshape(n, 8)
    chars[:, 8:] = shifted.astype(">i2").view(np.uint8).reshape(n, 2 * width)
    return buffers.from_matrix(chars, 8 + 2 * ndigits, valid)


def _own_scales(frac: U64, scale: int) -> npt.NDArray[np.int64]:
    """Digits after the point of each value, its fraction ``frac`` given at ``scale``
    without the trailing zeros."""
    ten = np.uint64(10)
    dscale = np.full(len(frac), scale, np.int64)
    for _ in range(scale):
        zero = (frac % ten == 0) & (dscale > 0)
        if not zero.any():
            break
        dscale -= zero
        frac = np.where(zero, frac // ten, frac)
    return dscale


def _one(value: decimal.Decimal | int, scale: int | None) -> bytes:
    """numeric send bytes of one value (any size), with display scale ``scale`` (None:
    the value's digits after the point, trailing zeros left out)."""
    value = decimal.Decimal(value)
    if scale is None and value.is_finite():
        _, numerals, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        zeros = len(numerals) - len("".join(map(str, numerals)).rstrip("0"))
        scale = max(0, -(exponent + zeros)) if zeros < len(numerals) else 0
    return numeric_bytes(value, scale)


def numeric_bytes(value: decimal.Decimal, scale: int | None = None) -> bytes:
    """numeric send bytes of one Decimal; ``scale`` defaults to the value's own."""
    if value.is_nan():
        return struct.pack(">hhHh", 0, 0, _NAN, 0)
    if value.is_infinite():
        return struct.pack(">hhHh", 0, 0, 0xD000 if value > 0 else 0xF000, 0)
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    dscale = max(0, -exponent) if scale is None else scale
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return struct.pack(">hhHh", 0, 0, _POS, dscale)
    # Align to base-10000 groups around the decimal point.
    if exponent >= 0:
        int_part, frac_part = digits + "0" * exponent, ""
    else:
        padded = digits.rjust(-exponent, "0")
        int_part, frac_part = padded[: len(padded) + exponent], padded[len(padded) + exponent :]
    int_part = int_part.rjust(-(-len(int_part) // 4) * 4, "0")
    frac_part = frac_part.ljust(-(-len(frac_part) // 4) * 4, "0")
    groups = [int(int_part[i : i + 4]) for i in range(0, len(int_part), 4)]
    weight = len(groups) - 1
    groups += [int(frac_part[i : i + 4]) for i in range(0, len(frac_part), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    return struct.pack(
        f">hhHh{len(groups)}H", len(groups), weight, _NEG if sign else _POS, dscale, *groups
    )
