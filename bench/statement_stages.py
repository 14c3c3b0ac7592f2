#!/usr/bin/env python
"""Where the CPU time of one ``SELECT 1`` goes, stage by stage, in CPU seconds (which a
loaded machine inflates far less than wall time).

In this process, each stage measured alone (``--iters`` statements, median of ``--runs``):
  duckdb      DuckDB's execute + fetchall on a connection with the lake attached
  engine      the engine session's split (simple) or execute of a prepared statement,
              reading the result: DuckDB plus the engine's Python around it
  protocol    QueryProtocol.step for the messages psycopg sends (Query; or Bind,
              Describe, Execute, Sync) to the bytes of the answer: the engine plus the
              protocol and encoding, without sockets or threads
And through a server (``python -m forge_sql serve``) and psycopg, per statement, from
/proc/PID/task/TID/stat: the event loop's thread (reading, decoding, handing the job to
the worker and back, writing), the other threads (the connection's worker and DuckDB's
own), and the client (psycopg, libpq) from this process's clock.

  python bench/statement_stages.py
  python bench/statement_stages.py --iters 3000 --runs 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import psycopg  # noqa: E402
from bench_server import ForgeServer, machine_facts  # noqa: E402

from forge_sql.config import Settings  # noqa: E402
from forge_sql.engine.backend import Engine  # noqa: E402
from forge_sql.seam.backend import StartupInfo  # noqa: E402
from forge_sql.wire import messages as m  # noqa: E402
from forge_sql.wire.protocol import QueryProtocol  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_per_call(one: Callable[[], object], iters: int) -> float:
    for _ in range(min(iters, 200)):
        one()
    start = time.process_time()
    for _ in range(iters):
        one()
    return (time.process_time() - start) / iters


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of ``pid``."""
    found: dict[int, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        found[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK
    return found


def in_process(iters: int, runs: int, workdir: Path) -> dict[str, list[float]]:
    engine = Engine(Settings(data_dir=workdir / "inproc"))
    session = engine.open_session(StartupInfo("bench", engine.settings.database))
    raw = session._connection.raw  # the session's own DuckDB cursor
    protocol = QueryProtocol(session, engine.settings.batch_bytes)

    def drive(received: list[m.FrontendMessage]) -> None:
        for message in received:
            protocol.receive(message)
        protocol.step()
        protocol.take_output()

    drive([m.Parse("s", "SELECT 1", ()), m.Describe("S", "s"), m.Sync()])
    prepared = session.prepare("SELECT 1", ())

    def engine_simple() -> None:
        for statement in session.split("SELECT 1"):
            result = session.execute(statement, ())
            while result.next_batch() is not None:
                pass
            result.close()
        session.ready()

    def engine_extended() -> None:
        result = session.execute(prepared, ())
        while result.next_batch() is not None:
            pass
        result.close()
        session.ready()

    query = [m.Query("SELECT 1")]
    bound = [m.Bind("", "s", (), (), ()), m.Describe("P", ""), m.Execute("", 0), m.Sync()]
    stages: dict[str, Callable[[], object]] = {
        "duckdb": lambda: raw.execute("SELECT 1").fetchall(),
        "engine simple": engine_simple,
        "engine extended": engine_extended,
        "protocol simple": lambda: drive(query),
        "protocol extended": lambda: drive(bound),
    }
    found: dict[str, list[float]] = {name: [] for name in stages}
    try:
        for _ in range(runs):
            for name, one in stages.items():
                found[name].append(cpu_per_call(one, iters))
    finally:
        session.close()
        engine.close()
    return found


def through_server(iters: int, runs: int, workdir: Path) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    (workdir / "server").mkdir()
    with ForgeServer(workdir / "server") as server:
        endpoint = server.endpoint
        assert endpoint is not None and endpoint.pid is not None
        pid = endpoint.pid
        with psycopg.connect(endpoint.conninfo, autocommit=True) as conn:
            cur = conn.cursor()
            for protocol, prepare in (("simple", False), ("extended", True)):
                def one(prepare: bool = prepare) -> None:
                    cur.execute("SELECT 1", prepare=prepare)
                    cur.fetchall()
                for _ in range(200):
                    one()
                for _ in range(runs):
                    before, client = thread_cpu(pid), time.process_time()
                    for _ in range(iters):
                        one()
                    client = time.process_time() - client
                    after = thread_cpu(pid)
                    used = {t: after[t] - before.get(t, 0.0) for t in after}
                    loop = used.pop(pid, 0.0)
                    for name, seconds in (("event loop", loop),
                                          ("worker + DuckDB threads", sum(used.values())),
                                          ("server, all threads", loop + sum(used.values())),
                                          ("client (psycopg)", client)):
                        found.setdefault(f"{name} {protocol}", []).append(seconds / iters)
    return found


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iters", type=int, default=3000, help="statements per measurement")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="forge-stages-"))
    try:
        found = in_process(args.iters, args.runs, workdir)
        found.update(through_server(args.iters, args.runs, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine_facts(None).items()))
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(f"CPU µs per SELECT 1, median of {args.runs} runs of {args.iters}:")
    for name, values in found.items():
        print(f"  {name:36s} {statistics.median(values) * 1e6:8.1f}   "
              f"(runs: {', '.join(f'{v * 1e6:.0f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
