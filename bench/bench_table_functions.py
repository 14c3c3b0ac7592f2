#!/usr/bin/env python
"""A Python table function's rows through the server vs DuckDB's own range(), one run.

``COPY (SELECT * FROM bench_rows(N)) TO STDOUT`` (a table function yielding Arrow batches
of (i BIGINT, x DOUBLE), --batch rows each) against ``COPY (SELECT i, i / 2 AS x FROM
range(N) t(i)) TO STDOUT`` (the same columns and values), both read by psql (its output counted
in 1 MiB reads), on one fresh forge-sql server. Target (issue 17): the function's rate at least
70% of range()'s, and the server's peak RSS (VmHWM) under 1 GiB.

    python bench/bench_table_functions.py                 # 10M rows, 3 runs each
    python bench/bench_table_functions.py --rows 1000000 --runs 5
    python bench/bench_table_functions.py --rows 2000000 --via view   # or --via lateral

``--via view`` reads the call through a view, ``--via lateral`` through a LATERAL join:
DuckDB runs those calls itself and holds each call's rows whole (as Arrow), so the peak
RSS grows with the rows there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from bench_server import ForgeServer  # noqa: E402

EXTENSION = '''
import numpy as np
import pyarrow as pa

from forge_sql.ext import table

BATCH = {batch}


@table(columns={{"i": "BIGINT", "x": "DOUBLE"}})
def bench_rows(n: int):
    """n rows (i, i / 2) in Arrow batches."""
    for start in range(0, n, BATCH):
        i = np.arange(start, min(n, start + BATCH), dtype=np.int64)
        yield pa.record_batch([pa.array(i), pa.array(i / 2)], names=["i", "x"])
'''


def memory_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise LookupError(field)


def copy_seconds(dsn: str, query: str) -> tuple[float, int]:
    """Seconds psql takes to read ``COPY (query) TO STDOUT`` whole, and the bytes read."""
    started = time.perf_counter()
    reader = subprocess.Popen(["psql", dsn, "-X", "-w", "-c", f"COPY ({query}) TO STDOUT"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    size = 0
    while block := reader.stdout.read(1 << 20):
        size += len(block)
    failure = reader.stderr.read()
    elapsed = time.perf_counter() - started
    if reader.wait() != 0:
        raise RuntimeError(failure.decode(errors="replace"))
    return elapsed, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=65536, help="rows per yielded batch")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--via", choices=("direct", "view", "lateral"), default="direct",
                        help="call the function directly, through a view or in LATERAL")
    args = parser.parse_args()
    if shutil.which("psql") is None:
        print("psql is needed (make system-deps)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="forge-bench-tf-"))
    extensions = workdir / "extensions"
    extensions.mkdir()
    (extensions / "bench_rows.py").write_text(EXTENSION.format(batch=args.batch))
    server = ForgeServer(workdir, env={"FORGE_SQL_EXTENSIONS": str(extensions)})
    server.start()
    try:
        assert server.endpoint is not None and server.process is not None
        dsn, pid = server.endpoint.conninfo, server.endpoint.pid or server.process.pid
        function = {
            "direct": f"SELECT * FROM bench_rows({args.rows})",
            "view": "SELECT * FROM bench_view",
            "lateral": f"SELECT s.* FROM (VALUES ({args.rows})) t(n), LATERAL bench_rows(t.n) s",
        }[args.via]
        if args.via == "view":
            subprocess.run(["psql", dsn, "-X", "-w", "-q", "-c", "CREATE VIEW bench_view AS "
                            f"SELECT * FROM bench_rows({args.rows})"], check=True)
        builtin = f"SELECT i, i / 2 AS x FROM range({args.rows}) t(i)"
        baseline_kb = memory_kb(pid, "VmRSS")
        sizes = {copy_seconds(dsn, q)[1] for q in (function, builtin)}  # warm-up
        if len(sizes) != 1:
            raise RuntimeError(f"the two queries' outputs differ in size: {sizes}")
        times: dict[str, list[float]] = {"table function": [], "range()": []}
        for _ in range(args.runs):  # interleaved, so that load hits both alike
            times["table function"].append(copy_seconds(dsn, function)[0])
            times["range()"].append(copy_seconds(dsn, builtin)[0])
        peak_kb = memory_kb(pid, "VmHWM")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    rates = {name: args.rows / seconds for name, seconds in medians.items()}
    ratio = rates["table function"] / rates["range()"]
    print(f"COPY (...) TO STDOUT of {args.rows:,} rows (i BIGINT, x DOUBLE), called "
          f"{args.via}, {args.runs} runs each, medians; read by psql")
    for name in times:
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"  {name:15} {medians[name]:7.2f} s  {rates[name]:>12,.0f} rows/s  ({runs})")
    print(f"  rate ratio table function / range(): {ratio:.2f}  (target >= 0.70)")
    print(f"  server RSS: {baseline_kb / 1024:.0f} MiB before, peak {peak_kb / 1024:.0f} MiB"
          f"  (target < 1024 MiB)")
    print(json.dumps({"rows": args.rows, "batch": args.batch, "via": args.via, "runs": times,
                      "ratio": round(ratio, 3), "peak_rss_kb": peak_kb,
                      "cpus": os.cpu_count()}))
    return 0 if ratio >= 0.7 and peak_kb < 1 << 20 else 1


if __name__ == "__main__":
    sys.exit(main())
