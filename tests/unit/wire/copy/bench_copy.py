"""COPY codec throughput on one core: ``python tests/unit/wire/copy/bench_copy.py [rows]``.

Rows of (int8, text, float8, timestamp, bool) with 5% NULLs: encode_copy per 64k-row batch
for text / csv / binary, then CopyDecoder fed in 64 KiB CopyData-sized chunks. Not a test.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pyarrow as pa

from forge_sql.wire import oids
from forge_sql.wire.backend import Column, CopyFormat, CopyIn
from forge_sql.wire.copy import CopyDecoder, copy_header, copy_trailer, encode_copy

TYPES = [oids.INT8, oids.TEXT, oids.FLOAT8, oids.TIMESTAMP, oids.BOOL]
FORMATS = {
    "text": CopyFormat(),
    "csv": CopyFormat(kind="csv", delimiter=",", null=""),
    "csv, every value quoted": CopyFormat(kind="csv", delimiter=",", null="", force_quote=("*",)),
    "binary": CopyFormat(kind="binary"),
}


def table(rows: int) -> pa.Table:
    rng = np.random.default_rng(0)
    words = np.array(["alpha", "beta gamma", "delta, quoted", "ε unicode", "x" * 20, "tab\there"])
    nulls = rng.random((5, rows)) < 0.05
    columns = [
        pa.array(rng.integers(-(10**12), 10**12, rows), pa.int64(), mask=nulls[0]),
        pa.array(words[rng.integers(0, len(words), rows)], pa.string(), mask=nulls[1]),
        pa.array(rng.normal(size=rows) * 1000, pa.float64(), mask=nulls[2]),
        pa.array(rng.integers(0, 1_700_000_000_000_000, rows), pa.timestamp("us"), mask=nulls[3]),
        pa.array(rng.integers(0, 2, rows).astype(bool), pa.bool_(), mask=nulls[4]),
    ]
    return pa.table(columns, names=["i", "t", "f", "ts", "b"])


def best(runs: int, work: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pa.set_cpu_count(1)
    data = table(rows)
    batches = data.to_batches(max_chunksize=65_536)
    columns = tuple(Column(n, t) for n, t in zip(data.column_names, TYPES, strict=True))
    print(f"{rows:,} rows x (int8, text, float8, timestamp, bool), 5% NULL, one core")
    for name, fmt in FORMATS.items():
        encoded: list[bytes] = []

        def encode(fmt: CopyFormat = fmt, out: list[bytes] = encoded) -> None:
            out.clear()
            out.append(copy_header(fmt, data.column_names))
            out.extend(bytes(encode_copy(b, TYPES, fmt)) for b in batches)
            out.append(copy_trailer(fmt))

        seconds = best(3, encode)
        stream = b"".join(encoded)
        chunks = [stream[i : i + 65_536] for i in range(0, len(stream), 65_536)]

        def decode(fmt: CopyFormat = fmt, chunks: list[bytes] = chunks) -> None:
            decoder = CopyDecoder(CopyIn(fmt, columns, "t"))
            for chunk in chunks:
                decoder.feed(chunk)
            decoder.finish()
            assert decoder.rows == rows

        decode_seconds = best(3, decode)
        print(
            f"{name:>23}: encode {rows / seconds / 1e6:5.2f} M rows/s"
            f"   decode {rows / decode_seconds / 1e6:5.2f} M rows/s"
            f"   ({len(stream) / 1e6:.0f} MB)"
        )


if __name__ == "__main__":
    main()
