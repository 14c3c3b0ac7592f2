"""An in-memory Backend for the session tests: a handful of statements, no DuckDB.

Statements (one per ``;``-separated piece, case-sensitive):

- ``SELECT n``: n rows of one int4 column ``n`` (1..n), in batches of two rows (of
  BIG_BATCH_ROWS when n is over 100, so large results stay quick);
- ``SELECT $1``: one row, the int4 parameter (text or binary) or NULL;
- ``ERRMID n``: the first batch of ``SELECT n``, then 22012 from ``next_batch``;
- ``INSERT``: no rows, tag ``INSERT 0 1``; ``NOTICE``: no rows, one notice;
- ``INSERT $1``: no rows, tag ``INSERT 0 1``; 22P02 at execution when the int4 parameter
  (text) is not a number; the values stored are kept in ``FakeSession.inserted``;
- ``SET name = value``: reports a ParameterStatus change;
- ``COPY``: a COPY TO STDOUT (text) of no rows, for the protocol to hand over;
- ``SLEEP``: blocks until :meth:`FakeSession.cancel`, then 57014;
- ``FAIL``: 42601 at execution; ``CRASH``: RuntimeError at execution (not a ForgeError);
- ``BEGIN`` / ``COMMIT`` / ``ROLLBACK``: transaction status I/T/E as PostgreSQL keeps it;
- the empty string: an empty query; anything else is 42601 at parse time.

An error inside a transaction block (T) fails it (E); in E every statement but COMMIT and
ROLLBACK raises 25P02, and COMMIT reports ``ROLLBACK`` ("3.4 Transactions" in the manual).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from forge_sql import errors
from forge_sql.seam.backend import Column, CopyFormat, CopyOut, PreparedStatement, StartupInfo

INT4 = 23
BATCH_ROWS = 2
BIG_BATCH_ROWS = 5000
SLEEP_LIMIT = 10.0  # a SLEEP nobody cancels ends anyway, so a broken test cannot hang
SERVER_PARAMETERS = {"server_version": "16.0", "client_encoding": "UTF8", "DateStyle": "ISO, MDY"}

_SELECT = re.compile(r"SELECT (\d+)")
_ERRMID = re.compile(r"ERRMID (\d+)")
_SET = re.compile(r"SET (\w+) = (\S+)")
_NO_ROWS = {
    "BEGIN", "COMMIT", "ROLLBACK", "INSERT", "NOTICE", "SLEEP", "FAIL", "CRASH", "COPY", ""
}


@dataclass(slots=True)
class Plan:
    """What ``prepare`` understood; kept in ``PreparedStatement.handle``."""

    verb: str
    count: int = 0
    setting: tuple[str, str] | None = None


class FakeResult:
    """Batches of one int4 column, or none; records whether the session closed it."""

    copy = None  # the fake backend has no COPY
    binary = False

    def write(self, batch: pa.RecordBatch, first_line: int) -> None:
        raise AssertionError("not a COPY")

    def __init__(
        self,
        session: FakeSession,
        columns: tuple[Column, ...] | None,
        batches: Iterator[pa.RecordBatch],
        tag: str,
        notices: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.columns = columns
        self.notices = list(notices)
        self.closed = False
        self._session = session
        self._batches = batches
        self._tag = tag
        self._rows = 0

    def take_rows(self, limit: int) -> Sequence[tuple[object, ...]] | None:
        return None  # read in batches

    def next_batch(self) -> pa.RecordBatch | None:
        try:
            batch = next(self._batches, None)
        except errors.ForgeError:
            self._session.failed()
            raise
        if batch is not None:
            self._rows += batch.num_rows
        return batch

    def command_tag(self) -> str:
        return f"SELECT {self._rows}" if self._tag == "SELECT" else self._tag

    def close(self) -> None:
        self.closed = True


class FakeSession:
    """One session: a transaction status and a cancellable SLEEP."""

    def __init__(self, backend: FakeBackend, startup: StartupInfo) -> None:
        self.backend = backend
        self.startup = startup
        self.status = "I"
        self.closed = False
        self.sleeping = threading.Event()  # set while SLEEP runs
        self._cancel = threading.Event()
        self._changes: dict[str, str] = {}
        self.inserted: list[int | None] = []
        self.batches: list[int] = []  # the number of parameter sets of each execute_many

    @property
    def transaction_status(self) -> str:
        return self.status

    def split(self, sql: str) -> list[PreparedStatement]:
        pieces = [piece.strip() for piece in sql.split(";")]
        return [self.prepare(piece, ()) for piece in pieces if piece]

    def prepare(self, sql: str, param_oids: Sequence[int]) -> PreparedStatement:
        try:
            plan = _plan(sql.strip())
        except errors.ForgeError:
            self.failed()  # a syntax error fails the transaction block too
            raise
        oids: tuple[int, ...] = ()
        columns: tuple[Column, ...] | None = None
        if plan.verb in ("SELECT $1", "INSERT $1"):
            oids = (param_oids[0] if param_oids and param_oids[0] else INT4,)
        if plan.verb == "SELECT $1":
            columns = (Column("?column?", INT4, 4),)
        elif plan.verb in ("SELECT", "ERRMID"):
            columns = (Column("n", INT4, 4),)
        return PreparedStatement(sql, oids, columns, plan)

    def execute(self, statement: PreparedStatement, params: Sequence[object]) -> FakeResult:
        plan = statement.handle
        assert isinstance(plan, Plan)
        if self.status == "E" and plan.verb not in ("COMMIT", "ROLLBACK"):
            raise errors.InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        try:
            result = self._run(plan, statement, params)
        except errors.ForgeError:
            self.failed()
            raise
        self.backend.results.append(result)
        return result

    def execute_many(
        self, statement: PreparedStatement, param_sets: Sequence[Sequence[object]]
    ) -> tuple[list[FakeResult], Exception | None]:
        self.batches.append(len(param_sets))
        results: list[FakeResult] = []
        for params in param_sets:
            try:
                results.append(self.execute(statement, params))
            except errors.ForgeError as exc:
                return results, exc
        return results, None

    def _run(
        self, plan: Plan, statement: PreparedStatement, params: Sequence[object]
    ) -> FakeResult:
        verb = plan.verb
        if verb in ("SELECT", "ERRMID"):
            batches = _counting(plan.count, fail_after_first=verb == "ERRMID")
            return FakeResult(self, statement.columns, batches, "SELECT")
        if verb == "SELECT $1":
            value = _int4(params[0])
            batch = pa.record_batch([pa.array([value], pa.int32())], names=["?column?"])
            return FakeResult(self, statement.columns, iter([batch]), "SELECT")
        if verb == "SET":
            assert plan.setting is not None
            self._changes[plan.setting[0]] = plan.setting[1]
            return self._tag("SET")
        if verb == "SLEEP":
            return self._sleep()
        if verb == "FAIL":
            raise errors.SyntaxError_('syntax error at or near "FAIL"', position=1)
        if verb == "CRASH":
            raise RuntimeError("the fake backend crashed")
        if verb in ("BEGIN", "COMMIT", "ROLLBACK"):
            return self._tag(self._transaction(verb))
        if verb == "COPY":
            result = self._tag("COPY 0")
            result.copy = CopyOut(CopyFormat())  # type: ignore[assignment]
            return result
        if verb == "NOTICE":
            return self._tag("DO", [("01000", "a notice")])
        if verb == "INSERT":
            return self._tag("INSERT 0 1")
        if verb == "INSERT $1":
            self.inserted.append(_int4(params[0]))
            return self._tag("INSERT 0 1")
        return self._tag("")  # the empty query

    def _tag(self, tag: str, notices: Sequence[tuple[str, str]] = ()) -> FakeResult:
        return FakeResult(self, None, iter(()), tag, notices)

    def _transaction(self, verb: str) -> str:
        if verb == "BEGIN":
            self.status = "T"
            return "BEGIN"
        failed = self.status == "E"
        self.status = "I"
        return "ROLLBACK" if failed else verb

    def _sleep(self) -> FakeResult:
        self._cancel.clear()
        self.sleeping.set()
        try:
            cancelled = self._cancel.wait(SLEEP_LIMIT)
        finally:
            self.sleeping.clear()
        if not cancelled:
            raise errors.QueryCanceled("SLEEP was never cancelled")
        raise errors.QueryCanceled("canceling statement due to user request")

    def failed(self) -> None:
        if self.status == "T":
            self.status = "E"

    @property
    def pending_commit(self) -> bool:
        return False

    def sync(self) -> None:
        pass

    def take_deallocations(self) -> list[str]:
        return []

    def cursor_columns(self, name: str) -> tuple[Column, ...] | None:
        raise errors.InvalidCursorName(f'cursor "{name}" does not exist')

    def error_occurred(self) -> None:
        self.failed()

    def take_parameter_changes(self) -> dict[str, str]:
        changes, self._changes = self._changes, {}
        return changes

    def ready(self) -> None:
        pass

    def idle_timeouts(self) -> tuple[float, float]:
        return self.backend.idle_timeouts

    def cancel(self) -> None:
        self.backend.cancels += 1
        if self.sleeping.is_set():
            self._cancel.set()

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeBackend:
    """Opens :class:`FakeSession` objects and keeps them, and every result, for inspection.

    A database named ``nodb`` is refused with 3D000, as a missing database would be.
    """

    sessions: list[FakeSession] = field(default_factory=list)
    results: list[FakeResult] = field(default_factory=list)
    cancels: int = 0
    superusers: frozenset[str] = frozenset({"forge"})
    idle_timeouts: tuple[float, float] = (0.0, 0.0)  # ms, as the settings give them

    def is_superuser(self, user: str) -> bool:
        return user in self.superusers

    def open_session(self, startup: StartupInfo) -> FakeSession:
        if startup.database == "nodb":
            raise errors.InvalidCatalogName('database "nodb" does not exist')
        session = FakeSession(self, startup)
        self.sessions.append(session)
        return session

    def server_parameters(self) -> dict[str, str]:
        return dict(SERVER_PARAMETERS)


def _plan(sql: str) -> Plan:
    if sql in ("SELECT $1", "INSERT $1"):
        return Plan(sql)
    if match := _SELECT.fullmatch(sql):
        return Plan("SELECT", int(match[1]))
    if match := _ERRMID.fullmatch(sql):
        return Plan("ERRMID", int(match[1]))
    if match := _SET.fullmatch(sql):
        return Plan("SET", setting=(match[1], match[2]))
    if sql in _NO_ROWS:
        return Plan(sql)
    word = sql.split()[0] if sql.split() else sql
    raise errors.SyntaxError_(f'syntax error at or near "{word}"', position=1)


def _counting(count: int, fail_after_first: bool) -> Iterator[pa.RecordBatch]:
    step = BATCH_ROWS if count <= 100 else BIG_BATCH_ROWS
    for start in range(1, count + 1, step):
        stop = min(start + step, count + 1)
        yield pa.record_batch([pa.array(range(start, stop), pa.int32())], names=["n"])
        if fail_after_first:
            raise errors.DivisionByZero("division by zero")


def _int4(value: object) -> int | None:
    if value is None or isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise errors.InvalidTextRepresentation(
            f'invalid input syntax for type integer: "{value}"'
        ) from None


__all__ = ["FakeBackend", "FakeResult", "FakeSession"]
