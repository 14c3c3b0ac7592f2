#!/usr/bin/env python
"""Where the engine spends a small statement's time: the dashboard sequence of
bench_statements.py (or ``SELECT 1``) run through forge-sql's engine in this process,
without the wire, under cProfile; prints each statement's time and the top functions.

  python bench/profile_statements.py                     # dashboard, 100 x 20 columns
  python bench/profile_statements.py --select1 5000      # SELECT 1, 5000 times
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from bench_statements import dashboard_create_sql, dashboard_statements  # noqa: E402

from forge_sql import errors  # noqa: E402
from forge_sql.config import Settings  # noqa: E402
from forge_sql.engine.backend import Engine  # noqa: E402
from forge_sql.engine.session import EngineSession  # noqa: E402
from forge_sql.seam.backend import PreparedStatement, StartupInfo  # noqa: E402


def run_one(session: EngineSession, sql: str, extended: bool) -> None:
    """As the wire does: Parse (extended) or split (simple), then execute and read."""
    statements: list[PreparedStatement] = (
        [session.prepare(sql, ())] if extended else session.split(sql)
    )
    for statement in statements:
        result = session.execute(statement, ())
        while result.next_batch() is not None:
            pass
        result.close()
        session.sync()
        session.ready()


def replay(session: EngineSession, statements: list[tuple[str, bool]]) -> dict[str, float]:
    times: dict[str, float] = {}
    for sql, extended in statements:
        start = time.perf_counter()
        try:
            run_one(session, sql, extended)
        except errors.ForgeError:
            session.error_occurred()
            session.ready()
        times[sql] = time.perf_counter() - start
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", type=int, default=100)
    p.add_argument("--columns", type=int, default=20)
    p.add_argument("--runs", type=int, default=3, help="profiled replays (after a warm-up)")
    p.add_argument("--select1", type=int, default=0, help="profile SELECT 1 this many times")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--sort", default="cumulative")
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="forge-profile-"))
    try:
        engine = Engine(Settings(data_dir=workdir / "data"))
        session = engine.open_session(StartupInfo("bench", engine.settings.database))
        if args.select1:
            statements = [("SELECT 1", True)] * args.select1
        else:
            for sql in dashboard_create_sql(args.tables, args.columns):
                run_one(session, sql, False)
            statements = dashboard_statements()
        replay(session, statements)  # warm-up
        profile = cProfile.Profile()
        totals: dict[str, list[float]] = {}
        start = time.perf_counter()
        for _ in range(args.runs):
            profile.enable()
            times = replay(session, statements)
            profile.disable()
            for sql, seconds in times.items():
                totals.setdefault(sql, []).append(seconds)
        wall = (time.perf_counter() - start) / args.runs
        print(f"one replay: {wall * 1e3:.1f} ms (profiled) over {len(statements)} statements")
        if not args.select1:
            slowest = sorted(totals.items(), key=lambda kv: -statistics.median(kv[1]))
            for sql, seconds in slowest[:15]:
                text = " ".join(sql.split())[:110]
                print(f"{statistics.median(seconds) * 1e3:8.2f} ms  {text}")
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
        session.close()
        engine.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
