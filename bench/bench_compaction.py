#!/usr/bin/env python
"""Small commits, then compaction: query time and Parquet files before and after.

A table filled by --commits INSERTs of --rows rows each (inline_rows = 0: every commit
writes a Parquet file), queried through psycopg; then CALL forge_compact(),
forge_expire('0s') and forge_cleanup('0s') on the running server, and the same queries.
Prints medians of --runs runs and the ratio before / after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from bench_server import ForgeServer  # noqa: E402

QUERIES = {
    "aggregate": "SELECT count(*), sum(v), avg(x) FROM t",
    "point": "SELECT * FROM t WHERE id = 4242",
}


def timed(conn: psycopg.Connection, sql: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def files(data_dir: Path) -> int:
    return sum(1 for _ in (data_dir / "lake" / "public" / "t").glob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "forge.toml"
        config.write_text("inline_rows = 0\n[maintenance]\ninterval = 0\nat_startup = false\n")
        os.environ["FORGE_SQL_CONFIG"] = str(config)
        server = ForgeServer(Path(tmp))
        server.start()
        try:
            assert server.endpoint is not None
            with server.endpoint.psycopg() as conn:
                conn.execute("CREATE TABLE t (id BIGINT, v INTEGER, x DOUBLE)")
                started = time.perf_counter()
                for n in range(args.commits):
                    conn.execute(
                        f"INSERT INTO t SELECT {n * args.rows} + range, range % 7, range * 0.5 "
                        f"FROM range({args.rows})"
                    )
                filled = time.perf_counter() - started
                before = {name: timed(conn, sql, args.runs) for name, sql in QUERIES.items()}
                files_before = files(server.data_dir)
                started = time.perf_counter()
                for call in ("forge_compact()", "forge_expire('0s')", "forge_cleanup('0s')"):
                    conn.execute(f"CALL {call}").fetchall()
                maintained = time.perf_counter() - started
                after = {name: timed(conn, sql, args.runs) for name, sql in QUERIES.items()}
                files_after = files(server.data_dir)
        finally:
            server.stop()
    print(f"{args.commits} commits of {args.rows} rows: {filled:.1f} s; "
          f"compact + expire + cleanup: {maintained:.2f} s")
    print(f"Parquet files: {files_before} before, {files_after} after")
    print("| query | before | after | before / after |")
    print("|---|---|---|---|")
    for name in QUERIES:
        print(f"| {name} | {before[name] * 1000:.1f} ms | {after[name] * 1000:.1f} ms "
              f"| {before[name] / after[name]:.1f}x |")


if __name__ == "__main__":
    main()
