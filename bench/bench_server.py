#!/usr/bin/env python
"""forge-sql vs PostgreSQL vs in-process DuckDB, measured in one run.

Workloads (see bench/README.md):
  select     SELECT of all rows (id, name, amount, ts, flag) through psycopg text
             and binary cursors and asyncpg fetch; DuckDB fetchall() and arrow.
  latency    ``SELECT 1`` round trips, p50/p99, psycopg simple and prepared.
  aggregate  GROUP BY flag and GROUP BY id % 1000 over the same table.

The script starts its own forge-sql server (temporary data dir) and, unless
``--pg-dsn`` or ``--no-pg`` is given, its own PostgreSQL server (bench/pg.py), and
stops both at the end. It prints one line per measurement, then a table of medians
with ratios, and writes everything as JSON to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import duckdb
import psycopg
import pyarrow
from psycopg.conninfo import conninfo_to_dict

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import baseline  # noqa: E402
from pg import ManagedServer, PostgresServer  # noqa: E402

FORGE, PG, DUCK = "forge-sql", "PostgreSQL", "DuckDB"
BASE = "baseline"  # forge-sql of another commit (--baseline)
DUCK_REF = "fetchall"  # the DuckDB client every forge-sql row is compared with
WORKLOADS = ("select", "latency", "aggregate")
TABLE = "bench_t"
SELECT_ALL = f"SELECT id, name, amount, ts, flag FROM {TABLE}"
AGGREGATES = {
    "group by flag": f"SELECT flag, count(*), sum(amount), avg(amount) FROM {TABLE} "
                     "GROUP BY flag",
    "group by id % 1000": f"SELECT id % 1000 AS k, count(*), sum(amount), avg(amount) "
                          f"FROM {TABLE} GROUP BY id % 1000",
}
FORGE_START_TIMEOUT = 300  # a loaded machine has taken over a minute


def duckdb_create_sql(rows: int, table: str = TABLE) -> str:
    return (f"CREATE TABLE {table} AS SELECT range AS id, 'name-' || range AS name, "
            "random()*1000 AS amount, TIMESTAMP '2024-01-01' + INTERVAL (range) SECOND AS ts, "
            f"range % 2 = 0 AS flag FROM range({rows})")


def pg_load_sql(rows: int, table: str = TABLE) -> list[str]:
    return [
        f"DROP TABLE IF EXISTS {table}",
        f"CREATE TABLE {table} (id bigint, name varchar, amount double precision, "
        "ts timestamp, flag boolean)",
        f"INSERT INTO {table} SELECT g, 'name-' || g, random()*1000, "
        "timestamp '2024-01-01' + g * interval '1 second', g % 2 = 0 "
        f"FROM generate_series(0, {rows - 1}) g",
        f"VACUUM ANALYZE {table}",
    ]


# --------------------------------------------------------------------------- results

@dataclass
class Result:
    label: str          # table row, e.g. "select 1000000 rows", "SELECT 1 p50"
    client: str         # "psycopg text", "asyncpg fetch", "fetchall", ...
    target: str         # FORGE, PG or DUCK
    query: str
    rows: int | None    # rows read per run, for rows/s (None for latency)
    runs: list[float] = field(default_factory=list)  # seconds per run
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs and not self.error else None


class Recorder:
    def __init__(self) -> None:
        self.results: list[Result] = []

    def add(self, result: Result, note: str = "") -> None:
        self.results.append(result)
        head = f"{result.label:<22} {result.client:<18} {result.target:<10}"
        if result.error:
            print(f"{head} ERROR {result.error}  [query: {result.query}]", flush=True)
        else:
            runs = ", ".join(fmt_time(t) for t in result.runs)
            print(f"{head} median {fmt_time(result.median)}  ({runs}){note}", flush=True)

    def find(self, label: str, client: str, target: str) -> Result | None:
        for result in self.results:
            if (result.label, result.client, result.target) == (label, client, target):
                return result
        return None


def error_text(error: BaseException) -> str:
    sqlstate = getattr(error, "sqlstate", None)
    text = f"{type(error).__name__}: {str(error).strip()}"
    return f"{text} (SQLSTATE {sqlstate})" if sqlstate else text


# --------------------------------------------------------------------------- timing

class Deadline(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise Deadline in the main thread if the block runs longer than ``seconds``."""
    def expire(signum: int, frame: object) -> None:
        raise Deadline(f"timed out after {seconds:g}s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def time_runs(run: Callable[[], int], runs: int, expect_rows: int | None) -> list[float]:
    """One untimed warm-up, then ``runs`` timed calls; ``run`` returns its row count."""
    return interleave({"": run}, runs, expect_rows)[""]


def interleave(runners: dict[str, Callable[[], int]], runs: int,
               expect_rows: int | None) -> dict[str, list[float]]:
    """Seconds of each of ``runs`` timed calls per target, run i of every target before
    run i+1 of any: a machine that slows down during the bench slows every target alike,
    so the medians stay comparable. Each runner is warmed up once, untimed."""
    for target, run in runners.items():
        got = run()
        if expect_rows is not None and got != expect_rows:
            raise AssertionError(f"{target}: expected {expect_rows} rows, got {got}")
    times: dict[str, list[float]] = {target: [] for target in runners}
    for _ in range(runs):
        for target, run in runners.items():
            gc.collect()
            start = time.perf_counter()
            run()
            times[target].append(time.perf_counter() - start)
    return times


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency_runs(ones: dict[str, Callable[[], Any]], iters: int,
                 runs: int) -> dict[str, dict[str, list[float]]]:
    """``runs`` runs of ``iters`` round trips per target, the targets' runs alternating;
    p50 and p99 of each run."""
    for one in ones.values():
        for _ in range(min(iters, 200)):
            one()
    out: dict[str, dict[str, list[float]]] = {t: {"p50": [], "p99": []} for t in ones}
    clock = time.perf_counter
    for _ in range(runs):
        for target, one in ones.items():
            gc.collect()
            samples = []
            for _ in range(iters):
                start = clock()
                one()
                samples.append(clock() - start)
            out[target]["p50"].append(percentile(samples, 0.50))
            out[target]["p99"].append(percentile(samples, 0.99))
    return out


# --------------------------------------------------------------------------- servers

@dataclass
class Endpoint:
    """Where a server-side target listens, as psycopg conninfo and asyncpg kwargs; ``pid``
    is the server's process (PostgreSQL's postmaster) when the bench started it."""
    target: str
    conninfo: str
    pid: int | None = None

    def psycopg(self) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, autocommit=True)

    def asyncpg_kwargs(self) -> dict[str, Any]:
        info = conninfo_to_dict(self.conninfo)
        kwargs = {"host": info.get("host"), "port": int(str(info.get("port", 5432))),
                  "user": info.get("user"), "database": info.get("dbname"),
                  "password": info.get("password")}
        return {k: v for k, v in kwargs.items() if v is not None}


def serving_pid(pid: int) -> int:
    """The process serving clients: the server process the supervisor ``pid`` started
    (forge_sql.postmaster), or ``pid`` itself (a checkout without a supervisor)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return next(int(c) for c in children  # not a process the server started
                    if b"--listen-fds" in Path(f"/proc/{c}/cmdline").read_bytes())
    except (OSError, StopIteration):
        return pid


class ForgeServer(ManagedServer):
    """``python -m forge_sql serve --port 0`` in a temp data dir; waits for 'listening on'."""

    def __init__(self, workdir: Path, source: Path = REPO, target: str = FORGE,
                 env: dict[str, str] | None = None) -> None:
        """``source``: the checkout whose forge_sql runs (bench/baseline.py makes others);
        ``target``: the name results carry; ``env``: added to the server's environment."""
        self.data_dir = workdir / "forge-data"
        self.log_file = workdir / "forge-sql.log"
        self.source = source
        self.target = target
        self.env = env or {}
        self.process: subprocess.Popen[str] | None = None
        self.endpoint: Endpoint | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "forge_sql", "serve", "--port", "0",
                   "--data-dir", str(self.data_dir)]
        # The checkout's package comes first on the path, before the editable install's.
        env = {**os.environ, **self.env, "PYTHONPATH": str(self.source)}
        with open(self.log_file, "w") as stderr:
            self.process = subprocess.Popen(command, cwd=self.source, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=stderr, text=True,
                                            env=env)
        assert self.process.stdout is not None
        end = time.monotonic() + FORGE_START_TIMEOUT
        while time.monotonic() < end and self.process.poll() is None:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.5)
            line = self.process.stdout.readline() if ready else ""
            if line.startswith("listening on "):
                host, _, port = line.split()[-1].rpartition(":")
                self.endpoint = Endpoint(self.target, f"host={host} port={port} dbname=forge "
                                                "user=bench connect_timeout=10",
                                         serving_pid(self.process.pid))
                return
        raise RuntimeError(f"forge-sql did not start:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_file.read_text(errors="replace")[-chars:] if self.log_file.exists() else ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load_server(endpoint: Endpoint, statements: list[str]) -> float:
    start = time.perf_counter()
    with endpoint.psycopg() as conn:
        for sql in statements:
            try:
                conn.execute(sql)
            except psycopg.Error as error:
                raise RuntimeError(f"{endpoint.target} failed to load the table: "
                                   f"{error_text(error)}\n  query: {sql}") from error
    return time.perf_counter() - start


def load_duckdb(path: Path, rows: int) -> tuple[duckdb.DuckDBPyConnection, float]:
    start = time.perf_counter()
    con = duckdb.connect(str(path))
    con.execute(duckdb_create_sql(rows))
    return con, time.perf_counter() - start


# --------------------------------------------------------------------------- workloads

Runner = Callable[[Endpoint], contextlib.AbstractContextManager[Callable[[], Any]]]


class Bench:
    """The workloads. The servers (forge-sql, --baseline's, PostgreSQL) are measured with
    their runs alternating (``interleave``); in-process DuckDB on its own."""

    def __init__(self, args: argparse.Namespace, endpoints: list[Endpoint],
                 duck: duckdb.DuckDBPyConnection) -> None:
        self.args = args
        self.endpoints = endpoints
        self.duck = duck
        self.rec = Recorder()

    def measure(self, label: str, client: str, target: str, query: str,
                rows: int | None, body: Callable[[], list[float]]) -> None:
        result = Result(label, client, target, query, rows)
        try:
            with deadline(self.args.timeout):
                result.runs = body()
        except Exception as error:  # reported, the bench goes on
            result.error = error_text(error)
        self.rec.add(result)

    def measure_servers(self, label: str, client: str, query: str, rows: int | None,
                        runner: Runner, runs: int, expect_rows: int) -> None:
        """Every server's runs of ``query`` through ``runner``'s client, alternating."""
        times: dict[str, list[float]] = {}
        error = None
        try:
            with deadline(self.args.timeout * len(self.endpoints)), \
                    contextlib.ExitStack() as stack:
                runners = {e.target: stack.enter_context(runner(e)) for e in self.endpoints}
                times = interleave(runners, runs, expect_rows)
        except Exception as exc:  # reported, the bench goes on
            error = error_text(exc)
        for endpoint in self.endpoints:
            self.rec.add(Result(label, client, endpoint.target, query, rows,
                                times.get(endpoint.target, []), error))

    # ---- select

    def select(self) -> None:
        rows, runs = self.args.rows, self.args.runs
        label = f"select {rows} rows"
        clients: list[tuple[str, Runner]] = [
            ("psycopg text", partial(psycopg_runner, SELECT_ALL, False)),
            ("psycopg binary", partial(psycopg_runner, SELECT_ALL, True)),
            ("asyncpg fetch", partial(asyncpg_runner, SELECT_ALL, self.args.timeout)),
        ]
        for client, runner in clients:
            self.measure_servers(label, client, SELECT_ALL, rows, runner, runs, rows)
        self.measure(label, "fetchall", DUCK, SELECT_ALL, rows,
                     partial(self._duck_query, SELECT_ALL, runs, rows))
        self.measure(label, "arrow", DUCK, SELECT_ALL, rows,
                     partial(self._duck_query, SELECT_ALL, runs, rows, arrow=True))

    # ---- latency

    def latency(self) -> None:
        query, iters, runs = "SELECT 1", self.args.latency_iters, self.args.fast_runs
        for client, prepare in (("psycopg simple", False), ("psycopg prepared", True)):
            stats: dict[str, dict[str, list[float]]] = {}
            error = None
            try:
                with deadline(self.args.timeout * len(self.endpoints)), \
                        contextlib.ExitStack() as stack:
                    ones = {e.target: stack.enter_context(
                        psycopg_round_trip(query, prepare, e)) for e in self.endpoints}
                    stats = latency_runs(ones, iters, runs)
            except Exception as exc:  # reported, the bench goes on
                error = error_text(exc)
            for endpoint in self.endpoints:
                self._record_latency(client, endpoint.target, query,
                                     stats.get(endpoint.target, {}), error)
        error = None
        try:
            with deadline(self.args.timeout):
                duck = latency_runs({DUCK: partial(self._duck_fetchall, query)}, iters, runs)
        except Exception as exc:
            duck, error = {}, error_text(exc)
        self._record_latency(DUCK_REF, DUCK, query, duck.get(DUCK, {}), error)

    def _record_latency(self, client: str, target: str, query: str,
                        stats: dict[str, list[float]], error: str | None) -> None:
        note = f"  [{self.args.fast_runs} x {self.args.latency_iters} round trips]"
        for stat in ("p50", "p99"):
            self.rec.add(Result(f"{query} {stat}", client, target, query, None,
                                stats.get(stat, []), error), note)

    # ---- aggregate

    def aggregate(self) -> None:
        rows, runs = self.args.rows, self.args.fast_runs
        groups = {"group by flag": min(2, rows), "group by id % 1000": min(1000, rows)}
        for label, query in AGGREGATES.items():
            self.measure_servers(label, "psycopg text", query, rows,
                                 partial(psycopg_runner, query, False), runs, groups[label])
            self.measure(label, DUCK_REF, DUCK, query, rows,
                         partial(self._duck_query, query, runs, groups[label]))

    # ---- in-process DuckDB

    def _duck_fetchall(self, query: str) -> int:
        return len(self.duck.execute(query).fetchall())

    def _duck_query(self, query: str, runs: int, expect_rows: int,
                    arrow: bool = False) -> list[float]:
        if arrow:
            return time_runs(lambda: self.duck.execute(query).to_arrow_table().num_rows,
                             runs, expect_rows)
        return time_runs(partial(self._duck_fetchall, query), runs, expect_rows)


# ---- clients: each opens a connection and gives one timed call

@contextlib.contextmanager
def psycopg_runner(query: str, binary: bool, endpoint: Endpoint) -> Iterator[Callable[[], int]]:
    with endpoint.psycopg() as conn, conn.cursor(binary=binary) as cur:
        def run() -> int:
            cur.execute(query)
            return len(cur.fetchall())
        yield run


@contextlib.contextmanager
def psycopg_round_trip(query: str, prepare: bool,
                       endpoint: Endpoint) -> Iterator[Callable[[], None]]:
    # prepare=False: simple query protocol, never auto-prepared (psycopg prepares after 5
    # executions by default); prepare=True: Parse once, then Bind/Execute.
    with endpoint.psycopg() as conn, conn.cursor() as cur:
        def one() -> None:
            cur.execute(query, prepare=prepare)
            cur.fetchall()
        yield one


@contextlib.contextmanager
def asyncpg_runner(query: str, timeout: float,
                   endpoint: Endpoint) -> Iterator[Callable[[], int]]:
    loop = asyncio.new_event_loop()
    try:
        conn = loop.run_until_complete(asyncpg.connect(
            **endpoint.asyncpg_kwargs(), timeout=10, command_timeout=timeout))
        try:
            yield lambda: len(loop.run_until_complete(conn.fetch(query)))
        finally:
            loop.run_until_complete(conn.close(timeout=10))
    finally:
        loop.close()


# --------------------------------------------------------------------------- report

def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def fmt_rate(rows: int | None, seconds: float | None) -> str:
    if not rows or not seconds:
        return "-"
    rate = rows / seconds
    return f"{rate / 1e6:.2f}M/s" if rate >= 1e6 else f"{rate / 1e3:.0f}k/s"


def fmt_ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def table_rows(rec: Recorder, with_baseline: bool = False) -> list[list[str]]:
    """One row per (workload, client); DuckDB-only clients other than fetchall get their own.
    ``with_baseline``: two more columns, after forge-sql's, for --baseline's server."""
    keys: list[tuple[str, str, bool]] = []
    for r in rec.results:
        key = (r.label, r.client, r.target == DUCK)
        if (r.target != DUCK or r.client != DUCK_REF) and key not in keys:
            keys.append(key)
    out = []
    for label, client, duck_only in keys:
        forge = None if duck_only else rec.find(label, client, FORGE)
        pg = None if duck_only else rec.find(label, client, PG)
        duck = rec.find(label, client if duck_only else DUCK_REF, DUCK)
        base = None if duck_only else rec.find(label, client, BASE)
        f, p, d, b = (x.median if x else None for x in (forge, pg, duck, base))
        rows = next((x.rows for x in (forge, pg, duck) if x), None)
        shown = f"DuckDB {client} (ref)" if duck_only else client
        row = [label, shown, cell(forge), cell(pg), cell(duck), fmt_rate(rows, f),
               fmt_rate(rows, p), fmt_ratio(f, p), fmt_ratio(f, d)]
        if with_baseline:
            row[3:3] = [cell(base), fmt_ratio(f, b)]
        out.append(row)
    return out


def cell(result: Result | None) -> str:
    if result is None:
        return "-"
    return "ERROR" if result.error else fmt_time(result.median)


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def machine_facts(pg_version: str | None) -> dict[str, Any]:
    def read(path: str, key: str) -> str:
        with contextlib.suppress(OSError):
            for text in Path(path).read_text().splitlines():
                if text.startswith(key):
                    return text.split(":", 1)[1].strip()
        return "?"
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "forge_sql"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    import forge_sql
    return {
        "nproc": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu": read("/proc/cpuinfo", "model name"), "mem": read("/proc/meminfo", "MemTotal"),
        "platform": platform.platform(), "python": platform.python_version(),
        "duckdb": duckdb.__version__, "psycopg": psycopg.__version__,
        "libpq": psycopg.pq.version(), "asyncpg": asyncpg.__version__,
        "pyarrow": pyarrow.__version__, "postgresql": pg_version,
        "forge_sql": getattr(forge_sql, "__version__", "?"),
        "git": f"{git}{' (forge_sql/ modified)' if dirty else ''}",
    }


def report(args: argparse.Namespace, rec: Recorder, facts: dict[str, Any],
           loads: dict[str, float]) -> Path:
    command = " ".join([Path(sys.executable).name, *sys.argv])
    print()
    print(f"command: {command}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    print(f"load {args.rows} rows: " + ", ".join(f"{k} {fmt_time(v)}" for k, v in loads.items()))
    print()
    header = ["workload", "client", FORGE, PG, "DuckDB", "forge rows/s", "PG rows/s",
              "forge/PG", "forge/DuckDB"]
    with_baseline = any(r.target == BASE for r in rec.results)
    if with_baseline:
        header[3:3] = [f"{BASE} {args.baseline}", "forge/baseline"]
    print_table(header, table_rows(rec, with_baseline))
    print("DuckDB = in-process duckdb execute(q).fetchall() (the 'arrow' row: "
          ".to_arrow_table()); times are medians; ratios > 1 mean forge-sql is slower.")
    errors = [r for r in rec.results if r.error]
    for r in errors:
        print(f"ERROR {r.target} {r.label} / {r.client}: {r.error}\n  query: {r.query}")
    path = BENCH_DIR / "results" / f"{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "command": command, "args": vars(args), "machine": facts, "load_seconds": loads,
        "results": [{**asdict(r), "median": r.median} for r in rec.results],
    }, indent=2))
    print(f"results: {path.relative_to(REPO)}")
    return path


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="table rows (default 1M)")
    p.add_argument("--runs", type=int, default=3, help="timed runs of the big selects")
    p.add_argument("--fast-runs", type=int, default=5,
                   help="timed runs of latency and aggregate measurements")
    p.add_argument("--latency-iters", type=int, default=2000, help="round trips per run")
    p.add_argument("--only", default=",".join(WORKLOADS),
                   help="comma list of: select,latency,aggregate")
    p.add_argument("--pg-dsn", help="use this PostgreSQL (libpq conninfo) instead of "
                                    "starting one; the table bench_t is replaced")
    p.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    p.add_argument("--timeout", type=float, default=900, help="seconds per measurement")
    p.add_argument("--baseline", metavar="REF",
                   help="also measure forge-sql at this git ref (bench/baseline.py checks it "
                        "out in a temporary worktree), e.g. be48752")
    args = p.parse_args(argv)
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = set(args.only) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workloads in --only: {', '.join(sorted(unknown))}")
    if args.rows < 1 or args.runs < 1 or args.fast_runs < 1:
        p.error("--rows, --runs and --fast-runs must be positive")
    return args


@contextlib.contextmanager
def postgres(args: argparse.Namespace, tables: tuple[str, ...] = (TABLE,)
             ) -> Iterator[tuple[Endpoint | None, str | None]]:
    """The PostgreSQL to compare with: none (--no-pg), --pg-dsn (``tables`` dropped at
    the end) or a throwaway server of our own."""
    if args.no_pg:
        yield None, None
        return
    if args.pg_dsn:
        endpoint = Endpoint(PG, args.pg_dsn)
        with endpoint.psycopg() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        version = row[0] if row else "?"
        try:
            yield endpoint, version
        finally:
            with contextlib.suppress(Exception), endpoint.psycopg() as conn:
                for table in tables:
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
        return
    with PostgresServer(log=lambda m: print(m, flush=True)) as server:
        print(f"PostgreSQL {server.version} started on 127.0.0.1:{server.port}", flush=True)
        assert server.process is not None
        yield Endpoint(PG, server.dsn, server.process.pid), server.version


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="forge-bench-"))
    try:
        with contextlib.ExitStack() as stack:
            forge = stack.enter_context(ForgeServer(workdir))
            pg, pg_version = stack.enter_context(postgres(args))
            assert forge.endpoint is not None
            print(f"forge-sql started on {forge.endpoint.conninfo.split(' dbname')[0]}",
                  flush=True)
            loads = {FORGE: load_server(forge.endpoint, [duckdb_create_sql(args.rows)])}
            endpoints = [forge.endpoint]
            if args.baseline:
                source = stack.enter_context(baseline.checkout(args.baseline))
                (workdir / BASE).mkdir()
                other = stack.enter_context(ForgeServer(workdir / BASE, source, BASE))
                assert other.endpoint is not None
                print(f"baseline {baseline.describe(args.baseline)} started", flush=True)
                loads[BASE] = load_server(other.endpoint, [duckdb_create_sql(args.rows)])
                endpoints.append(other.endpoint)
            if pg is not None:
                loads[PG] = load_server(pg, pg_load_sql(args.rows))
                endpoints.append(pg)
            duck, loads[DUCK] = load_duckdb(workdir / "duck.db", args.rows)
            bench = Bench(args, endpoints, duck)
            try:
                for workload in WORKLOADS:
                    if workload in args.only:
                        getattr(bench, workload)()
            finally:
                duck.close()
            if not forge.alive():
                print(f"forge-sql exited during the bench; its log:\n{forge.log_tail()}")
            report(args, bench.rec, machine_facts(pg_version), loads)
            return 1 if any(r.error for r in bench.rec.results) else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds, so the servers get stopped
    signal.signal(signal.SIGTERM, terminate)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
