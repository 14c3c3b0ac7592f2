"""interval: text in the default ``postgres`` IntervalStyle, and the binary send format.

Text follows src/backend/utils/adt/datetime.c ``EncodeInterval`` (INTSTYLE_POSTGRES).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.wire.encode import buffers
from forge_sql.wire.encode.buffers import Bools, Ints

_POWERS = 10 ** np.arange(19, dtype=np.int64)
_PARTS = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])


def _fields(array: pa.Array) -> tuple[Ints, Ints, Ints]:
    """(months, days, microseconds) of a month_day_nano_interval array; zeros for nulls."""
    raw = np.frombuffer(array.buffers()[1], dtype=_PARTS)[array.offset : array.offset + len(array)]
    months = raw["months"].astype(np.int64)
    days = raw["days"].astype(np.int64)
    nanos = raw["nanos"]
    micros = np.where(nanos < 0, -(-nanos // 1000), nanos // 1000)  # truncate toward zero
    valid = buffers.valid_mask(array)
    if valid is not None:
        months, days, micros = (np.where(valid, f, 0) for f in (months, days, micros))
    return months, days, micros


def interval_binary(array: pa.Array, valid: Bools | None) -> pa.Array:
    """int64 microseconds, int32 days, int32 months (``interval_send``)."""
    months, days, micros = _fields(array)
    out = np.empty(len(array), np.dtype([("us", ">i8"), ("days", ">i4"), ("months", ">i4")]))
    out["us"], out["days"], out["months"] = micros, days, months
    return buffers.fixed(out, valid)


def _trunc_div(value: Ints, by: int) -> tuple[Ints, Ints]:
    """C-style division: quotient truncated toward zero, remainder with the dividend's sign."""
    quotient = np.sign(value) * (np.abs(value) // by)
    return quotient, value - quotient * by


def _unit(value: Ints, is_before: Bools, one: bytes, many: bytes) -> pa.Array:
    """``N unit`` (``+N`` after a negative field), null where the field is zero."""
    text = buffers.as_binary(pc.cast(pa.array(value), pa.string()))
    plus = is_before & (value > 0)
    if plus.any():
        text = pc.if_else(pa.array(plus), pc.binary_join_element_wise(b"+", text, b""), text)
    unit = pc.if_else(
        pa.array(value == 1), pa.scalar(one, pa.binary()), pa.scalar(many, pa.binary())
    )
    return pc.if_else(
        pa.array(value == 0),
        pa.scalar(None, pa.binary()),
        pc.binary_join_element_wise(text, unit, b""),
    )


def interval_text(array: pa.Array) -> pa.Array:
    """Years, months and days signed separately (``1 year 2 mons -3 days``), ``+`` on a
    positive field right after a negative one, then ``[-]HH:MM:SS[.ffffff]``, omitted when
    zero unless every field is."""
    months, days, micros = _fields(array)
    n = len(array)
    years, mons = _trunc_div(months, 12)
    is_before = np.zeros(n, np.bool_)
    parts = []
    for value, one, many in (
        (years, b" year", b" years"),
        (mons, b" mon", b" mons"),
        (days, b" day", b" days"),
    ):
        parts.append(_unit(value, is_before, one, many))
        is_before = np.where(value != 0, value < 0, is_before)
    is_zero = (years == 0) & (mons == 0) & (days == 0)
    parts.append(_clock(micros, is_zero, is_before))
    text = pc.binary_join_element_wise(*parts, b" ", null_handling="skip")
    valid = buffers.valid_mask(array)
    if valid is not None:
        text = pc.if_else(pa.array(valid), text, pa.scalar(None, pa.binary()))
    return text


def _clock(micros: Ints, is_zero: Bools, is_before: Bools) -> pa.Array:
    """``[-|+]HH:MM:SS[.ffffff]``; null when zero and another field is set."""
    n = len(micros)
    mag = np.abs(micros)
    seconds, frac = mag // 1_000_000, mag % 1_000_000
    hours = seconds // 3600
    hour_digits = np.maximum(2, np.searchsorted(_POWERS, hours, side="right"))
    width = int(hour_digits.max()) if n else 2
    chars = np.empty((n, width + 14), np.uint8)
    sign = np.where(micros < 0, ord("-"), ord("+"))
    has_sign = (micros < 0) | (is_before & (micros > 0))
    # Right-align the hour digits after an optional sign, then ":MM:SS.ffffff".
    body = np.empty((n, width + 13), np.uint8)
    body[:, :width] = buffers.digits(hours, width)
    body[:, width] = ord(":")
    body[:, width + 1 : width + 3] = buffers.digits(seconds // 60 % 60, 2)
    body[:, width + 3] = ord(":")
    body[:, width + 4 : width + 6] = buffers.digits(seconds % 60, 2)
    body[:, width + 6] = ord(".")
    body[:, width + 7 :] = buffers.digits(frac, 6)
    trailing = np.zeros(n, np.int64)
    rest = frac.copy()
    for _ in range(6):
        zero = (rest % 10 == 0) & (frac != 0)
        trailing += zero
        rest = np.where(zero, rest // 10, rest)
    frac_len = np.where(frac == 0, 0, 7 - trailing)
    skip = width - hour_digits  # leading zero columns of the hour field
    pos = np.arange(width + 14)[None, :]
    src = pos + skip[:, None] - has_sign[:, None]
    chars[:] = np.take_along_axis(body, np.clip(src, 0, width + 12), axis=1)
    chars[:, 0] = np.where(has_sign, sign, chars[:, 0])
    lengths = has_sign + hour_digits + 6 + frac_len
    clock = buffers.from_matrix(chars, lengths, None)
    omit = ~is_zero & (micros == 0)
    return pc.if_else(pa.array(omit), pa.scalar(None, pa.binary()), clock)
