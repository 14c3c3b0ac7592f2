"""DuckLake in process (no server): catalog changes on one cursor while other cursors of
the same database run transactions on the lake, as the job scheduler did beside a session's
DDL. Each trial runs in a child process, so a crash (a signal, or DuckDB's FATAL abort) is
seen as the child's exit status. ``--serialised`` takes one lock around every transaction,
as the server's catalog lock (forge_sql.engine.locks) does.

  python bench/ducklake_ddl_race.py [--seconds 60] [--trial-seconds 15] [--readers 2]
                                    [--changers 1] [--serialised]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forge_sql.storage import ducklake


def trial(seconds: float, readers: int, changers: int, serialised: bool) -> None:
    """Runs in the child: the counts it reached are printed; a crash ends it."""
    con = duckdb.connect()
    ducklake.attach(con, Path(tempfile.mkdtemp(prefix="ducklake-race-")), "lake", 1000)
    con.execute("USE lake")
    con.execute("CREATE TABLE jobs (jobid INTEGER, last_tick TIMESTAMPTZ)")
    con.execute("CREATE TABLE runs (runid BIGINT, status VARCHAR)")
    con.execute("INSERT INTO jobs VALUES (1, NULL)")
    lock = threading.Lock() if serialised else None
    stop = threading.Event()
    counts: Counter[str] = Counter()

    def guarded() -> contextlib.AbstractContextManager[object]:
        return lock if lock is not None else contextlib.nullcontext()

    def changes(worker: int) -> None:
        cursor = con.cursor()
        cursor.execute("USE lake")
        n = 0
        while not stop.is_set():
            name = f"t_{worker}_{n % 3}"
            try:
                with guarded():
                    cursor.execute("BEGIN")
                    cursor.execute(f"DROP TABLE IF EXISTS {name}")
                    cursor.execute(f"CREATE TABLE {name} AS SELECT {n} AS v, 'x' AS s")
                    cursor.execute(f"ALTER TABLE {name} RENAME TO {name}_r")
                    cursor.execute(f"COMMENT ON TABLE {name}_r IS 'n {n}'")
                    cursor.execute(f"ALTER TABLE {name}_r RENAME TO {name}")
                    cursor.execute("COMMIT")
                counts["catalog changes"] += 1
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    cursor.execute("ROLLBACK")
                counts[f"error: {str(exc).splitlines()[0][:80]}"] += 1
            n += 1

    def scheduler(worker: int) -> None:
        cursor = con.cursor()
        cursor.execute("USE lake")
        n = 0
        while not stop.is_set():
            try:
                with guarded():
                    cursor.execute("BEGIN")
                    cursor.execute("SELECT j.jobid, (SELECT max(r.runid) FROM runs r) "
                                   "FROM jobs j ORDER BY jobid").fetchall()
                    cursor.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                   "WHERE database_name = 'lake'").fetchall()
                    if n % 2:
                        cursor.execute("UPDATE jobs SET last_tick = now() WHERE jobid = 1")
                        cursor.execute("INSERT INTO runs VALUES (?, 'starting')",
                                       [worker * 10**9 + n])
                    cursor.execute("COMMIT")
                counts["scheduler transactions"] += 1
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    cursor.execute("ROLLBACK")
                counts[f"error: {str(exc).splitlines()[0][:80]}"] += 1
            n += 1

    threads = [threading.Thread(target=changes, args=(w,), daemon=True)
               for w in range(changers)]
    threads += [threading.Thread(target=scheduler, args=(w,), daemon=True)
                for w in range(readers)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    print(dict(counts), flush=True)


def describe(code: int | None) -> str:
    if code is None:
        return "hung"
    if code < 0:
        return f"terminated by signal {-code}: {signal.strsignal(-code)}"
    return f"exit code {code}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--trial-seconds", type=float, default=15)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--changers", type=int, default=1)
    parser.add_argument("--serialised", action="store_true")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    outcomes: Counter[str] = Counter()
    started = time.monotonic()
    trials = 0
    while time.monotonic() - started < args.seconds:
        trials += 1
        child = context.Process(target=trial,
                                args=(args.trial_seconds, args.readers, args.changers,
                                      args.serialised))
        begun = time.monotonic()
        child.start()
        child.join(args.trial_seconds + 120)
        if child.is_alive():
            child.kill()
            child.join()
            code = None
        else:
            code = child.exitcode
        outcome = "completed" if code == 0 else describe(code)
        outcomes[outcome] += 1
        print(f"trial {trials}: {outcome} after {time.monotonic() - begun:.1f} s", flush=True)
    print(f"{trials} trials ({'serialised' if args.serialised else 'concurrent'}): "
          f"{dict(outcomes)}")
    return 0 if set(outcomes) == {"completed"} else 1


if __name__ == "__main__":
    sys.exit(main())
