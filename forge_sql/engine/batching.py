"""Pipelined single-row INSERTs (psycopg ``executemany``, pgjdbc batches) as one Arrow insert.

Drivers send ``INSERT INTO t VALUES ($1, $2)`` once per row, all before one Sync; the
protocol hands such a run over as one ``execute_many``. DuckDB runs a single-row INSERT in
about a millisecond but inserts an Arrow table at millions of rows a second (DESIGN.md), so
the rows of the run are gathered and inserted together before the call returns. The rows
belong to the transaction that groups the pipeline, so gathering them changes what is
stored in no case; a failure is reported for the first row at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import duckdb
import pyarrow as pa

from forge_sql import errors
from forge_sql.engine import copyin
from forge_sql.engine.copyin import SOURCE
from forge_sql.engine.result import TagResult
from forge_sql.sql.statements import Statement

MAX_ROWS = 65536  # rows gathered before they are inserted anyway


@dataclass(frozen=True, slots=True)
class InsertShape:
    """``INSERT INTO target [(columns)] VALUES ($a, $b, ...)``: one row of placeholders."""

    target: str  # the statement up to VALUES, as written
    placeholders: tuple[int, ...]  # the placeholder number of each value, in order

    def columns(self) -> list[str]:
        """The INSERT's column list, lower-cased ([] when it has none)."""
        _, bracket, rest = self.target.partition("(")
        if not bracket:
            return []
        return [c.strip().strip('"').lower() for c in rest.rpartition(")")[0].split(",")]


def insert_shape(statement: Statement) -> InsertShape | None:
    """The shape of a batchable INSERT, or None if the statement is anything else."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    if statement.kind != "INSERT" or len(tokens) < 6 or tokens[0].upper != "INSERT":
        return None
    values = next((i for i, t in enumerate(tokens) if t.upper == "VALUES"), None)
    if values is None or values + 1 >= len(tokens) or tokens[values + 1].text != "(":
        return None
    placeholders: list[int] = []
    index = values + 2
    while index < len(tokens):
        text = tokens[index].text
        if not (text.startswith("$") and text[1:].isdigit()):
            return None
        placeholders.append(int(text[1:]))
        closing = tokens[index + 1].text if index + 1 < len(tokens) else ""
        index += 2
        if closing == ")":
            break
        if closing != ",":
            return None
    else:
        return None
    if index < len(tokens) and not (index == len(tokens) - 1 and tokens[index].text == ";"):
        return None  # RETURNING, ON CONFLICT, more rows: run as written
    target = statement.sql[: tokens[values].start].rstrip()
    return InsertShape(target, tuple(placeholders))


@dataclass(slots=True)
class PendingInsert:
    """Rows of one INSERT shape waiting to be inserted."""

    shape: InsertShape
    casts: tuple[str | None, ...]  # DuckDB type each placeholder is cast to, if any
    rows: list[Sequence[object]] = field(default_factory=list)

    def accepts(self, shape: InsertShape | None, casts: tuple[str | None, ...]) -> bool:
        """Whether rows of ``shape`` with these parameter types can join this batch."""
        return shape == self.shape and casts == self.casts

    def table(self) -> pa.Table | None:
        """The rows column-wise, or None when a column mixes Python types Arrow refuses."""
        columns = list(zip(*self.rows, strict=True))
        try:
            arrays = [pa.array(values) for values in columns]
        except (pa.ArrowException, OverflowError):  # e.g. lists of UUIDs: not implemented
            return None
        return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])

    def insert_sql(self, source: str) -> str:
        values = []
        for number in self.shape.placeholders:
            column = f"c{number - 1}"
            kind = self.casts[number - 1]
            values.append(f"CAST({column} AS {kind})" if kind else column)
        return f"{self.shape.target} SELECT {', '.join(values)} FROM {source}"


class Session(copyin.Session, Protocol):
    """What gathering needs of the session it runs in."""

    def fail(self, exc: BaseException, sql: str | None = None) -> errors.ForgeError: ...


class Gathering:
    """The rows of one ``execute_many`` call's single-row INSERTs not inserted yet."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, session: Session) -> None:
        self._cursor = cursor
        self._session = session
        self.collecting = False  # an execute_many runs: its INSERT rows are gathered
        self.pending: PendingInsert | None = None  # gathered pipelined INSERT rows
        self.gathered = 0  # rows gathered by this execute_many so far
        self.failed_at: int | None = None  # the row at fault when a flush failed
        self._failure: errors.ForgeError | None = None

    def start(self) -> None:
        self.collecting, self.pending, self.gathered = True, None, 0
        self.failed_at = self._failure = None

    def stop(self) -> None:
        self.collecting, self.pending, self._failure = False, None, None

    def failed(self, error: errors.ForgeError) -> bool:
        """Whether ``error`` is the failure of a flush (translated already)."""
        return error is self._failure

    def gather(
        self,
        statement: Statement,
        sql: str,
        shape: InsertShape | None,
        casts: tuple[str | None, ...],
        params: Sequence[object],
    ) -> TagResult:
        """Keep the row of a pipelined single-row INSERT for one Arrow insert later."""
        assert shape is not None
        if self.pending is None:
            self.pending = PendingInsert(shape, casts)
        self.pending.rows.append(tuple(params))
        self._session.block.record(statement, sql, params)
        self.gathered += 1
        if len(self.pending.rows) >= MAX_ROWS:
            self.flush()
        return TagResult("INSERT 0 1")

    def discard(self) -> None:
        """A statement failed: gathered rows go with the failed transaction."""
        self.pending = None

    def flush(self) -> None:
        """Insert the gathered rows: one Arrow scan, or row by row if Arrow refuses them.

        A failure is the failure of the first row at fault, as if the rows had run one by
        one: ``failed_at`` tells which of the call's parameter sets it belongs to.
        """
        pending, self.pending = self.pending, None
        if pending is None or not pending.rows:
            return
        first = self.gathered - len(pending.rows)
        block = self._session.block
        try:
            self._insert_rows(pending)
            if block.implicit:
                block.replay.record(lambda: self._insert_rows(pending))
        except BaseException as exc:
            error = self._session.fail(exc)
            error.position = None
            self.failed_at = first + first_bad_row(pending, error)
            self._failure = error
            raise error from exc

    def _insert_rows(self, pending: PendingInsert) -> None:
        table = pending.table()
        self._session.detach_stream()
        self._session.running(True)
        try:
            if table is None:
                sql = pending.insert_sql(
                    "(SELECT "
                    + ", ".join(f"${i + 1} AS c{i}" for i in range(len(pending.rows[0])))
                    + ")"
                )
                self._cursor.executemany(sql, [list(row) for row in pending.rows])
                return
            self._cursor.from_arrow(table).query(SOURCE, pending.insert_sql(SOURCE))
        finally:
            self._session.running(False)


def first_bad_row(pending: PendingInsert, error: errors.ForgeError) -> int:
    """The index of the first gathered row that makes the insert fail (0 if not found).

    Values that do not convert are found with TRY_CAST on a separate connection (the
    failed insert aborted the session's transaction); other failures are put on row 0.
    """
    table = pending.table()
    if table is None or isinstance(error, errors.QueryCanceled):
        return 0
    numbered = table.append_column("__n", pa.array(range(table.num_rows), pa.int64()))
    tests = [
        f"(c{n - 1} IS NOT NULL AND TRY_CAST(c{n - 1} AS {kind}) IS NULL)"
        for n in set(pending.shape.placeholders)
        if (kind := pending.casts[n - 1])
    ]
    if isinstance(error, errors.NotNullViolation):
        # "NOT NULL constraint failed: t.amount": find amount in the INSERT's column list.
        named = error.message.rpartition(".")[2].strip().lower()
        listed = pending.shape.columns()
        if named in listed:
            n = pending.shape.placeholders[listed.index(named)]
            tests = [f"c{n - 1} IS NULL"]
    if not tests:
        return 0
    probe = duckdb.connect()
    try:
        probe.register("rows", numbered)
        found = probe.execute(f"SELECT min(__n) FROM rows WHERE {' OR '.join(tests)}").fetchone()
    except duckdb.Error:
        return 0
    finally:
        probe.close()
    return int(found[0]) if found and found[0] is not None else 0
