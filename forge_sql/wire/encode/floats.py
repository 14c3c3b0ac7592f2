"""float4/float8 text output as PostgreSQL 12+ prints it (shortest round-trip digits).

Arrow's cast to string yields the same shortest digits but its own layout: exponent form
below 1e-6 and from 1e10, exponents without zero padding, ``inf``/``nan``. PostgreSQL's
``float8out`` (src/common/d2s.c, f2s.c) uses fixed form for decimal exponents -4 <= e < 15
(float4: < 6) and ``e+XX`` otherwise. Only rows whose magnitude can differ are rewritten,
on whole arrays: the common range is just Arrow's cast.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.wire.encode import buffers
from forge_sql.wire.encode.buffers import Bytes, Ints

_WIDTH = 26  # longest output: "-1.2345678901234567e-308" and the like


def float_text(array: pa.Array) -> pa.Array:
    """PostgreSQL text of every value of a floating point array."""
    if pa.types.is_float16(array.type):
        array = array.cast(pa.float32())
    single = pa.types.is_float32(array.type)
    text = buffers.as_binary(pc.cast(array, pa.string()))
    x = array.fill_null(0).to_numpy(zero_copy_only=False)
    ax = np.abs(x)
    # Generous bands around where Arrow's layout differs from PostgreSQL's; rows inside
    # them that already match are rewritten to the same text.
    high = 9e4 if single else 9e8
    rewrite = ~np.isfinite(x) | ((ax < 2e-4) & (ax > 0)) | (ax >= high)
    if not rewrite.any():
        return text
    index = np.flatnonzero(rewrite)
    fixed = _rewrite(text.take(pa.array(index)), x[index], 6 if single else 15)
    mask = pa.array(rewrite)
    return pc.replace_with_mask(text, mask, fixed)


def _rewrite(text: pa.Array, x: np.ndarray, fixed_below: int) -> pa.Array:
    """Reformat Arrow's text of the values ``x`` (no nulls) the way PostgreSQL does."""
    n = len(x)
    finite = np.isfinite(x)
    # Split Arrow's text into significant digits and the decimal exponent of the first one:
    # "1.5e-7" -> 15, -7; "0.000015" -> 15, -5; "1234568000" -> 1234568, 9.
    body = pc.replace_substring(pc.utf8_ltrim(text.view(pa.string()), "-"), "e+", "e")
    has_e = pc.match_substring(body, "e")
    parts = pc.split_pattern(pc.if_else(has_e, body, pc.binary_join_element_wise(body, "e0", "")),
                             "e")
    mantissa = pc.list_element(parts, 0)
    exponent = pc.cast(pc.list_element(parts, 1), pa.int64()).to_numpy()
    dot = pc.find_substring(mantissa, ".").to_numpy().astype(np.int64)
    int_len = np.where(dot < 0, _length(mantissa), dot)
    raw = pc.replace_substring(mantissa, ".", "")
    leading = _length(raw) - _length(pc.utf8_ltrim(raw, "0"))
    sig = buffers.as_binary(pc.utf8_trim(raw, "0"))
    exp10 = exponent + int_len - 1 - leading

    offs = buffers.offsets(sig)
    ndig = np.diff(offs)
    base, total = int(offs[0]), int(offs[-1] - offs[0])
    table = np.full((n, _WIDTH), ord("0"), np.uint8)
    rows = np.repeat(np.arange(n), ndig)
    cols = np.arange(total) + base - np.repeat(offs[:-1], ndig)
    table[rows, cols] = buffers.data(sig)[base : base + total]

    chars, lengths = _layout(table, ndig, exp10, fixed_below)
    neg = np.signbit(x)
    signed = np.empty((n, _WIDTH + 1), np.uint8)
    signed[:, 0] = ord("-")
    signed[:, 1:] = chars
    shift = np.arange(_WIDTH)[None, :] + (~neg)[:, None]
    result = buffers.from_matrix(np.take_along_axis(signed, shift, axis=1), lengths + neg, None)

    if not finite.all():
        special = np.where(np.isnan(x), b"NaN", np.where(x > 0, b"Infinity", b"-Infinity"))
        result = pc.if_else(pa.array(finite), result, pa.array(special.tolist(), pa.binary()))
    return result


def _length(strings: pa.Array) -> Ints:
    result: Ints = pc.binary_length(strings).to_numpy().astype(np.int64)
    return result


def _layout(sig: Bytes, ndig: Ints, exp10: Ints, fixed_below: int) -> tuple[Bytes, Ints]:
    """Place significant digits ``sig`` (zero padded) in fixed or exponent form."""
    pos = np.arange(_WIDTH)[None, :]
    nd = ndig[:, None]
    e = exp10[:, None]

    def digit(index: np.ndarray) -> Bytes:
        picked: Bytes = np.take_along_axis(sig, np.clip(index, 0, _WIDTH - 1), axis=1)
        return picked

    # Fixed form, e >= 0: the digits with '.' after digit e (zero padded up to the point).
    whole = np.where(pos <= e, digit(pos), np.where(pos == e + 1, ord("."), digit(pos - 1)))
    whole_len = np.where(ndig > exp10 + 1, ndig + 1, exp10 + 1)
    # Fixed form, e < 0: "0." then -e-1 zeros then the digits.
    zeros = -e - 1
    frac = np.where(pos == 1, ord("."), np.where(pos < 2 + zeros, ord("0"), digit(pos - 2 - zeros)))
    frac_len = 1 - exp10 + ndig
    # Exponent form: d[.ddd]e+XX, at least two exponent digits.
    mant_len = np.where(nd > 1, nd + 1, 1)
    ae = np.abs(e)
    exp_digits = np.where(ae >= 100, 3, 2)
    power = 10 ** np.clip(exp_digits - 1 - (pos - mant_len - 2), 0, 2)
    sci = np.where(pos == 0, digit(pos), np.where(pos == 1, ord("."), digit(pos - 1)))
    sci = np.where(pos == mant_len, ord("e"), sci)
    sci = np.where(pos == mant_len + 1, np.where(e < 0, ord("-"), ord("+")), sci)
    sci = np.where(pos >= mant_len + 2, 48 + ae // power % 10, sci)
    sci_len = mant_len[:, 0] + 2 + exp_digits[:, 0]

    in_fixed = (exp10 >= -4) & (exp10 < fixed_below)
    chars = np.where(in_fixed[:, None], np.where(e >= 0, whole, frac), sci).astype(np.uint8)
    lengths = np.where(in_fixed, np.where(exp10 >= 0, whole_len, frac_len), sci_len)
    return chars, lengths.astype(np.int64)
