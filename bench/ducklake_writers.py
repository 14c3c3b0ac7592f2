"""Concurrent writers of DuckLake in process (no server): why the server queues them.

  appends   N sessions of two-row INSERT transactions on one table, three ways: whole
            transactions queued (the server's ExclusiveLock), only COMMIT queued (what a
            shared RowExclusiveLock for appenders would give), nothing queued
  tables    N sessions each appending to its own table: commits free or queued
  commit    one session: the time of BEGIN / INSERT / INSERT / COMMIT

Usage: python bench/ducklake_writers.py [--sessions 16] [--seconds 8]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forge_sql.storage import ducklake


def lake(tables: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ducklake.attach(con, Path(tempfile.mkdtemp(prefix="ducklake-writers-")), "lake", 1000)
    con.execute("USE lake")
    for n in range(tables):
        con.execute(f"CREATE TABLE t{n} (s INTEGER, q INTEGER, part INTEGER)")
    return con


def run(
    con: duckdb.DuckDBPyConnection,
    sessions: int,
    seconds: float,
    table: Callable[[int], str],
    whole: threading.Lock | None,
    commit: threading.Lock | None,
) -> str:
    errors: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    guard = threading.Lock()
    stop = threading.Event()

    def work(session: int) -> None:
        cur = con.cursor()
        cur.execute("USE lake")
        seq = 0
        while not stop.is_set():
            began = time.perf_counter()
            if whole is not None:
                whole.acquire()
            try:
                cur.execute("BEGIN")
                for part in (1, 2):
                    cur.execute(f"INSERT INTO {table(session)} VALUES (?, ?, ?)",
                                (session, seq, part))
                if commit is not None:
                    with commit:
                        cur.execute("COMMIT")
                else:
                    cur.execute("COMMIT")
                with guard:
                    latencies.append(time.perf_counter() - began)
            except duckdb.Error as exc:
                with guard:
                    errors[str(exc).splitlines()[-1][:70]] += 1
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
            finally:
                if whole is not None:
                    whole.release()
            seq += 1

    threads = [threading.Thread(target=work, args=(s,)) for s in range(sessions)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies) or [float("nan")]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{len(latencies) / seconds:7.1f} tx/s  p99 {p99 * 1000:7.0f} ms  "
            f"errors {sum(errors.values())} {dict(errors) if errors else ''}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    n, secs = args.sessions, args.seconds
    print(f"appends, {n} sessions, one table")
    for label, whole, commit in (("transactions queued", threading.Lock(), None),
                                 ("commits queued", None, threading.Lock()),
                                 ("nothing queued", None, None)):
        print(f"  {label:<20}", run(lake(1), n, secs, lambda s: "t0", whole, commit), flush=True)
    print(f"appends, {n} sessions, a table each")
    for label, commit in (("nothing queued", None), ("commits queued", threading.Lock())):
        print(f"  {label:<20}", run(lake(n), n, secs, lambda s: f"t{s}", None, commit),
              flush=True)
    con = lake(1)
    steps: dict[str, list[float]] = collections.defaultdict(list)
    for seq in range(150):
        marks = [time.perf_counter()]
        for sql, params in (("BEGIN", ()), ("INSERT INTO t0 VALUES (1, ?, 1)", (seq,)),
                            ("INSERT INTO t0 VALUES (1, ?, 2)", (seq,)), ("COMMIT", ())):
            con.execute(sql, params)
            marks.append(time.perf_counter())
        for name, a, b in zip(("begin", "insert 1", "insert 2", "commit"), marks, marks[1:],
                              strict=False):
            steps[name].append(b - a)
    print("one session, medians:",
          ", ".join(f"{k} {statistics.median(v) * 1000:.2f} ms" for k, v in steps.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
