#!/usr/bin/env python
"""Bulk reads in server CPU seconds, this checkout against another commit in the same
run: ``SELECT *`` through psycopg in text and binary, and ``COPY ... TO STDOUT``, of the
``bench_server.py`` table. CPU time (``/proc/PID/stat``, all the server's threads) is what
a loaded machine inflates least; wall time there mostly measures the wait for a core.

  python bench/bulk_cpu.py --baseline be48752^ --runs 7
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import baseline  # noqa: E402
import psycopg  # noqa: E402
from bench_server import TABLE, ForgeServer, duckdb_create_sql, machine_facts  # noqa: E402
from bench_statements import server_cpu  # noqa: E402

REPO = BENCH_DIR.parent


def _select(binary: bool) -> Callable[[psycopg.Connection], None]:
    def read(conn: psycopg.Connection) -> None:
        cur = conn.cursor(binary=binary)
        cur.execute(f"SELECT * FROM {TABLE}")
        cur.fetchall()
    return read


def _copy(conn: psycopg.Connection) -> None:
    with conn.cursor().copy(f"COPY {TABLE} TO STDOUT") as copy:
        for _ in copy:
            pass


READS = {"SELECT *, psycopg text": _select(False), "SELECT *, psycopg binary": _select(True),
         "COPY TO STDOUT": _copy}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", required=True, metavar="REF")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=7, help="reads per server, turn about")
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="forge-bulk-cpu-"))
    found: dict[tuple[str, str], list[float]] = {}
    try:
        with contextlib.ExitStack() as stack:
            other = stack.enter_context(baseline.checkout(args.baseline))
            servers = {}
            for target, source in (("after", REPO), ("baseline", other)):
                (workdir / target).mkdir()
                server = stack.enter_context(ForgeServer(workdir / target, source, target))
                assert server.endpoint is not None
                servers[target] = server.endpoint
                with psycopg.connect(server.endpoint.conninfo, autocommit=True) as conn:
                    conn.execute(duckdb_create_sql(args.rows))
            for _ in range(args.runs):
                for target, endpoint in servers.items():
                    with psycopg.connect(endpoint.conninfo, autocommit=True) as conn:
                        for name, read in READS.items():
                            before = server_cpu(endpoint.pid)
                            read(conn)
                            found.setdefault((name, target), []).append(
                                server_cpu(endpoint.pid) - before)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine_facts(None).items()))
    print(f"baseline: {baseline.describe(args.baseline)}; load average "
          f"{os.getloadavg()[0]:.1f}; server CPU seconds per read of {args.rows} rows, "
          f"median of {args.runs}; the clock ticks every 10 ms")
    for name in READS:
        after = statistics.median(found[(name, "after")])
        before = statistics.median(found[(name, "baseline")])
        ratio = f"{after / before:.2f}x" if before else "-"
        print(f"  {name:26s} after {after:.2f} s  baseline {before:.2f} s  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
