"""Both servers side by side: builds the tables on each, runs a case on both and compares."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .compare import Difference, differences
from .runner import Answer, Session, SetupError
from .statements import SCRATCH_CREATE, Case
from .tables import T1_COLUMNS, create_statements

# The stored rows must be the same. An unconstrained numeric prints its scale, which differs
# (a difference the statements find), so that column is compared at a fixed scale.
TABLE_CHECKS = {
    "t1": ", ".join("n::numeric(20,3)" if c == "n" else c for c in T1_COLUMNS),
    "t2": "*",
    "scratch": "*",
}


@dataclass(frozen=True)
class Outcome:
    case: Case
    forge: Answer
    pg: Answer
    differences: list[Difference]

    def describe(self) -> str:
        """What a failure prints: SQL, parameters, both answers, the differences."""
        return (f"case seed={self.case.seed} index={self.case.index} shape={self.case.shape} "
                f"param_mode={self.case.param_mode}\n"
                f"SQL: {self.case.sql}\nparameters: {self.case.params!r}\n"
                f"differences: {[(d.kind, d.column) for d in self.differences]}\n"
                f"forge-sql:\n{self.forge.summary()}\nPostgreSQL:\n{self.pg.summary()}")


class Pair:
    """A session on forge-sql and one on PostgreSQL holding the same tables. Pairs that
    share the tables share ``writing`` too: one DML case at a time writes the scratch
    table (each in a transaction rolled back after it)."""

    def __init__(self, forge_dsn: str, pg_dsn: str, build: bool = True,
                 writing: threading.Lock | None = None) -> None:
        self.forge = Session(forge_dsn)
        self.pg = Session(pg_dsn)
        self._writing = writing or threading.Lock()
        # PostgreSQL answers while forge-sql does (about a tenth of a case's time).
        self._pg_side = ThreadPoolExecutor(1)
        if build:
            self.build()

    def build(self) -> None:
        for statement in (*create_statements(), *SCRATCH_CREATE):
            self.forge.simple(statement)
            self.pg.simple(statement)
        for table, columns in TABLE_CHECKS.items():
            query = f"SELECT {columns} FROM {table} ORDER BY id"
            if self.forge.simple(query) != self.pg.simple(query):
                raise SetupError(f"table {table} differs between the servers:\n"
                                 f"{self.forge.simple(query)}\n{self.pg.simple(query)}")

    def close(self) -> None:
        self._pg_side.shutdown()
        self.forge.close()
        self.pg.close()

    def check(self, case: Case) -> Outcome:
        with self._writing if case.dml else contextlib.nullcontext():
            answering = self._pg_side.submit(self.pg.run, case)
            forge, pg = self.forge.run(case), answering.result()
        return Outcome(case, forge, pg, differences(case, forge, pg))


def check_all(forge_dsn: str, pg_dsn: str, cases: list[Case], workers: int = 2) -> list[Outcome]:
    """Every case on both servers, ``workers`` pairs of sessions at a time (each pair on its
    own tables would collide, so the tables are built once, by the first pair)."""
    writing = threading.Lock()
    pairs = [Pair(forge_dsn, pg_dsn, build=index == 0, writing=writing)
             for index in range(workers)]
    try:
        with ThreadPoolExecutor(workers) as pool:
            chunks = [cases[i::workers] for i in range(workers)]
            done = list(pool.map(lambda job: [job[0].check(c) for c in job[1]],
                                 zip(pairs, chunks, strict=True)))
    finally:
        for pair in pairs:
            pair.close()
    outcomes = [outcome for chunk in done for outcome in chunk]
    return sorted(outcomes, key=lambda o: o.case.index)
