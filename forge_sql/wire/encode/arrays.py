"""PostgreSQL arrays from Arrow lists: text ``{1,"a b",NULL}`` and the binary array format.

Elements are encoded once for the whole child array, then joined per list by ``binary_join``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.errors import FeatureNotSupported
from forge_sql.wire.encode import buffers
from forge_sql.wire.encode.buffers import Bools, Ints

Encoder = Callable[[pa.Array, int], pa.Array]

# array_out (arrayfuncs.c) quotes an element that is empty, equals NULL case-insensitively,
# or contains {},"\ or white space, and backslash-escapes " and \.
_NEEDS_QUOTES = r'(?i)^$|^null$|[{},"\\ \t\n\r\v\f]'


def is_list(typ: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ)
    )


def list_parts(array: pa.Array) -> tuple[Ints, pa.Array]:
    """(offsets rebased to 0, the child values those offsets cover) of a list array."""
    if pa.types.is_fixed_size_list(array.type):
        size = array.type.list_size
        start = array.offset * size
        offs = np.arange(len(array) + 1, dtype=np.int64) * size
        return offs, array.values.slice(start, len(array) * size)
    raw = array.offsets.to_numpy().astype(np.int64)
    first = int(raw[0]) if len(raw) else 0
    return raw - first, array.values.slice(first, int(raw[-1]) - first if len(raw) else 0)


def _per_list(offs: Ints, items: pa.Array, valid: Bools | None, separator: bytes) -> pa.Array:
    """Concatenate each list's items (binary, no nulls) with ``separator``."""
    mask = None if valid is None else pa.array(~valid)
    if int(offs[-1]) > 2**31 - 1:
        lists = pa.LargeListArray.from_arrays(pa.array(offs, pa.int64()), items, mask=mask)
    else:
        lists = pa.ListArray.from_arrays(pa.array(offs, pa.int32()), items, mask=mask)
    return pc.binary_join(lists, separator)


def array_text(array: pa.Array, element_oid: int, encode: Encoder) -> pa.Array:
    offs, values = list_parts(array)
    if is_list(values.type):  # multi-dimensional: {{1,2},{3,4}}
        items = array_text(values, element_oid, encode)
    else:
        items = encode(values, element_oid)
        if not _unquoted(values.type):
            items = _quote(items)
    items = pc.fill_null(items, pa.scalar(b"NULL", items.type))
    joined = _per_list(offs, items, buffers.valid_mask(array), b",")
    return pc.binary_join_element_wise(b"{", joined, b"}", b"")


def _unquoted(typ: pa.DataType) -> bool:
    """Types whose text never needs quoting in an array (digits, signs, letters, '.')."""
    return bool(
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_decimal(typ)
        or pa.types.is_boolean(typ)
    )


def _quote(items: pa.Array) -> pa.Array:
    text = items.cast(pa.large_string() if pa.types.is_large_binary(items.type) else pa.string())
    needs = pc.match_substring_regex(text, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return items
    escaped = pc.replace_substring_regex(text, r'(["\\])', r"\\\1")
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    return buffers.as_binary(pc.if_else(needs, quoted, text))


def array_binary(
    array: pa.Array, element_oid: int, encode: Encoder, valid: Bools | None
) -> pa.Array:
    """ndim, has-null flag, element OID, (size, lower bound 1) per dim, then length-prefixed
    elements (-1 for NULL); an empty array has ndim 0 and no dimensions (``array_send``)."""
    offs, values = list_parts(array)
    if is_list(values.type):
        raise FeatureNotSupported(
            "binary output of multi-dimensional arrays is not supported",
            hint="Request text format for this column.",
        )
    items = encode(values, element_oid)
    prefix, bodies, lengths = buffers.frame(items)
    cells = pc.binary_join_element_wise(buffers.fixed(prefix, None), bodies, b"")
    joined = _per_list(offs, cells, valid, b"")

    counts = np.diff(offs)
    nulls = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths < 0, out=nulls[1:])
    header = np.zeros(
        len(counts),
        np.dtype(
            [
                ("ndim", ">i4"),
                ("has_null", ">i4"),
                ("oid", ">i4"),
                ("size", ">i4"),
                ("lbound", ">i4"),
            ]
        ),
    )
    header["ndim"] = counts > 0
    header["has_null"] = nulls[offs[1:]] > nulls[offs[:-1]]
    header["oid"] = element_oid
    header["size"] = counts
    header["lbound"] = 1
    chars = header.view(np.uint8).reshape(len(counts), 20)
    head = buffers.from_matrix(chars, np.where(counts > 0, 20, 12), None)
    return pc.binary_join_element_wise(head, joined, b"")
