#!/usr/bin/env python
"""What RETURNING costs on a lake table: a 1M-row INSERT ... SELECT with and without
RETURNING, and a single-row INSERT ... RETURNING id against the same INSERT without it
(p50 over psycopg's extended protocol, autocommit); and an INSERT ... ON CONFLICT of a
tenth as many rows, half of them conflicting, into the 1M-row table. Prints each time and
its ratio to the plain INSERT of the same kind (the upserts: to the 1M-row one).

    .venv/bin/python bench/bench_returning.py [--rows 1000000] [--iters 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from bench_server import ForgeServer, fmt_time, print_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--iters", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        server = ForgeServer(Path(work))
        server.start()
        try:
            assert server.endpoint is not None
            with server.endpoint.psycopg() as conn:
                rows = measure(conn, args.rows, args.iters)
        finally:
            server.stop()
    print_table(["workload", "variant", "time", "ratio"], rows)


def measure(conn, rows: int, iters: int) -> list[list[str]]:  # type: ignore[no-untyped-def]
    table: list[list[str]] = []
    bulk: dict[str, float] = {}
    for variant, tail in (("plain", ""), ("RETURNING id", " RETURNING id"),
                          ("RETURNING *", " RETURNING *")):
        conn.execute("DROP TABLE IF EXISTS bulk")
        conn.execute("CREATE TABLE bulk (id bigint NOT NULL, name varchar, amount double)")
        start = time.perf_counter()
        cursor = conn.execute(
            f"INSERT INTO bulk SELECT i, 'name ' || i, i * 0.5 FROM range({rows}) t(i){tail}"
        )
        if cursor.description is not None:
            fetched = len(cursor.fetchall())
            assert fetched == rows, fetched
        bulk[variant] = time.perf_counter() - start
        table.append([f"INSERT ... SELECT {rows:,} rows", variant, fmt_time(bulk[variant]),
                      f"{bulk[variant] / bulk['plain']:.2f}x"])
    # Upserts into the table just filled: half of the keys are there already.
    conn.execute("DROP TABLE IF EXISTS bulk")
    conn.execute("CREATE TABLE bulk (id bigint PRIMARY KEY, name varchar, amount double)")
    conn.execute(f"INSERT INTO bulk SELECT i, 'name ' || i, i * 0.5 FROM range({rows}) t(i)")
    batch = max(rows // 10, 1)
    upsert: dict[str, float] = {}
    for variant, action in (("DO NOTHING", "DO NOTHING"),
                            ("DO UPDATE", "DO UPDATE SET amount = excluded.amount")):
        start = time.perf_counter()
        conn.execute(
            f"INSERT INTO bulk SELECT i, 'new', 1.0 FROM range({rows - batch // 2}, "
            f"{rows + batch // 2 + len(upsert) * batch}) t(i) ON CONFLICT (id) {action}"
        )
        upsert[variant] = time.perf_counter() - start
        table.append([f"INSERT ... ON CONFLICT {batch:,} rows", variant,
                      fmt_time(upsert[variant]), f"{upsert[variant] / bulk['plain']:.2f}x"])
    single: dict[str, float] = {}
    conn.execute("DROP TABLE IF EXISTS single")
    conn.execute("CREATE TABLE single (id bigint NOT NULL, name varchar)")
    for variant, tail in (("plain", ""), ("RETURNING id", " RETURNING id")):
        times = []
        for i in range(iters):
            start = time.perf_counter()
            cursor = conn.execute(f"INSERT INTO single VALUES (%s, %s){tail}", (i, "x"),
                                  prepare=True)
            if cursor.description is not None:
                cursor.fetchall()
            times.append(time.perf_counter() - start)
        single[variant] = statistics.median(times)
        table.append(["single-row INSERT p50", variant, fmt_time(single[variant]),
                      f"{single[variant] / single['plain']:.2f}x"])
    return table


if __name__ == "__main__":
    main()
