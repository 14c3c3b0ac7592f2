"""float4/float8 text as PostgreSQL 12+ prints it (src/common/d2s.c, f2s.c ``to_chars``).

Arrow's cast gives the same shortest digits in another layout; only the rows where the two
layouts differ are rewritten, with whole-array string kernels.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.wire.encode import buffers
from forge_sql.wire.encode.buffers import Ints

# 10**k as the nearest double / float: a value's shortest digits have decimal exponent k
# exactly when powers[k] <= |value| < powers[k + 1] (rounding to nearest is monotonic).
_MIN_EXP = -330
_POWERS8 = np.array([float(f"1e{k}") for k in range(_MIN_EXP, 309)])
_POWERS4 = np.array([np.float32(float(f"1e{k}")) for k in range(_MIN_EXP, 39)], np.float32)
# PostgreSQL: fixed form for decimal exponents -4 <= e < 15 (float4: < 6), else d.ddde+XX
# with two exponent digits at least. Arrow: fixed for -6 <= e < 10, else d.ddde+X.
_ARROW_FIXED = range(-6, 10)  # Arrow prints fixed form for these decimal exponents


def float_text(array: pa.Array) -> pa.Array:
    """PostgreSQL text of every value of a floating point array."""
    if pa.types.is_float16(array.type):
        array = array.cast(pa.float32())
    single = pa.types.is_float32(array.type)
    text = buffers.as_binary(pc.cast(array, pa.string()))
    values = array.fill_null(1).to_numpy()
    magnitude = np.abs(values)
    # Cheap screen first: only magnitudes near or beyond Arrow's and PostgreSQL's fixed-form
    # ranges can need a rewrite (NaN fails both comparisons, hence the isfinite).
    near = (magnitude < 2e-4) | (magnitude >= (5e5 if single else 5e9)) | ~np.isfinite(values)
    near &= magnitude != 0
    if not near.any():
        return text
    candidates = np.flatnonzero(near)
    picked = values[candidates]
    powers = _POWERS4 if single else _POWERS8
    exponent = np.searchsorted(powers, np.abs(picked), side="right") - 1 + _MIN_EXP
    pg_fixed = (exponent >= -4) & (exponent < (6 if single else 15))
    arrow_fixed = (exponent >= _ARROW_FIXED.start) & (exponent < _ARROW_FIXED.stop)
    # Rewrite where the layouts differ, and exponent form with a one-digit exponent.
    needed = ~np.isfinite(picked) | (pg_fixed != arrow_fixed) | ((exponent < -6) & (exponent > -10))
    if not needed.any():
        return text
    rows = candidates[needed]
    fixed = _rewrite(text.take(pa.array(rows)), picked[needed], exponent[needed], pg_fixed[needed])
    mask = np.zeros(len(values), np.bool_)
    mask[rows] = True
    return pc.replace_with_mask(text, pa.array(mask), fixed)


def _rewrite(text: pa.Array, values: np.ndarray, exponent: Ints, pg_fixed: np.ndarray) -> pa.Array:
    """PostgreSQL's layout for these rows, given Arrow's text and their decimal exponents."""
    finite = np.isfinite(values)
    exponent = np.where(finite, exponent, 0)
    unsigned = pc.utf8_ltrim(text.view(pa.string()), "-")
    parts: list[pa.Array] = []
    order: list[Ints] = []
    for e in np.unique(exponent[finite]):
        rows = np.flatnonzero(finite & (exponent == e))
        group = unsigned.take(pa.array(rows))
        parts.append(_fixed_form(group, int(e)) if pg_fixed[rows[0]] else _exp_form(group, int(e)))
        order.append(rows)
    special = np.flatnonzero(~finite)
    if len(special):
        words = np.where(np.isnan(values[special]), "NaN", "Infinity").tolist()
        parts.append(pa.array(words, pa.string()))
        order.append(special)
    body = pa.concat_arrays(parts).take(pa.array(np.argsort(np.concatenate(order))))
    negative = pa.array(np.signbit(values) & ~np.isnan(values))
    signed = pc.if_else(negative, pc.binary_join_element_wise("-", body, ""), body)
    return buffers.as_binary(signed)


def _significand(group: pa.Array, e: int) -> pa.Array:
    """The significant digits of Arrow's text of values with decimal exponent ``e``."""
    if e in _ARROW_FIXED:  # "0.0000123", "1234567.9", "1234568000"
        digits = pc.replace_substring(group, ".", "")
        return pc.utf8_trim(digits, "0")
    mantissa = pc.replace_substring(group, f"e{'-' if e < 0 else '+'}{abs(e)}", "")
    return pc.replace_substring(mantissa, ".", "")


def _exp_form(group: pa.Array, e: int) -> pa.Array:
    """``d.ddde-05``: first digit, the others after a point, exponent of two digits or more."""
    digits = _significand(group, e)
    first = pc.utf8_slice_codeunits(digits, 0, 1)
    rest = pc.utf8_slice_codeunits(digits, 1)
    rest = pc.if_else(pc.equal(pc.utf8_length(rest), 0), pa.scalar(None, pa.string()), rest)
    mantissa = pc.binary_join_element_wise(first, rest, ".", null_handling="skip")
    suffix = f"e{'-' if e < 0 else '+'}{abs(e):02d}"
    return pc.binary_join_element_wise(mantissa, suffix, "")


def _fixed_form(group: pa.Array, e: int) -> pa.Array:
    """``12345678901.5`` for 0 <= e < 15: digits padded with zeros up to the point."""
    digits = pc.utf8_rpad(_significand(group, e), e + 1, "0")
    whole = pc.utf8_slice_codeunits(digits, 0, e + 1)
    frac = pc.utf8_slice_codeunits(digits, e + 1)
    frac = pc.if_else(pc.equal(pc.utf8_length(frac), 0), pa.scalar(None, pa.string()), frac)
    return pc.binary_join_element_wise(whole, frac, ".", null_handling="skip")
