#!/usr/bin/env python
"""Bulk-data targets: forge-sql vs PostgreSQL vs in-process DuckDB (DuckLake), one run.

Workloads (``--only``, see bench/README.md), each with its target:
  copy        COPY FROM STDIN through psycopg, text and csv, the same pre-generated
              bytes to both servers in large chunks; table dropped and re-created
              before every run.                         forge rows/s >= 2x PostgreSQL
  adbc        SELECT * through adbc_driver_postgresql into an Arrow table (the driver
              runs COPY (...) TO STDOUT (FORMAT binary)).        >= 1.5x PostgreSQL
  select      SELECT * through psycopg text and binary cursors.  >= 1.0x PostgreSQL
  aggregate   GROUP BY id % 1000 over --agg-rows (10M) rows.     >= 10x PostgreSQL and
              forge time <= 1.5 x in-process DuckDB time + 5 ms
  concurrent  --clients (8) threads, own psycopg connection each, each running the
              aggregate --per-client times; queries/s.           >= 5x PostgreSQL
  rss         a fresh forge-sql streams SELECT of --rss-rows rows generated server-side
              to psycopg ``cursor.stream()``; the server's VmHWM.        < 1 GiB

The in-process DuckDB reference runs on a DuckLake attached exactly as forge-sql
attaches its own (forge_sql.storage.ducklake.attach: catalog file + Parquet files).
Servers are started and stopped by the script (bench_server.ForgeServer, pg.py).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import adbc_driver_postgresql.dbapi as adbc
import duckdb
from psycopg.conninfo import conninfo_to_dict, make_conninfo

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import client_replay  # noqa: E402
from bench_server import (  # noqa: E402
    DUCK,
    FORGE,
    PG,
    SELECT_ALL,
    TABLE,
    Bench,
    Endpoint,
    ForgeServer,
    Recorder,
    Result,
    deadline,
    duckdb_create_sql,
    error_text,
    fmt_time,
    load_server,
    machine_facts,
    pg_load_sql,
    postgres,
    print_table,
    time_runs,
)

from forge_sql.config import Settings  # noqa: E402
from forge_sql.storage import catalogs, ducklake  # noqa: E402

WORKLOADS = ("copy", "adbc", "select", "aggregate", "concurrent", "rss")
REPLAY = "replayed"  # a client against forge-sql's recorded answers (client_replay.py)
AGG_TABLE = "bench_t10m"
COPY_TABLE = "bench_copy"
COPY_COLUMNS = "(id BIGINT, name VARCHAR, amount DOUBLE PRECISION, ts TIMESTAMP, flag BOOLEAN)"
AGG_QUERY = (f"SELECT id % 1000 AS k, count(*), sum(amount), avg(amount) FROM {AGG_TABLE} "
             "GROUP BY k")
COPY_FORMATS = {  # name: (server statement, in-process DuckDB options, field delimiter)
    "text": (f"COPY {COPY_TABLE} FROM STDIN",
             "(FORMAT csv, DELIMITER '\t', HEADER false)", "\t"),
    "csv": (f"COPY {COPY_TABLE} FROM STDIN (FORMAT csv)",
            "(FORMAT csv, DELIMITER ',', HEADER false)", ","),
}
GIB = 1 << 30


def generate_sql(rows: int, start: int = 0) -> str:
    """The benchmark rows, computed by DuckDB (forge-sql or in-process)."""
    return ("SELECT range AS id, 'name-' || range AS name, random()*1000 AS amount, "
            "TIMESTAMP '2024-01-01' + INTERVAL (range) SECOND AS ts, range % 2 = 0 AS flag "
            f"FROM range({start}, {start + rows})")


def pg_generate_sql(rows: int) -> str:
    return ("SELECT g AS id, 'name-' || g AS name, random()*1000 AS amount, "
            "timestamp '2024-01-01' + g * interval '1 second' AS ts, g % 2 = 0 AS flag "
            f"FROM generate_series(0, {rows - 1}) g")


def write_copy_file(path: Path, rows: int, delimiter: str, start: int = 0) -> int:
    """COPY text/csv rows to ``path`` (no quoting or escaping is needed); its size."""
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({generate_sql(rows, start)}) TO '{path}' "
                    f"(FORMAT csv, DELIMITER '{delimiter}', HEADER false)")
    finally:
        con.close()
    return path.stat().st_size


def adbc_uri(endpoint: Endpoint) -> str:
    info = conninfo_to_dict(endpoint.conninfo)
    auth = quote(str(info.get("user", "")))
    if info.get("password"):
        auth += ":" + quote(str(info["password"]))
    return (f"postgresql://{auth}@{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}"
            f"/{quote(str(info.get('dbname', '')))}")


# --------------------------------------------------------------------------- process memory

def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, ... of ``pid`` in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key.startswith("Vm") and value.strip().endswith("kB"):
                out[key] = int(value.split()[0]) * 1024
    return out


class RssSampler:
    """Samples VmRSS of ``pid`` every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, KeyError):
                self.samples.append((time.perf_counter() - self._start,
                                     proc_status(self.pid)["VmRSS"]))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def at_fractions(self, fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)) -> list[int]:
        """RSS at these fractions of the sampled time span (to show it does not grow)."""
        if not self.samples:
            return []
        end = self.samples[-1][0]
        return [next(rss for t, rss in self.samples if t >= f * end) for f in fractions]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` (all its threads) and of its live child processes
    (PostgreSQL's backends are children of the postmaster)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    return f"{n / GIB:.2f} GiB" if n >= GIB else f"{n / (1 << 20):.0f} MiB"


# --------------------------------------------------------------------------- targets

@dataclass
class Target:
    text: str
    pg_speedup: float | None = None    # forge must be this many times faster than PG
    duck_factor: float | None = None   # forge time <= duck_factor * DuckDB + duck_slack
    duck_slack: float = 0.0

    def check(self, forge: float | None, pg: float | None, duck: float | None) -> str:
        if forge is None:
            return "FAIL (error)"
        failed = []
        if self.pg_speedup is not None:
            if pg is None:
                failed.append("no PG")
            elif pg / forge < self.pg_speedup:
                failed.append("vs PG")
        if self.duck_factor is not None:
            if duck is None:
                failed.append("no DuckDB")
            elif forge > self.duck_factor * duck + self.duck_slack:
                failed.append("vs DuckDB")
        return "PASS" if not failed else f"FAIL ({', '.join(failed)})"


@dataclass
class Row:
    """One line of the summary: one workload and client on each target."""
    label: str
    client: str
    unit: str           # "rows" or "queries"
    count: int          # units per run
    target: Target
    duck_client: str = DUCK


# --------------------------------------------------------------------------- the bench

class BulkBench(Bench):
    def __init__(self, args: argparse.Namespace, endpoints: list[Endpoint],
                 duck: duckdb.DuckDBPyConnection, workdir: Path) -> None:
        super().__init__(args, endpoints, duck)
        self.workdir = workdir
        self.rows_table: list[Row] = []
        self.memory: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.arrow_types: dict[str, list[str]] = {}  # target: ADBC result column types

    def row(self, row: Row) -> None:
        self.rows_table.append(row)

    # ---- copy

    def copy(self) -> None:
        rows, runs = self.args.rows, self.args.runs
        for name, (statement, duck_options, delimiter) in COPY_FORMATS.items():
            path = self.workdir / f"copy.{name}"
            size = write_copy_file(path, rows, delimiter)
            data = path.read_bytes()
            label = f"COPY FROM STDIN {rows} {name}"
            print(f"{label}: {size / 1e6:.1f} MB of {name}, sent in "
                  f"{self.args.copy_chunk >> 10} KiB writes", flush=True)
            for endpoint in self.endpoints:
                self.measure(label, "psycopg copy", endpoint.target, statement, rows,
                             partial(self._copy_in, endpoint, statement, data, rows, runs))
            duck_sql = f"COPY {COPY_TABLE} FROM '{path}' {duck_options}"
            self.measure(label, "COPY FROM file", DUCK, duck_sql, rows,
                         partial(self._duck_copy, duck_sql, rows, runs))
            self.row(Row(label, "psycopg copy", "rows", rows,
                         Target(">=2x PG", pg_speedup=2.0), "COPY FROM file"))
            path.unlink()

    def _copy_in(self, endpoint: Endpoint, statement: str, data: bytes, rows: int,
                 runs: int) -> list[float]:
        chunk = self.args.copy_chunk
        view = memoryview(data)
        with endpoint.psycopg() as conn:
            def setup() -> None:
                conn.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
                conn.execute(f"CREATE TABLE {COPY_TABLE} {COPY_COLUMNS}")

            def run() -> int:
                with conn.cursor() as cur:
                    with cur.copy(statement) as copy:
                        for offset in range(0, len(view), chunk):
                            copy.write(view[offset:offset + chunk])
                    return cur.rowcount
            times = setup_runs(setup, run, runs, rows)
            (stored,) = conn.execute(f"SELECT count(*) FROM {COPY_TABLE}").fetchone() or (0,)
            if stored != rows:
                raise AssertionError(f"COPY stored {stored} rows, expected {rows}")
            conn.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
            return times

    def _duck_copy(self, sql: str, rows: int, runs: int) -> list[float]:
        def setup() -> None:
            self.duck.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
            self.duck.execute(f"CREATE TABLE {COPY_TABLE} {COPY_COLUMNS}")

        def run() -> int:
            return int((self.duck.execute(sql).fetchone() or (0,))[0])
        times = setup_runs(setup, run, runs, rows)
        self.duck.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
        return times

    # ---- adbc

    def adbc(self) -> None:
        rows, runs = self.args.rows, self.args.runs
        label = f"SELECT * {rows} -> Arrow"
        for endpoint in self.endpoints:
            self.measure(label, "ADBC arrow", endpoint.target, SELECT_ALL, rows,
                         partial(self._adbc_select, endpoint, rows, runs))
        self.measure(label, "ADBC arrow", REPLAY, SELECT_ALL, rows, partial(
            self._replayed, lambda endpoint: self._adbc_select(endpoint, rows, runs)))
        self._ceiling(label, "ADBC arrow")
        self.measure(label, "arrow", DUCK, SELECT_ALL, rows,
                     partial(self._duck_query, SELECT_ALL, runs, rows, arrow=True))
        self.row(Row(label, "ADBC arrow", "rows", rows, Target(">=1.5x PG", pg_speedup=1.5),
                     "arrow"))
        forge_types, pg_types = self.arrow_types.get(FORGE), self.arrow_types.get(PG)
        if forge_types and pg_types and forge_types != pg_types:
            self.notes.append(f"ADBC Arrow column types differ: forge-sql {forge_types}, "
                              f"PostgreSQL {pg_types}")

    def _adbc_select(self, endpoint: Endpoint, rows: int, runs: int) -> list[float]:
        with adbc.connect(adbc_uri(endpoint)) as conn, conn.cursor() as cur:
            def run() -> int:
                cur.execute(SELECT_ALL)
                table = cur.fetch_arrow_table()
                self.arrow_types[endpoint.target] = [arrow_type(t) for t in table.schema.types]
                return int(table.num_rows)
            before = cpu_seconds(endpoint.pid) if endpoint.pid else None
            times = time_runs(run, runs, rows)
            if before is not None and endpoint.pid:
                # time_runs makes one untimed warm-up call before the timed ones
                spent = (cpu_seconds(endpoint.pid) - before) / (runs + 1)
                self.notes.append(f"ADBC read: {endpoint.target}'s server used "
                                  f"{fmt_time(spent)} of CPU per read")
            return times

    def _replayed(self, session: Callable[[Endpoint], list[float]]) -> list[float]:
        """``session`` run against forge-sql's answers to it replayed from memory
        (client_replay.py): the client's own time."""
        forge = next(e for e in self.endpoints if e.target == FORGE)
        info = conninfo_to_dict(forge.conninfo)

        def through(port: int) -> Endpoint:
            return Endpoint(FORGE, make_conninfo(forge.conninfo, host="127.0.0.1", port=port))

        answers = client_replay.record(str(info.get("host")), int(str(info.get("port"))),
                                       lambda port: session(through(port)))
        with client_replay.ReplayServer(answers, self.workdir) as replay:
            return session(through(replay.port))

    def _ceiling(self, label: str, client: str) -> None:
        times = {t: self.rec.find(label, client, t) for t in (PG, REPLAY)}
        pg, alone = (r.median if r else None for r in times.values())
        if pg and alone:
            self.notes.append(
                f"{client} alone (forge-sql's answers replayed from memory, no server work): "
                f"{fmt_time(alone)}; the best PG/server ratio any server can reach with this "
                f"client here is {pg / alone:.2f}x")

    # ---- select

    def select(self) -> None:
        rows, runs = self.args.rows, self.args.runs
        label = f"SELECT * {rows}"
        for client, binary in (("psycopg text", False), ("psycopg binary", True)):
            for endpoint in self.endpoints:
                self.measure(label, client, endpoint.target, SELECT_ALL, rows, partial(
                    self._psycopg_query, SELECT_ALL, runs, rows, binary, endpoint))
            self.measure(label, client, REPLAY, SELECT_ALL, rows, partial(
                self._replayed, partial(self._psycopg_query, SELECT_ALL, runs, rows, binary)))
            self._ceiling(label, client)
            self.row(Row(label, client, "rows", rows, Target(">=1.0x PG", pg_speedup=1.0),
                         "fetchall"))
        self.measure(label, "fetchall", DUCK, SELECT_ALL, rows,
                     partial(self._duck_query, SELECT_ALL, runs, rows))

    # ---- aggregate

    def aggregate(self) -> None:
        rows, runs = self.args.agg_rows, self.args.fast_runs
        label = f"GROUP BY id%1000 {rows}"
        groups = min(1000, rows)
        for endpoint in self.endpoints:
            self.measure(label, "psycopg text", endpoint.target, AGG_QUERY, rows, partial(
                self._psycopg_query, AGG_QUERY, runs, groups, False, endpoint))
        self.measure(label, "fetchall", DUCK, AGG_QUERY, rows,
                     partial(self._duck_query, AGG_QUERY, runs, groups))
        self.row(Row(label, "psycopg text", "rows", rows,
                     Target(">=10x PG, <=1.5xDuck+5ms", pg_speedup=10.0, duck_factor=1.5,
                            duck_slack=0.005), "fetchall"))

    # ---- concurrent

    def concurrent(self) -> None:
        clients, per_client, runs = self.args.clients, self.args.per_client, self.args.runs
        label = f"{clients} clients x{per_client} agg"
        queries = clients * per_client
        for endpoint in self.endpoints:
            self.measure(label, "psycopg threads", endpoint.target, AGG_QUERY, queries,
                         partial(self._concurrent, endpoint.psycopg, clients, per_client, runs))
        self.measure(label, "cursor threads", DUCK, AGG_QUERY, queries,
                     partial(self._concurrent, self._duck_cursor, clients, per_client, runs))
        self.row(Row(label, "psycopg threads", "queries", queries,
                     Target(">=5x PG", pg_speedup=5.0), "cursor threads"))

    def _duck_cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = self.duck.cursor()
        cursor.execute("USE lake.public")
        return cursor

    @staticmethod
    def _concurrent(connect: Callable[[], Any], clients: int, per_client: int,
                    runs: int) -> list[float]:
        """Wall time of ``clients`` threads each running the aggregate ``per_client``
        times (connections opened beforehand); one untimed warm-up round."""
        conns = [connect() for _ in range(clients)]
        stop = threading.Event()
        try:
            for conn in conns:  # warm-up: one query per connection
                conn.execute(AGG_QUERY).fetchall()
            times = []
            for _ in range(runs):
                gc.collect()
                barrier = threading.Barrier(clients + 1)
                failures: list[BaseException] = []

                def work(conn: Any, barrier: threading.Barrier = barrier,
                         failures: list[BaseException] = failures) -> None:
                    try:
                        barrier.wait()
                        for _ in range(per_client):
                            if stop.is_set():
                                return
                            if len(conn.execute(AGG_QUERY).fetchall()) != 1000:
                                raise AssertionError("wrong number of groups")
                    except BaseException as error:  # reported below
                        failures.append(error)
                threads = [threading.Thread(target=work, args=(c,), daemon=True)
                           for c in conns]
                for thread in threads:
                    thread.start()
                barrier.wait()
                start = time.perf_counter()
                for thread in threads:
                    thread.join()
                times.append(time.perf_counter() - start)
                if failures:
                    raise failures[0]
            return times
        finally:
            stop.set()
            for conn in conns:
                with contextlib.suppress(Exception):
                    conn.close()

    # ---- rss

    def rss(self) -> None:
        for rows in self.args.rss_rows:
            self._rss_forge(rows)
            pg = next((e for e in self.endpoints if e.target == PG), None)
            if pg is not None and rows <= self.args.rss_pg_max:
                self._rss_stream(pg, rows, pg_generate_sql(rows), None)

    def _rss_forge(self, rows: int) -> None:
        workdir = self.workdir / f"rss-{rows}"
        workdir.mkdir()
        try:
            with ForgeServer(workdir) as forge:
                assert forge.endpoint is not None and forge.process is not None
                self._rss_stream(forge.endpoint, rows, generate_sql(rows), forge.endpoint.pid)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _rss_stream(self, endpoint: Endpoint, rows: int, query: str, pid: int | None) -> None:
        entry: dict[str, Any] = {"target": endpoint.target, "rows": rows, "query": query,
                                 "client": f"psycopg stream binary size={self.args.stream_chunk}"}
        try:
            with deadline(self.args.timeout), endpoint.psycopg() as conn:
                if pid is None:  # PostgreSQL: the backend process serving this connection
                    pid = int((conn.execute("SELECT pg_backend_pid()").fetchone() or (0,))[0])
                else:
                    conn.execute("SELECT 1").fetchall()
                entry["baseline_rss"] = proc_status(pid)["VmRSS"]
                with RssSampler(pid) as sampler, conn.cursor(binary=True) as cur:
                    start = time.perf_counter()
                    got = 0
                    for _ in cur.stream(query, binary=True, size=self.args.stream_chunk):
                        got += 1
                    entry["seconds"] = time.perf_counter() - start
                status = proc_status(pid)
                entry["peak_rss"] = status["VmHWM"]
                entry["rss_end"] = status["VmRSS"]
                entry["sampled_max"] = max((r for _, r in sampler.samples), default=None)
                entry["rss_quartiles"] = sampler.at_fractions()
                if got != rows:
                    raise AssertionError(f"streamed {got} rows, expected {rows}")
        except Exception as error:  # reported, the bench goes on
            entry["error"] = error_text(error)
        self.memory.append(entry)
        if "error" in entry:
            print(f"stream {rows} rows {endpoint.target}: ERROR {entry['error']}", flush=True)
        else:
            print(f"stream {rows} rows {endpoint.target}: {fmt_time(entry['seconds'])}, "
                  f"peak RSS {fmt_bytes(entry['peak_rss'])} (baseline "
                  f"{fmt_bytes(entry['baseline_rss'])}; at 25/50/75/100% of the run: "
                  f"{', '.join(fmt_bytes(r) for r in entry['rss_quartiles'])})", flush=True)


def arrow_type(t: Any) -> str:
    """``int64``; the driver's opaque extension type (an OID it could not map) shortened."""
    match = re.search(r"oid:(\d+)", str(t))
    return f"opaque(oid {match.group(1)})" if match else str(t)


def setup_runs(setup: Callable[[], None], run: Callable[[], int], runs: int,
               expect_rows: int) -> list[float]:
    """Like time_runs, with an untimed ``setup()`` before the warm-up and every run."""
    setup()
    got = run()
    if got != expect_rows:
        raise AssertionError(f"expected {expect_rows} rows, got {got}")
    times = []
    for _ in range(runs):
        setup()
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


# --------------------------------------------------------------------------- report

def fmt_rate(count: int, seconds: float | None, unit: str) -> str:
    if not seconds:
        return "-"
    rate = count / seconds
    if unit == "queries":
        return f"{rate:.1f} q/s"
    return f"{rate / 1e6:.2f}M/s" if rate >= 1e6 else f"{rate / 1e3:.0f}k/s"


def summary_rows(bench: BulkBench) -> list[list[str]]:
    rec: Recorder = bench.rec
    out = []
    for row in bench.rows_table:
        forge = rec.find(row.label, row.client, FORGE)
        pg = rec.find(row.label, row.client, PG)
        duck = rec.find(row.label, row.duck_client, DUCK)
        f, p, d = (x.median if x else None for x in (forge, pg, duck))
        out.append([
            row.label, row.client, cell(forge), cell(pg), cell(duck),
            fmt_rate(row.count, f, row.unit), fmt_rate(row.count, p, row.unit),
            f"{p / f:.2f}x" if f and p else "-", f"{f / d:.2f}x" if f and d else "-",
            row.target.text, row.target.check(f, p, d),
        ])
    return out


SUMMARY_HEADER = ["workload", "client", FORGE, PG, "DuckDB", "forge rate", "PG rate",
                  "PG/forge", "forge/DuckDB", "target", "result"]


def memory_rows(bench: BulkBench, limit: int) -> list[list[str]]:
    out = []
    for e in bench.memory:
        ok = e["target"] != FORGE or ("error" not in e and e["peak_rss"] < limit)
        out.append([
            f"stream SELECT {e['rows']}", e["target"],
            "ERROR" if "error" in e else fmt_time(e["seconds"]),
            fmt_rate(e["rows"], e.get("seconds"), "rows"),
            fmt_bytes(e.get("baseline_rss")), fmt_bytes(e.get("peak_rss")),
            ", ".join(fmt_bytes(r) for r in e.get("rss_quartiles", [])) or "-",
            f"< {fmt_bytes(limit)}" if e["target"] == FORGE else "(info)",
            ("PASS" if ok else "FAIL") if e["target"] == FORGE else "-",
        ])
    return out


MEMORY_HEADER = ["workload", "server", "time", "rows/s", "RSS before", "peak RSS (VmHWM)",
                 "RSS at 25/50/75/100%", "target", "result"]


def cell(result: Result | None) -> str:
    if result is None:
        return "-"
    return "ERROR" if result.error else fmt_time(result.median)


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def report(args: argparse.Namespace, bench: BulkBench, facts: dict[str, Any],
           loads: dict[str, float]) -> int:
    command = " ".join(["python", *sys.argv])
    print()
    print(f"command: {command}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    print("load: " + ", ".join(f"{k} {fmt_time(v)}" for k, v in loads.items()))
    print()
    summary = summary_rows(bench)
    if summary:
        print_table(SUMMARY_HEADER, summary)
        print(f"Medians of {args.runs} runs (COPY, SELECT, concurrent: wall time of "
              f"{args.clients}x{args.per_client} queries) or {args.fast_runs} (aggregate). "
              "PG/forge = PostgreSQL time / forge-sql time (> 1: forge-sql faster); "
              "forge/DuckDB = forge-sql time / in-process DuckDB time on a DuckLake "
              "(the DuckDB client: COPY FROM file, arrow, fetchall, or cursor threads).")
    for note in bench.notes:
        print(f"NOTE: {note}")
    limit = int(args.rss_limit_gib * GIB)
    memory = memory_rows(bench, limit)
    if memory:
        print()
        print_table(MEMORY_HEADER, memory)
        print("One run each; forge-sql is a fresh server per size, so VmHWM covers only "
              "start-up and the one stream.")
    failed_targets = [r for r in summary if not r[-1].startswith("PASS")]
    failed_targets += [r for r in memory if r[-1] == "FAIL"]
    print()
    print(f"targets: {len(summary) + sum(1 for r in memory if r[-1] != '-') - len(failed_targets)}"
          f" pass, {len(failed_targets)} fail")
    errors = [r for r in bench.rec.results if r.error]
    for r in errors:
        print(f"ERROR {r.target} {r.label} / {r.client}: {r.error}\n  query: {r.query}")
    stamp = f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    out = BENCH_DIR / "results" / f"bulk-{stamp}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({
        "command": command, "args": vars(args), "machine": facts, "load_seconds": loads,
        "results": [{**asdict(r), "median": r.median} for r in bench.rec.results],
        "memory": bench.memory, "notes": bench.notes,
    }, indent=2))
    out.with_suffix(".md").write_text(
        f"`{command}`\n\n" + (markdown(SUMMARY_HEADER, summary) + "\n\n" if summary else "")
        + (markdown(MEMORY_HEADER, memory) + "\n" if memory else "")
        + "".join(f"\nNOTE: {note}\n" for note in bench.notes))
    print(f"results: {out.relative_to(REPO)}.json, .md")
    return 1 if errors or any("error" in e for e in bench.memory) else 0


# --------------------------------------------------------------------------- main

def open_duck_lake(path: Path) -> duckdb.DuckDBPyConnection:
    """In-process DuckDB with a DuckLake attached the way forge-sql attaches its own."""
    path.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path / "duck.duckdb"))
    settings = Settings()
    ducklake.attach(con, catalogs.locate(settings, path), "lake", settings.inline_rows)
    con.execute("USE lake.public")
    return con


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000,
                   help="rows for COPY, ADBC and SELECT (default 1M)")
    p.add_argument("--agg-rows", type=int, default=10_000_000,
                   help="rows of the aggregate table (default 10M)")
    p.add_argument("--runs", type=int, default=3, help="timed runs of COPY/SELECT/concurrent")
    p.add_argument("--fast-runs", type=int, default=5, help="timed runs of the aggregate")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients")
    p.add_argument("--per-client", type=int, default=3,
                   help="aggregates each concurrent client runs per timed run")
    p.add_argument("--rss-rows", default="10000000,100000000",
                   help="comma list of row counts streamed for the RSS measurement")
    p.add_argument("--rss-pg-max", type=int, default=10_000_000,
                   help="also stream from PostgreSQL up to this many rows (for comparison)")
    p.add_argument("--rss-limit-gib", type=float, default=1.0, help="peak RSS target")
    p.add_argument("--stream-chunk", type=int, default=10_000,
                   help="rows per psycopg stream() chunk (libpq chunked rows mode)")
    p.add_argument("--copy-chunk", type=int, default=1 << 20,
                   help="bytes per psycopg copy.write() (default 1 MiB)")
    p.add_argument("--only", default=",".join(WORKLOADS), help="comma list of: "
                   + ",".join(WORKLOADS))
    p.add_argument("--pg-dsn", help="use this PostgreSQL (libpq conninfo) instead of "
                                    "starting one; the bench's tables are replaced")
    p.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    args = p.parse_args(argv)
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = set(args.only) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workloads in --only: {', '.join(sorted(unknown))}")
    args.rss_rows = [int(float(n)) for n in args.rss_rows.split(",") if n.strip()]
    if min(args.rows, args.agg_rows, args.runs, args.fast_runs, args.clients,
           args.per_client, *args.rss_rows) < 1:
        p.error("row counts, runs and clients must be positive")
    return args


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="forge-bulk-"))
    need_small = bool({"adbc", "select"} & set(args.only))
    need_agg = bool({"aggregate", "concurrent"} & set(args.only))
    try:
        with ForgeServer(workdir) as forge, \
                postgres(args, (TABLE, AGG_TABLE, COPY_TABLE)) as (pg, pg_version):
            assert forge.endpoint is not None
            print(f"forge-sql started on {forge.endpoint.conninfo.split(' dbname')[0]}",
                  flush=True)
            endpoints = [forge.endpoint] + ([pg] if pg is not None else [])
            duck = open_duck_lake(workdir / "duck-lake")
            loads: dict[str, float] = {}
            for rows, table, wanted in ((args.rows, TABLE, need_small),
                                        (args.agg_rows, AGG_TABLE, need_agg)):
                if not wanted:
                    continue
                loads[f"{FORGE} {rows}"] = load_server(
                    forge.endpoint, [duckdb_create_sql(rows, table)])
                if pg is not None:
                    loads[f"{PG} {rows}"] = load_server(pg, pg_load_sql(rows, table))
                start = time.perf_counter()
                duck.execute(duckdb_create_sql(rows, table))
                loads[f"{DUCK} {rows}"] = time.perf_counter() - start
                print(f"loaded {table}: " + ", ".join(
                    f"{k} {fmt_time(v)}" for k, v in loads.items() if k.endswith(f" {rows}")),
                    flush=True)
            bench = BulkBench(args, endpoints, duck, workdir)
            try:
                for workload in WORKLOADS:
                    if workload in args.only:
                        getattr(bench, workload)()
            finally:
                duck.close()
            if not forge.alive():
                print(f"forge-sql exited during the bench; its log:\n{forge.log_tail()}")
            return report(args, bench, machine_facts(pg_version), loads)
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
