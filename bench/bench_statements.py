#!/usr/bin/env python
"""Small statements: what a client waits for per statement, against in-process DuckDB on
the same kind of lake, and against another commit of forge-sql in the same run.

Workloads (``--only``, see bench/README.md):
  select1    ``SELECT 1`` p50/p99 through psycopg, simple and extended protocol; DuckDB
             ``SELECT 1`` on a connection with a DuckLake attached. Also the CPU time per
             statement: the server process's (all its threads, /proc/PID/stat) against
             in-process DuckDB's own, which a loaded machine does not inflate as it does
             wall time.
  point      ``SELECT * FROM points WHERE id = $1`` on a lake table of ``--rows`` rows
             sorted by id, psycopg prepared; DuckDB the same with a parameter. CPU time
             per query too, as for select1.
  dashboard  the psql, DBeaver and Metabase browse sequences of shared/corpus replayed
             over one connection on ``--tables`` tables of ``--columns`` columns.

With ``--baseline REF`` the commit REF is checked out into a temporary worktree and its
server answers every workload too, turn about with this one; the table shows the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import yaml

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import baseline  # noqa: E402
from bench_server import (  # noqa: E402
    FORGE,
    Endpoint,
    ForgeServer,
    fmt_time,
    latency_runs,
    load_server,
    machine_facts,
    print_table,
)

from forge_sql.config import Settings  # noqa: E402
from forge_sql.storage import catalogs, ducklake  # noqa: E402

DUCK, BASE = "DuckDB", "baseline"
WORKLOADS = ("select1", "point", "dashboard")
POINT_TABLE = "points"
POINT_QUERY = f"SELECT id, name, amount FROM {POINT_TABLE} WHERE id = %s"
# The tools whose connect-and-browse sequences make the dashboard, and the protocol each
# client library speaks: psql the simple query protocol, the JDBC tools the extended one.
DASHBOARD_TOOLS = {"psql": False, "dbeaver": True, "metabase": True}
TARGETS = {"select1": 100e-6, "point": 150e-6}  # forge may exceed DuckDB by this much


def server_cpu(pid: int | None) -> float:
    """User and system CPU seconds of the server process, all its threads."""
    if pid is None:
        return float("nan")
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_call(one: Callable[[], object], iters: int,
                 cpu: Callable[[], float] = time.process_time) -> float:
    """CPU seconds ``cpu()`` advances per call of ``one`` (``iters`` calls after a few
    untimed ones). The process clocks tick every 10 ms: ``iters`` should make the run
    last at least a second."""
    for _ in range(min(iters, 100)):
        one()
    gc.collect()
    start = cpu()
    for _ in range(iters):
        one()
    return (cpu() - start) / iters


def corpus_dir() -> Path | None:
    return next((p / "shared" / "corpus" for p in REPO.parents
                 if (p / "shared" / "corpus").is_dir()), None)


def dashboard_statements() -> list[tuple[str, bool]]:
    """(statement, extended protocol) in replay order."""
    corpus = corpus_dir()
    if corpus is None:
        raise SystemExit("shared/corpus not found beside the repository")
    tools = yaml.safe_load((corpus / "bi_tool_queries.yaml").read_text())["tools"]
    return [(sql, extended) for tool, extended in DASHBOARD_TOOLS.items()
            for sql in tools[tool]]


def point_create_sql(rows: int) -> str:
    return (f"CREATE TABLE {POINT_TABLE} AS SELECT range AS id, 'name-' || range AS name, "
            f"range * 0.5 AS amount FROM range({rows}) ORDER BY range")


def dashboard_create_sql(tables: int, columns: int) -> list[str]:
    kinds = ("BIGINT", "VARCHAR", "DOUBLE", "TIMESTAMP", "BOOLEAN", "DATE", "INTEGER")
    return [f"CREATE TABLE dash_{t:03d} ("
            + ", ".join(f"c{c:02d} {kinds[(t + c) % len(kinds)]}" for c in range(columns))
            + ")" for t in range(tables)]


def open_duck_lake(path: Path) -> duckdb.DuckDBPyConnection:
    """In-process DuckDB with a DuckLake attached the way forge-sql attaches its own."""
    path.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path / "duck.duckdb"))
    settings = Settings()
    ducklake.attach(con, catalogs.locate(settings, path), "lake", settings.inline_rows)
    con.execute("USE lake.public")
    return con


# --------------------------------------------------------------------------- workloads

class Bench:
    def __init__(self, args: argparse.Namespace, servers: list[Endpoint],
                 duck: duckdb.DuckDBPyConnection) -> None:
        self.args = args
        self.servers = servers
        self.duck = duck
        # (workload, measure, target) -> per-run values (seconds)
        self.results: dict[tuple[str, str, str], list[float]] = {}
        self.errors: dict[str, int] = {}

    def add(self, workload: str, measure: str, target: str, values: list[float]) -> None:
        self.results.setdefault((workload, measure, target), []).extend(values)

    def select1(self) -> None:
        iters, runs = self.args.latency_iters, self.args.runs
        for protocol, prepare in (("simple", False), ("extended", True)):
            # Turn about: each server gets a run, then the next, so drift hits both.
            conns = {e.target: e.psycopg() for e in self.servers}
            try:
                for _ in range(runs):
                    for target, conn in conns.items():
                        cur = conn.cursor()

                        def one(cur: psycopg.Cursor[Any] = cur, prepare: bool = prepare
                                ) -> None:
                            cur.execute("SELECT 1", prepare=prepare)
                            cur.fetchall()
                        stats = latency_runs({target: one}, iters, 1)[target]
                        self.add("SELECT 1", f"p50 {protocol}", target, stats["p50"])
                        self.add("SELECT 1", f"p99 {protocol}", target, stats["p99"])
                        self.add("SELECT 1", f"CPU {protocol}", target, [
                            cpu_per_call(one, self.args.cpu_iters, self._server_cpu(target))])
            finally:
                for conn in conns.values():
                    conn.close()

        def duck_one() -> None:
            self.duck.execute("SELECT 1").fetchall()
        for _ in range(runs):
            stats = latency_runs({DUCK: duck_one}, iters, 1)[DUCK]
            cpu = cpu_per_call(duck_one, self.args.cpu_iters)
            for protocol in ("simple", "extended"):
                self.add("SELECT 1", f"p50 {protocol}", DUCK, stats["p50"])
                self.add("SELECT 1", f"p99 {protocol}", DUCK, stats["p99"])
                self.add("SELECT 1", f"CPU {protocol}", DUCK, [cpu])

    def _server_cpu(self, target: str) -> Callable[[], float]:
        pid = next(e.pid for e in self.servers if e.target == target)
        return lambda: server_cpu(pid)

    def point(self) -> None:
        rows, iters, runs = self.args.rows, self.args.point_iters, self.args.runs
        rng = random.Random(15)
        keys = [rng.randrange(rows) for _ in range(iters)]
        conns = {e.target: e.psycopg() for e in self.servers}
        try:
            for _ in range(runs):
                for target, conn in conns.items():
                    cur = conn.cursor()

                    def one(k: int, cur: psycopg.Cursor[Any] = cur) -> None:
                        cur.execute(POINT_QUERY, (k,), prepare=True).fetchall()
                    self.add("point query", "p50 prepared", target, _key_latencies(one, keys))
                    self.add("point query", "CPU prepared", target, [cpu_per_call(
                        _cycling(one, keys), iters, self._server_cpu(target))])
        finally:
            for conn in conns.values():
                conn.close()
        duck_sql = POINT_QUERY.replace("%s", "$1")

        def duck_one(k: int) -> None:
            self.duck.execute(duck_sql, [k]).fetchall()
        for _ in range(runs):
            self.add("point query", "p50 prepared", DUCK, _key_latencies(duck_one, keys))
            self.add("point query", "CPU prepared", DUCK, [
                cpu_per_call(_cycling(duck_one, keys), iters)])

    def dashboard(self) -> None:
        statements = dashboard_statements()
        for _ in range(self.args.dashboard_runs + 1):  # the first run warms up, untimed
            for endpoint in self.servers:
                seconds, failed = _replay(endpoint, statements)
                self.add("dashboard", "total", endpoint.target, [seconds])
                self.errors[endpoint.target] = failed
        for endpoint in self.servers:  # drop the warm-up
            self.results[("dashboard", "total", endpoint.target)].pop(0)


def _key_latencies(one: Callable[[int], object], keys: list[int]) -> list[float]:
    """The median time of ``one(k)`` over ``keys`` (after a few untimed calls)."""
    for k in keys[:5]:
        one(k)
    gc.collect()
    samples = []
    clock = time.perf_counter
    for k in keys:
        start = clock()
        one(k)
        samples.append(clock() - start)
    return [statistics.median(samples)]


def _cycling(one: Callable[[int], object], keys: list[int]) -> Callable[[], None]:
    """``one`` called with the next of ``keys`` each time, round and round."""
    position = 0

    def call() -> None:
        nonlocal position
        one(keys[position % len(keys)])
        position += 1
    return call


def _replay(endpoint: Endpoint, statements: list[tuple[str, bool]]) -> tuple[float, int]:
    """Connect, run every statement (reading its rows), disconnect: seconds, failures."""
    failed = 0
    start = time.perf_counter()
    with endpoint.psycopg() as conn, conn.cursor() as cur:
        for sql, extended in statements:
            try:
                cur.execute(sql, prepare=extended)
                if cur.description is not None:
                    cur.fetchall()
            except psycopg.Error:
                failed += 1
    return time.perf_counter() - start, failed


# --------------------------------------------------------------------------- report

def report(args: argparse.Namespace, bench: Bench, facts: dict[str, Any]) -> Path:
    targets = [e.target for e in bench.servers]
    header = ["workload", "measure", *targets, DUCK]
    if BASE in targets:
        header.append(f"{FORGE}/{BASE}")
    header += [f"{FORGE} - {DUCK}", "target", "result"]
    rows = []
    summary = []
    table: dict[tuple[str, str], dict[str, float]] = {}
    for (workload, measure, target), values in bench.results.items():
        if values:
            table.setdefault((workload, measure), {})[target] = statistics.median(values)
    for (workload, measure), medians in table.items():
        forge, duck = medians.get(FORGE), medians.get(DUCK)
        row = [workload, measure, *(fmt_time(medians.get(t)) for t in targets),
               fmt_time(duck)]
        if BASE in targets:
            base = medians.get(BASE)
            row.append(f"{forge / base:.2f}x" if forge and base else "-")
        gap = forge - duck if forge is not None and duck is not None else None
        row.append(fmt_time(gap) if gap is not None and gap >= 0 else
                   ("-" + fmt_time(-gap) if gap is not None else "-"))
        p50 = table.get((workload, measure.replace("p99", "p50")), {})
        target, result = _target(workload, measure, medians, p50)
        row += [target, result]
        rows.append(row)
        summary.append({"workload": workload, "measure": measure, "medians": medians,
                        "target": target, "result": result})
    command = " ".join([Path(sys.executable).name, *sys.argv])
    print()
    print(f"command: {command}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    print()
    print_table(header, rows)
    print(f"medians of {args.runs} runs (dashboard: {args.dashboard_runs}); servers "
          "measured turn about; DuckDB = in-process, DuckLake attached.")
    if bench.errors:
        print("dashboard statements that failed (the corpus has some that fail on "
              "PostgreSQL too): " + ", ".join(f"{t} {n}" for t, n in bench.errors.items()))
    path = BENCH_DIR / "results" / f"statements-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "command": command, "args": vars(args), "machine": facts, "summary": summary,
        "dashboard_failures": bench.errors,
        "runs": [{"workload": w, "measure": m, "target": t, "seconds": v}
                 for (w, m, t), v in bench.results.items()],
    }, indent=2))
    print(f"results: {path.relative_to(REPO)}")
    return path


def _target(workload: str, measure: str, medians: dict[str, float],
            p50: dict[str, float]) -> tuple[str, str]:
    """The target of a row and whether forge-sql meets it; ``p50``: the medians of the
    matching p50 row (for a p99 row)."""
    forge, duck, base = medians.get(FORGE), medians.get(DUCK), medians.get(BASE)
    if workload == "dashboard":
        if base is None or forge is None:
            return ">= 2x faster than baseline", "-"
        return ">= 2x faster than baseline", "PASS" if base / forge >= 2 else "FAIL"
    if measure.startswith("CPU"):
        # The load-robust stand-in of the p50 target: the same margin, in CPU time.
        limit = TARGETS["select1" if workload == "SELECT 1" else "point"]
        if forge is None or duck is None:
            return "-", "-"
        return (f"CPU <= DuckDB + {limit * 1e6:.0f} µs",
                "PASS" if forge <= duck + limit else "FAIL")
    if measure.startswith("p99"):
        if forge is None or FORGE not in p50:
            return "<= 2 x p50", "-"
        return "<= 2 x p50", "PASS" if forge <= 2 * p50[FORGE] else "FAIL"
    limit = TARGETS["select1" if workload == "SELECT 1" else "point"]
    if forge is None or duck is None:
        return "-", "-"
    return f"<= DuckDB + {limit * 1e6:.0f} µs", "PASS" if forge <= duck + limit else "FAIL"


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=",".join(WORKLOADS),
                   help="comma list of: " + ",".join(WORKLOADS))
    p.add_argument("--baseline", metavar="REF",
                   help="also measure this git ref (e.g. be48752), checked out in a "
                        "temporary worktree")
    p.add_argument("--rows", type=int, default=10_000_000, help="rows of the point table")
    p.add_argument("--tables", type=int, default=100, help="dashboard tables")
    p.add_argument("--columns", type=int, default=20, help="columns per dashboard table")
    p.add_argument("--runs", type=int, default=5, help="timed runs per latency measurement")
    p.add_argument("--latency-iters", type=int, default=2000,
                   help="SELECT 1 round trips per run")
    p.add_argument("--point-iters", type=int, default=200, help="point queries per run")
    p.add_argument("--cpu-iters", type=int, default=3000,
                   help="SELECT 1 statements per CPU-time run (the clock ticks every 10 ms)")
    p.add_argument("--dashboard-runs", type=int, default=5,
                   help="timed replays of the dashboard per server")
    args = p.parse_args(argv)
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = set(args.only) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workloads in --only: {', '.join(sorted(unknown))}")
    return args


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="forge-bench-statements-"))
    try:
        with contextlib.ExitStack() as stack:
            sources = [(FORGE, REPO)]
            if args.baseline:
                path = stack.enter_context(baseline.checkout(args.baseline))
                print(f"baseline {baseline.describe(args.baseline)} checked out in {path}")
                missing = baseline.missing_extensions(path)
                if missing:
                    print(f"NOTE: the baseline runs without {', '.join(missing)}")
                sources.append((BASE, path))
            servers = []
            for target, source in sources:
                (workdir / target).mkdir()
                server = stack.enter_context(
                    ForgeServer(workdir / target, source, target))
                assert server.endpoint is not None
                servers.append(server.endpoint)
            duck = open_duck_lake(workdir / "duck")
            stack.callback(duck.close)
            load: list[str] = []
            if "point" in args.only:
                load.append(point_create_sql(args.rows))
            if "dashboard" in args.only:
                load += dashboard_create_sql(args.tables, args.columns)
            for endpoint in servers:
                print(f"loading {endpoint.target}: {fmt_time(load_server(endpoint, load))}",
                      flush=True)
            if "point" in args.only:
                duck.execute(point_create_sql(args.rows))
            bench = Bench(args, servers, duck)
            for workload in WORKLOADS:
                if workload in args.only:
                    print(f"running {workload}", flush=True)
                    getattr(bench, workload)()
            report(args, bench, machine_facts(None))
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run(parse_args()))
