"""COPY codec throughput on one core: ``python tests/unit/wire/copy/bench_copy.py [rows]``.

Rows of (int8, text, float8, timestamp, bool) with 5% NULLs: encode_copy per 64k-row batch
for text / csv / binary, then CopyDecoder fed in 64 KiB CopyData-sized chunks; and
encode_batch (DataRows, text and binary). Each with the compiled framing and Arrow's CSV
reader, then with the pure Python paths (``FORGE_SQL_PURE_PYTHON``), alternately. Strings
with tabs, commas and quotes send text and CSV decoding to the general decoder; the
"plain" strings let Arrow's reader take them. Not a test.
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial

import numpy as np
import pyarrow as pa

from forge_sql.seam import oids
from forge_sql.seam.backend import Column, CopyFormat, CopyIn
from forge_sql.wire.copy import decoder
from forge_sql.wire.copy.decoder import CopyDecoder
from forge_sql.wire.copy.encoder import copy_header, copy_trailer, encode_copy
from forge_sql.wire.encode import framer
from forge_sql.wire.encode.rows import encode_batch

COMPILED = (framer.compiled, decoder.ARROW_READER)
PATHS = {"compiled": COMPILED, "pure": (None, False)}

TYPES = [oids.INT8, oids.TEXT, oids.FLOAT8, oids.TIMESTAMP, oids.BOOL]
FORMATS = {
    "text": CopyFormat(),
    "csv": CopyFormat(kind="csv", delimiter=",", null=""),
    "csv, every value quoted": CopyFormat(kind="csv", delimiter=",", null="", force_quote=("*",)),
    "binary": CopyFormat(kind="binary"),
}


SPECIAL_WORDS = ["alpha", "beta gamma", "delta, quoted", "ε unicode", "x" * 20, "tab\there"]
PLAIN_WORDS = ["alpha", "beta gamma", "delta", "ε unicode", "x" * 20, "name-12345"]


def table(rows: int, words_list: list[str]) -> pa.Table:
    rng = np.random.default_rng(0)
    words = np.array(words_list)
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


def use(path: str) -> None:
    framer.compiled, decoder.ARROW_READER = PATHS[path]


def encode_all(data: pa.Table, batches: list[pa.RecordBatch], fmt: CopyFormat) -> list[bytes]:
    return [
        copy_header(fmt, data.column_names),
        *(bytes(encode_copy(b, TYPES, fmt)) for b in batches),
        copy_trailer(fmt),
    ]


def decode_all(copy: CopyIn, chunks: list[bytes], rows: int) -> None:
    reader = CopyDecoder(copy)
    for chunk in chunks:
        reader.feed(chunk)
    reader.finish()
    assert reader.rows == rows


def data_rows(batches: list[pa.RecordBatch], code: int) -> None:
    for batch in batches:
        encode_batch(batch, TYPES, [code])


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pa.set_cpu_count(1)
    if COMPILED[0] is None:
        print("the _framer extension is not built: both columns are pure Python")
    print(f"{rows:,} rows x (int8, text, float8, timestamp, bool), 5% NULL, one core; "
          "M rows/s, compiled / pure")
    for label, words in (("", SPECIAL_WORDS), (", plain", PLAIN_WORDS)):
        data = table(rows, words)
        batches = data.to_batches(max_chunksize=65_536)
        columns = tuple(Column(n, t) for n, t in zip(data.column_names, TYPES, strict=True))
        for name, fmt in FORMATS.items():
            encoded, decoded = [], []
            for path in PATHS:
                use(path)
                encoded.append(rows / best(3, partial(encode_all, data, batches, fmt)))
                stream = b"".join(encode_all(data, batches, fmt))
                chunks = [stream[i : i + 65_536] for i in range(0, len(stream), 65_536)]
                copy = CopyIn(fmt, columns, "t")
                decoded.append(rows / best(3, partial(decode_all, copy, chunks, rows)))
            print(f"{name + label:>30}: encode {encoded[0] / 1e6:5.2f} / {encoded[1] / 1e6:5.2f}"
                  f"   decode {decoded[0] / 1e6:5.2f} / {decoded[1] / 1e6:5.2f}")
        for code, kind in ((0, "text"), (1, "binary")):
            rates = []
            for path in PATHS:
                use(path)
                rates.append(rows / best(3, partial(data_rows, batches, code)))
            print(f"{'DataRow ' + kind + label:>30}: encode {rates[0] / 1e6:5.2f} / "
                  f"{rates[1] / 1e6:5.2f}")
    use("compiled")


if __name__ == "__main__":
    main()
