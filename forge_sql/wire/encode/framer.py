"""Row framing in C (``_framer.c``) when the package was built with its optional extension.

``compiled`` is None without it, or when ``FORGE_SQL_PURE_PYTHON`` is set to a non-empty
value; the encoders then frame rows with numpy and Arrow joins, to the same bytes.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa

from forge_sql.wire.encode import buffers


def _load() -> ModuleType | None:
    if os.environ.get("FORGE_SQL_PURE_PYTHON"):
        return None
    try:
        from forge_sql.wire.encode import _framer  # type: ignore[attr-defined]
    except ImportError:
        return None
    module: ModuleType = _framer
    return module


compiled = _load()

Spec = tuple[Any, Any, Any, int, int]  # validity, offsets, data, offset, width (see _framer.c)


def spec(values: pa.Array | np.ndarray[Any, Any]) -> Spec:
    """A column for ``_framer``: a (large) binary or string array, or a numpy byte matrix
    (or 1-d array of fixed-width items) whose rows are the values."""
    if isinstance(values, np.ndarray):
        matrix = np.ascontiguousarray(values)
        width = matrix.itemsize * (matrix.shape[1] if matrix.ndim == 2 else 1)
        return None, None, matrix.reshape(-1).view(np.uint8), 0, width
    values = buffers.as_binary(values)
    validity, offsets, data = values.buffers()
    if values.null_count == 0:
        validity = None
    width = -2 if pa.types.is_large_binary(values.type) else -1
    return validity, offsets, data, values.offset, width


def fixed_spec(values: np.ndarray[Any, Any], array: pa.Array) -> Spec | None:
    """A column of fixed-width values (row i: ``values[i]``) with the NULLs of ``array``, or
    None when ``array``'s validity bitmap does not start on a byte boundary."""
    validity = None
    if array.null_count:
        if array.offset % 8:
            return None
        validity = array.buffers()[0].slice(array.offset // 8)
    data = np.ascontiguousarray(values).reshape(-1).view(np.uint8)
    return validity, None, data, 0, values.itemsize
