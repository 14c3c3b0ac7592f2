"""A large batch encoded in parts, one per core, the parts' bytes following each other.

The encoders' work is in Arrow compute kernels, numpy and the compiled framer, which
release the GIL, so the halves of a batch encode at once while the event loop sends the
previous batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

import pyarrow as pa

T = TypeVar("T")

# Below this many rows a batch is encoded whole on the calling thread: the hand-offs would
# cost more than they save.
PARALLEL_ROWS = 16_384
_THREADS = min(os.cpu_count() or 1, 4)
_pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="forge-sql-encode")


def encode_in_parts(encode: Callable[[pa.RecordBatch, int], T], batch: pa.RecordBatch) -> list[T]:
    """``encode(part, index)`` of consecutive row ranges of ``batch``, in order."""
    rows = batch.num_rows
    if _THREADS < 2 or rows < PARALLEL_ROWS:
        return [encode(batch, 0)]
    # Parts start on a multiple of 8 rows, so validity bitmaps are sliced on a byte.
    size = ((rows + _THREADS - 1) // _THREADS + 7) // 8 * 8
    parts = [batch.slice(start, size) for start in range(0, rows, size)]
    others = [_pool.submit(encode, part, index) for index, part in enumerate(parts) if index]
    try:
        first = encode(parts[0], 0)  # the calling thread encodes a part too
    finally:
        wait(others)  # they read the same batch: let them end, whatever happened here
    return [first, *(future.result() for future in others)]
