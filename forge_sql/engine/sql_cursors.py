"""SQL cursors: DECLARE, FETCH, MOVE and CLOSE (PostgreSQL docs, "DECLARE", "FETCH").

A cursor reads its query's DuckDB result batch by batch. The session has one DuckDB
connection, and running anything else on it ends an unread result, so before that the
cursor's remaining rows are spilled to an Arrow IPC file in the data directory's tmp/ and
read back from there: memory stays bounded whatever the cursor's size. A WITH HOLD cursor
is spilled the same way at COMMIT, so it outlives its transaction.

Reading a live cursor runs its query further, which reads the lake: each read holds the
catalog shared as a statement does (forge_sql.engine.locks), so no catalog change runs
beside it.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from forge_sql import errors
from forge_sql.engine import byte_batches, column_names
from forge_sql.engine.result import TagResult, blank_padded, padded_widths
from forge_sql.engine.result_sources import Scope
from forge_sql.seam.backend import Column, CopyIn, CopyOut, Result
from forge_sql.sql.statements import Statement, identifier

ALL = -1  # FETCH ALL


@dataclass(frozen=True, slots=True)
class Declare:
    name: str
    query: str  # the SQL after FOR
    offset: int  # where the query starts in the statement
    hold: bool
    binary: bool


@dataclass(frozen=True, slots=True)
class Fetch:
    verb: str  # FETCH or MOVE
    name: str
    count: int  # rows, or ALL


def parse_declare(statement: Statement) -> Declare:
    """DECLARE name [BINARY] [ASENSITIVE|INSENSITIVE] [[NO] SCROLL] CURSOR
    [{WITH|WITHOUT} HOLD] FOR query."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    words = [t.upper for t in tokens]
    if len(tokens) < 4 or "FOR" not in words or "CURSOR" not in words:
        raise errors.SyntaxError_("syntax error in DECLARE: expected DECLARE name CURSOR FOR query")
    at = words.index("CURSOR")
    options = words[2:at]
    if "SCROLL" in options and "NO" not in options:
        raise errors.FeatureNotSupported(
            "SCROLL cursors are not supported", hint="Declare the cursor NO SCROLL."
        )
    for_index = words.index("FOR", at)
    modes = words[at + 1 : for_index]
    if for_index + 1 >= len(tokens):
        raise errors.SyntaxError_("syntax error at end of input")
    start = tokens[for_index + 1].start
    return Declare(
        identifier(statement, tokens[1]),
        statement.sql[start:],
        start,
        modes[:2] == ["WITH", "HOLD"],
        "BINARY" in options,
    )


_COUNT = re.compile(r"^[+-]?\d+$")


def parse_fetch(statement: Statement) -> Fetch:
    """FETCH|MOVE [NEXT | FORWARD [n|ALL] | n | ALL] [FROM|IN] name (forward only)."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    verb = tokens[0].upper
    if len(tokens) < 2:
        raise errors.SyntaxError_("syntax error at end of input")
    name = identifier(statement, tokens[-1])
    words = [t.upper for t in tokens[1:-1]]
    if words and words[-1] in ("FROM", "IN"):
        words.pop()
    count = 1
    if words[:1] in (["NEXT"], ["FORWARD"]):
        words = words[1:]
    if words == ["ALL"]:
        count = ALL
    elif len(words) == 1 and _COUNT.match(words[0]):
        count = int(words[0])
    elif words:
        raise errors.ObjectNotInPrerequisiteState(
            "cursor can only scan forward",
            hint="forge-sql cursors read forward only: FETCH [NEXT | FORWARD n | n | ALL].",
        )
    if count < 0 and count != ALL:
        raise errors.ObjectNotInPrerequisiteState("cursor can only scan forward")
    return Fetch(verb, name, count)


@dataclass(eq=False, slots=True)
class Cursor:
    """One open cursor: a live DuckDB result, or the spill file of its remaining rows."""

    name: str
    columns: tuple[Column, ...]
    hold: bool
    reader: byte_batches.ResultReader | None
    spill_dir: Path
    committed: bool = False  # a WITH HOLD cursor whose transaction committed
    binary: bool = False  # DECLARE ... BINARY: a simple-query FETCH sends binary rows
    broken: str | None = None  # why the unread rows could not be kept
    file: Path | None = None
    _batches: Iterator[pa.RecordBatch] | None = None
    _pending: pa.RecordBatch | None = None
    _source: pa.RecordBatchStreamReader | None = field(default=None, repr=False)
    # Held while the live result is read (the catalog shared: Cursors.reading).
    reading: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext

    def next_batch(self, limit: int, running: Callable[[bool], None]) -> pa.RecordBatch | None:
        """Up to ``limit`` rows (ALL: a whole batch), or None at the end."""
        if self.broken is not None:
            raise errors.ObjectNotInPrerequisiteState(
                f'cursor "{self.name}" cannot be read: {self.broken}'
            )
        batch = self._pending
        self._pending = None
        if batch is None:
            batch = self._read(running)
        if batch is None:
            return None
        if limit != ALL and batch.num_rows > limit:
            self._pending = batch.slice(limit)
            batch = batch.slice(0, limit)
        return batch

    def _read(self, running: Callable[[bool], None]) -> pa.RecordBatch | None:
        if self.reader is not None:
            with self.reading():
                running(True)
                try:
                    return self.reader.read_next_batch()
                except StopIteration:
                    self.reader = None
                    return None
                finally:
                    running(False)
        if self._batches is not None:
            return next(self._batches, None)
        return None

    @property
    def live(self) -> bool:
        return self.reader is not None

    def spill(self, running: Callable[[bool], None]) -> None:
        """Move the unread rows off the DuckDB connection into a file."""
        if self.reader is None:
            return
        with self.reading():  # a wait that fails leaves the cursor as it was
            reader, self.reader = self.reader, None
            self.file = self.spill_dir / f"cursor-{uuid.uuid4().hex}.arrow"
            running(True)
            try:
                with pa.OSFile(str(self.file), "wb") as sink, pa.ipc.new_stream(
                    sink, reader.schema
                ) as writer:
                    if self._pending is not None:
                        writer.write_batch(self._pending)
                        self._pending = None
                    for batch in reader:
                        writer.write_batch(batch)
            except BaseException as exc:
                self.close()
                # Never an empty cursor in place of lost rows: reading it fails from now on.
                self.broken = f"its rows could not be kept ({exc})"
                raise
            finally:
                running(False)
        # Read with plain file reads, not a memory map: mapped pages would stay resident
        # (and counted against the process) until the cursor closes.
        self._source = pa.ipc.open_stream(pa.OSFile(str(self.file), "rb"))
        self._batches = iter(self._source)

    def close(self) -> None:
        self.reader = None
        self._pending = None
        self._batches = None
        self._source = None
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.unlink()
            self.file = None


class Cursors:
    """The session's open cursors, by name."""

    def __init__(
        self,
        spill_dir: Path,
        reading: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    ) -> None:
        """``reading()``: held while a live cursor's result is read (the session holds
        the catalog shared)."""
        self.spill_dir = spill_dir
        self.reading = reading
        self.open: dict[str, Cursor] = {}

    def get(self, name: str) -> Cursor:
        cursor = self.open.get(name)
        if cursor is None:
            raise errors.InvalidCursorName(f'cursor "{name}" does not exist')
        return cursor

    def add(self, cursor: Cursor) -> None:
        if cursor.name in self.open:
            raise errors.DuplicateCursor(f'cursor "{cursor.name}" already exists')
        self.open[cursor.name] = cursor

    def close(self, name: str) -> None:
        self.get(name).close()
        del self.open[name]

    def close_all(self) -> None:
        for cursor in self.open.values():
            cursor.close()
        self.open.clear()

    def keep_only(self, names: frozenset[str]) -> None:
        for name in [n for n in self.open if n not in names]:
            self.close(name)

    def spill_live(self, running: Callable[[bool], None]) -> None:
        """Another statement needs the DuckDB connection: free it."""
        for cursor in self.open.values():
            if cursor.live:
                cursor.spill(running)

    def end_transaction(self, committed: bool, running: Callable[[bool], None]) -> None:
        """Before COMMIT / ROLLBACK: keep WITH HOLD cursors of a committing transaction
        (their rows spilled now), close the others; held ones of earlier transactions
        stay."""
        for name, cursor in list(self.open.items()):
            if cursor.committed:
                continue
            if committed and cursor.hold:
                cursor.spill(running)
                cursor.committed = True
            else:
                cursor.close()
                del self.open[name]


class FetchResult:
    """The rows of one FETCH, read from the cursor as the client takes them."""

    copy: CopyIn | CopyOut | None = None

    def __init__(
        self, cursor: Cursor, count: int, running: Callable[[bool], None], verb: str = "FETCH"
    ) -> None:
        self.binary = cursor.binary
        self.columns: tuple[Column, ...] | None = cursor.columns
        self.notices: list[tuple[str, str]] = []
        self._cursor = cursor
        self._left = count
        self._running = running
        self._verb = verb
        self.rows = 0

    def take_rows(self, limit: int) -> Sequence[tuple[object, ...]] | None:
        return None  # read in batches

    def next_batch(self) -> pa.RecordBatch | None:
        if self._left == 0:
            return None
        batch = self._cursor.next_batch(self._left, self._running)
        if batch is None:
            self._left = 0
            return None
        self.rows += batch.num_rows
        if self._left != ALL:
            self._left -= batch.num_rows
        return blank_padded(batch, padded_widths(self.columns))

    def skip(self) -> None:
        """MOVE: advance without returning rows."""
        while self.next_batch() is not None:
            pass
        self.columns = None

    def write(self, batch: pa.RecordBatch, first_line: int) -> None:
        raise errors.ProtocolError("unexpected COPY data: the statement is not COPY FROM STDIN")

    def command_tag(self) -> str:
        return f"{self._verb} {self.rows}"

    def close(self) -> None:
        self._left = 0


class Connection(Protocol):
    """The session's DuckDB cursor, as forge_sql.engine.connection owns it."""

    @property
    def raw(self) -> duckdb.DuckDBPyConnection: ...

    def execute(
        self, sql: str, params: Sequence[object] | None = None, *, interruptible: bool = True
    ) -> duckdb.DuckDBPyConnection: ...

    @property
    def result_scope(self) -> Callable[[], Scope | None]: ...

    def running(self, flag: bool) -> None: ...

    def open_reader(self) -> byte_batches.ResultReader: ...


class Block(Protocol):
    """The session's transaction block: I (idle), T or E."""

    status: str


class CursorCommands:
    """DECLARE, FETCH and MOVE over one session's DuckDB connection."""

    def __init__(self, cursors: Cursors, connection: Connection, block: Block) -> None:
        self._cursors = cursors
        self._connection = connection
        self._block = block

    def run(self, statement: Statement, sql: str, params: Sequence[object]) -> Result:
        """``sql``: DECLARE's query, its placeholders typed."""
        if statement.words[0] == "DECLARE":
            return self._declare(statement, sql, params)
        fetch = parse_fetch(statement)
        cursor = self._cursors.get(fetch.name)
        result = FetchResult(cursor, fetch.count, self._connection.running, fetch.verb)
        if fetch.verb == "MOVE":
            result.skip()
        return result

    def _declare(self, statement: Statement, sql: str, params: Sequence[object]) -> Result:
        declare = parse_declare(statement)
        connection, block = self._connection, self._block
        if block.status == "I" and not declare.hold:
            raise errors.NoActiveSqlTransaction(
                "DECLARE CURSOR can only be used in transaction blocks"
            )
        if declare.name in self._cursors.open:
            raise errors.DuplicateCursor(f'cursor "{declare.name}" already exists')
        description = connection.execute(sql, params).description or ()
        columns = column_names.result_columns(sql, description, connection.result_scope())
        reader = connection.open_reader()
        cursor = Cursor(declare.name, columns, declare.hold, reader, self._cursors.spill_dir)
        cursor.reading = self._cursors.reading
        cursor.binary = declare.binary
        self._cursors.add(cursor)
        if block.status == "I":
            # WITH HOLD outside a block: its transaction ends now, as at a COMMIT.
            cursor.spill(connection.running)
            cursor.committed = True
        return TagResult("DECLARE CURSOR")
