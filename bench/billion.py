#!/usr/bin/env python
"""One billion rows in forge-sql: load, COPY, aggregate, filtered count, disk and memory.

Starts a forge-sql server in a fresh data directory and
  1. builds ``big`` (id BIGINT, name VARCHAR, amount DOUBLE, ts TIMESTAMP, flag BOOLEAN)
     from ``range()`` on the server in steps of --step rows (CREATE TABLE AS for the
     first, INSERT INTO ... SELECT for the others), every step one Parquet-backed insert;
  2. COPYs --copy-rows rows of text into ``big_copy`` through psycopg
     (``cursor.copy("COPY big_copy FROM STDIN")``), streamed from a file generated
     beforehand by in-process DuckDB in --copy-chunk writes (generation not timed);
  3. runs ``GROUP BY id % 1000`` and a selective ``count(*) ... WHERE id BETWEEN``
     (one untimed warm-up, then --runs timed runs, medians);
  4. measures ``du`` of the data directory and the server's peak RSS (VmHWM) per phase
     (reset between phases through /proc/<pid>/clear_refs).
Prints a summary and appends it to docs/benchmarks.md ("One billion rows") unless
--no-docs. Everything is deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from bench_bulk import (  # noqa: E402
    COPY_COLUMNS,
    fmt_bytes,
    generate_sql,
    proc_status,
    write_copy_file,
)
from bench_server import (  # noqa: E402
    ForgeServer,
    error_text,
    fmt_time,
    machine_facts,
    serving_pid,
)

DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## One billion rows"
SECTION_INTRO = """\
`bench/billion.py` starts forge-sql in a fresh data directory, builds a table of
`(id BIGINT, name VARCHAR, amount DOUBLE, ts TIMESTAMP, flag BOOLEAN)` on the server
from `range()` in steps (`CREATE TABLE big AS SELECT ...`, then `INSERT INTO big
SELECT ...`, each step one Parquet-backed insert), COPYs rows of text into a second table
through psycopg (`cursor.copy("COPY big_copy FROM STDIN")`, 1 MiB writes from a file
generated beforehand), then times an aggregate and a selective filtered count (medians
after one warm-up). Peak RSS is the server's VmHWM, reset between phases. No PostgreSQL
comparison: loading PostgreSQL with 10^9 rows alone takes longer than the whole run.
"""


def rate(rows: int, seconds: float | None) -> str:
    if not seconds:
        return "-"
    r = rows / seconds
    return f"{r / 1e6:.2f}M rows/s" if r >= 1e6 else f"{r / 1e3:.0f}k rows/s"


def du_bytes(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


class Billion:
    def __init__(self, args: argparse.Namespace, forge: ForgeServer) -> None:
        assert forge.endpoint is not None and forge.process is not None
        self.args = args
        self.forge = forge
        self.pid = serving_pid(forge.process.pid)
        self.conn = psycopg.connect(forge.endpoint.conninfo, autocommit=True)
        self.phases: list[dict[str, Any]] = []

    def reset_peak(self) -> None:
        with contextlib.suppress(OSError):  # resets VmHWM to the current RSS
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def phase(self, name: str, rows: int | None, body: Callable[[], Any]) -> dict[str, Any]:
        """Run ``body`` once as phase ``name``; time, peak RSS, error."""
        self.reset_peak()
        entry: dict[str, Any] = {"phase": name, "rows": rows,
                                 "rss_before": proc_status(self.pid)["VmRSS"]}
        start = time.perf_counter()
        try:
            entry["detail"] = detail = body()
            if isinstance(detail, dict) and "runs" in detail:
                entry["runs"] = detail["runs"]
                entry["median"] = statistics.median(detail["runs"])
        except Exception as error:  # recorded, the run goes on
            entry["error"] = error_text(error)
        entry["seconds"] = time.perf_counter() - start
        if self.forge.alive():
            entry["peak_rss"] = proc_status(self.pid)["VmHWM"]
        self.phases.append(entry)
        self.show(entry)
        return entry

    @staticmethod
    def show(e: dict[str, Any]) -> None:
        head = f"{e['phase']:<34}"
        if "error" in e:
            print(f"{head} ERROR {e['error']}", flush=True)
            return
        runs = e.get("runs")
        timing = (f"median {fmt_time(e['median'])} ({', '.join(fmt_time(t) for t in runs)})"
                  if runs else fmt_time(e["seconds"]))
        extra = f", {rate(e['rows'], e.get('median') or e['seconds'])}" if e["rows"] else ""
        print(f"{head} {timing}{extra}, peak RSS {fmt_bytes(e.get('peak_rss'))}", flush=True)

    def connection(self) -> psycopg.Connection:
        """The session, reopened if an error closed it (the run goes on)."""
        if self.conn.closed and self.forge.alive():
            assert self.forge.endpoint is not None
            self.conn = psycopg.connect(self.forge.endpoint.conninfo, autocommit=True)
        return self.conn

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        with self.connection().cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []

    # ---- phases

    def load(self) -> None:
        total, step = self.args.rows, self.args.step
        for start in range(0, total, step):
            n = min(step, total - start)
            if start == 0:
                sql = f"CREATE TABLE big AS {generate_sql(n, start)}"
            else:
                sql = f"INSERT INTO big {generate_sql(n, start)}"
            self.phase(f"load rows {start:,}..{start + n - 1:,}", n, partial_exec(self, sql))

    def copy_in(self) -> None:
        rows = self.args.copy_rows
        path = Path(self.args.workdir_path) / "copy.tsv"
        gen = time.perf_counter()
        size = write_copy_file(path, rows, "\t")
        print(f"generated {rows:,} rows of COPY text, {size / 1e9:.2f} GB, in "
              f"{fmt_time(time.perf_counter() - gen)} (not timed)", flush=True)
        self.execute(f"CREATE TABLE big_copy {COPY_COLUMNS}")
        chunk = self.args.copy_chunk

        def body() -> dict[str, Any]:
            with self.connection().cursor() as cur, open(path, "rb", buffering=0) as src:
                with cur.copy("COPY big_copy FROM STDIN") as copy:
                    while data := src.read(chunk):
                        copy.write(data)
                stored = cur.rowcount
            if stored != rows:
                raise AssertionError(f"COPY reported {stored} rows, expected {rows}")
            return {"bytes": size, "tag_rows": stored}
        entry = self.phase(f"COPY FROM STDIN {rows:,} text", rows, body)
        entry["bytes"] = size
        path.unlink()
        self.phase("count(*) big_copy", None, partial_exec(self, "SELECT count(*) FROM big_copy"))

    def queries(self) -> None:
        rows = self.args.rows
        lo = rows // 2
        hi = lo + min(self.args.filter_width, rows - lo) - 1
        for name, sql, expect in (
            ("GROUP BY id % 1000",
             "SELECT id % 1000 AS k, count(*), sum(amount), avg(amount) FROM big GROUP BY k",
             min(1000, rows)),
            (f"count(*) WHERE id BETWEEN ({hi - lo + 1:,} rows)",
             f"SELECT count(*) FROM big WHERE id BETWEEN {lo} AND {hi}", None),
            ("count(*) big", "SELECT count(*) FROM big", None),
        ):
            def body(sql: str = sql, expect: int | None = expect) -> dict[str, Any]:
                result = self.execute(sql)  # warm-up
                if expect is not None and len(result) != expect:
                    raise AssertionError(f"{len(result)} rows, expected {expect}")
                times = []
                for _ in range(self.args.runs):
                    start = time.perf_counter()
                    self.execute(sql)
                    times.append(time.perf_counter() - start)
                return {"runs": times, "first_row": [str(v) for v in result[0]],
                        "result_rows": len(result)}
            # rows/s only for the aggregate: count(*) comes from Parquet/catalog metadata
            entry = self.phase(name, rows if "GROUP BY" in sql else None, body)
            entry["sql"] = sql
            if "detail" in entry:
                print(f"{'':34} first row {entry['detail']['first_row']}", flush=True)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


def partial_exec(bench: Billion, sql: str) -> Callable[[], Any]:
    def body() -> Any:
        rows = bench.execute(sql)
        return [str(v) for v in rows[0]] if rows else None
    return body


# --------------------------------------------------------------------------- report

def summary(args: argparse.Namespace, bench: Billion, disk: dict[str, int],
            facts: dict[str, Any], total_seconds: float, command: str) -> str:
    loads = [p for p in bench.phases if p["phase"].startswith("load ")]
    load_ok = all("error" not in p for p in loads)
    load_time = sum(p["seconds"] for p in loads)
    lines = [
        f"### Run of {dt.date.today():%Y-%m-%d}: {args.rows:,} rows",
        "",
        f"`{command}`; {facts['nproc']} cores ({facts['cpu']}), "
        f"{int(facts['mem'].split()[0]) / (1 << 20):.0f} GiB, Python {facts['python']}, "
        f"DuckDB {facts['duckdb']}, psycopg {facts['psycopg']}, git {facts['git']}. "
        f"Whole run {fmt_time(total_seconds)}.",
        "",
        "| phase | rows | time | rows/s | server peak RSS |",
        "|---|---|---|---|---|",
    ]
    if loads:
        lines.append(
            f"| load `big`: {len(loads)} server-side inserts of {args.step:,} | {args.rows:,} | "
            + (f"{fmt_time(load_time)} | {rate(args.rows, load_time)} | "
               f"{fmt_bytes(max(p.get('peak_rss', 0) for p in loads))} |" if load_ok
               else "ERROR | - | - |"))
    for p in bench.phases:
        if p["phase"].startswith("load "):
            continue
        time_cell = ("ERROR: " + p["error"].splitlines()[0][:120] if "error" in p
                     else f"{fmt_time(p['median'])} (median of {len(p['runs'])})"
                     if "median" in p else fmt_time(p["seconds"]))
        rows = p["rows"]
        speed = rate(rows, p.get("median") or p["seconds"]) if rows and "error" not in p else "-"
        lines.append(f"| {p['phase']} | {f'{rows:,}' if rows else '-'} | {time_cell} | "
                     f"{speed} | {fmt_bytes(p.get('peak_rss'))} |")
    overall = max((p.get("peak_rss", 0) for p in bench.phases), default=0)
    lines += [
        "",
        f"On disk: data directory {fmt_bytes(disk.get('data_dir'))} (Parquet files "
        f"{fmt_bytes(disk.get('lake'))} in {disk.get('parquet_files', '?')} files, catalog "
        f"{fmt_bytes(disk.get('catalog'))}) for {args.rows + args.copy_rows:,} rows. "
        f"Server peak RSS over the whole run: {fmt_bytes(overall)}.",
    ]
    return "\n".join(lines) + "\n"


def append_docs(text: str) -> None:
    docs = DOCS.read_text()
    if SECTION not in docs:
        docs = docs.rstrip("\n") + f"\n\n{SECTION}\n\n{SECTION_INTRO}"
    DOCS.write_text(docs.rstrip("\n") + "\n\n" + text)


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=lambda s: int(float(s)), default=1_000_000_000,
                   help="rows of the table built server-side (default 1e9)")
    p.add_argument("--step", type=lambda s: int(float(s)), default=100_000_000,
                   help="rows per server-side insert (default 1e8)")
    p.add_argument("--copy-rows", type=lambda s: int(float(s)), default=100_000_000,
                   help="rows sent with COPY FROM STDIN (default 1e8; 0: skip)")
    p.add_argument("--copy-chunk", type=int, default=1 << 20, help="bytes per copy.write()")
    p.add_argument("--filter-width", type=int, default=1_000_000,
                   help="rows selected by the BETWEEN filter")
    p.add_argument("--runs", type=int, default=3, help="timed runs of each query")
    p.add_argument("--workdir", help="directory to create the data directory in "
                                     "(default: the system temp dir)")
    p.add_argument("--no-docs", action="store_true", help="do not append to docs/benchmarks.md")
    p.add_argument("--keep", action="store_true", help="keep the data directory")
    args = p.parse_args(argv)
    if args.rows < 1 or args.step < 1 or args.runs < 1 or args.copy_rows < 0:
        p.error("--rows, --step, --runs must be positive")
    return args


def run(args: argparse.Namespace) -> int:
    command = " ".join(["python", *sys.argv])
    workdir = Path(tempfile.mkdtemp(prefix="forge-billion-", dir=args.workdir))
    args.workdir_path = str(workdir)
    started = time.perf_counter()
    try:
        with ForgeServer(workdir) as forge:
            print(f"forge-sql pid {forge.process.pid if forge.process else '?'}, data dir "
                  f"{forge.data_dir}", flush=True)
            bench = Billion(args, forge)
            try:
                bench.load()
                if args.copy_rows:
                    bench.copy_in()
                bench.queries()
            finally:
                bench.close()
            alive = forge.alive()
            if not alive:
                print(f"forge-sql exited during the run; its log:\n{forge.log_tail()}")
        # stopped: inlined rows flushed, catalog closed
        data = forge.data_dir
        disk = {"data_dir": du_bytes(data), "lake": du_bytes(data / "lake"),
                "parquet_files": sum(1 for _ in (data / "lake").rglob("*.parquet")),
                "catalog": sum(f.stat().st_size for f in data.glob("catalog.ducklake*"))}
        total = time.perf_counter() - started
        facts = machine_facts(None)
        text = summary(args, bench, disk, facts, total, command)
        print()
        print(text)
        stamp = f"{dt.datetime.now():%Y%m%dT%H%M%S}"
        out = BENCH_DIR / "results" / f"billion-{stamp}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"command": command, "args": vars(args), "machine": facts,
                                   "phases": bench.phases, "disk": disk,
                                   "total_seconds": total}, indent=2, default=str))
        print(f"results: {out.relative_to(REPO)}")
        if not args.no_docs:
            append_docs(text)
            print(f"appended to {DOCS.relative_to(REPO)}")
        return 1 if not alive or any("error" in p for p in bench.phases) else 0
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds, so the server gets stopped
    signal.signal(signal.SIGTERM, terminate)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
