"""SAVEPOINT, RELEASE and ROLLBACK TO over DuckDB, which has neither savepoints nor a way to
undo part of a transaction (after an error it aborts the whole transaction).

The session journals the writes of each transaction block. ROLLBACK TO rolls the DuckDB
transaction back, begins a new one and replays the writes made before the savepoint. A
replay is exact only if it reads the same data and computes the same values, so it is
refused (the block is then failed, and only ROLLBACK ends it) when a write before the
savepoint cannot be repeated: COPY data (not kept), volatile functions or defaults
(random(), uuid(), now()), a journal grown past its bound, or another session's commit to
the lake since the transaction began.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from forge_sql import errors
from forge_sql.engine import lock_targets, locks
from forge_sql.engine import params as parameters
from forge_sql.engine.result import TagResult
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement, identifier

if TYPE_CHECKING:
    from forge_sql.engine.connection import Connection
    from forge_sql.engine.constraints import Declarations
    from forge_sql.engine.database import Database
    from forge_sql.engine.lake_dml import LakeDml
    from forge_sql.engine.session_settings import SessionSettings

MAX_WRITES = 10_000  # journaled statements per transaction block
MAX_BYTES = 64 << 20  # text and bytes held in journaled parameters

# Keywords that read the clock without parentheses.
_CLOCK_KEYWORDS = {
    "CURRENT_TIMESTAMP",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "LOCALTIMESTAMP",
    "LOCALTIME",
}
_HINT = "Roll back the whole transaction and run it again."


@dataclass(slots=True)
class Write:
    """One statement that changed data or schema in the open transaction block."""

    statement: Statement
    sql: str
    params: list[object] | None
    reason: str | None = None  # why it cannot be replayed


@dataclass(slots=True)
class Savepoint:
    name: str
    mark: int  # writes before it
    settings: dict[str, str]
    cursors: frozenset[str]  # cursors open when it was set
    xact_locks: int  # transaction-level advisory locks taken before it


@dataclass(slots=True)
class Journal:
    """The writes of the open transaction block and its savepoints, innermost last."""

    writes: list[Write] = field(default_factory=list)
    savepoints: list[Savepoint] = field(default_factory=list)
    checked: int = 0  # writes already examined for replay
    size: int = 0
    snapshot: int | None = None  # the lake snapshot the transaction reads
    unknown_start: bool = False  # statements ran before BEGIN in the same implicit block

    def reset(self, unknown_start: bool = False) -> None:
        self.writes.clear()
        self.savepoints.clear()
        self.checked = self.size = 0
        self.snapshot = None
        self.unknown_start = unknown_start

    def record(
        self, statement: Statement, sql: str, params: Sequence[object] | None, reason: str = ""
    ) -> None:
        if len(self.writes) >= MAX_WRITES or self.size > MAX_BYTES:
            reason = reason or "the transaction wrote too much to be replayed"
        values = list(params) if params else None
        self.size += len(sql) + sum(len(v) for v in values or () if isinstance(v, str | bytes))
        self.writes.append(Write(statement, sql, values, reason or None))

    def find(self, name: str) -> int:
        for index in range(len(self.savepoints) - 1, -1, -1):
            if self.savepoints[index].name == name:
                return index
        raise errors.InvalidSavepointSpecification(f'savepoint "{name}" does not exist')


def savepoint_name(statement: Statement) -> str:
    """The name in SAVEPOINT n / RELEASE [SAVEPOINT] n / ROLLBACK [WORK] TO [SAVEPOINT] n."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    words = [t.upper for t in tokens]
    rest = tokens[words.index("TO") + 1 :] if "TO" in words else tokens[1:]
    if rest and rest[0].upper == "SAVEPOINT" and len(rest) > 1:
        rest = rest[1:]
    if len(rest) != 1 or rest[0].kind not in ("identifier", "keyword"):
        raise errors.SyntaxError_(f'syntax error in "{statement.sql.strip()}"')
    return identifier(statement, rest[0])


class Transaction(Protocol):
    """What savepoints need of the session's transaction block."""

    status: str
    journal: Journal
    xact_locks: list[tuple[tuple[int, ...], bool]]

    @property
    def failed(self) -> bool: ...

    def mark_failed(self) -> None: ...

    def restart(self) -> None: ...

    def release_xact_locks_after(self, mark: int) -> None: ...


def is_command(statement: Statement) -> bool:
    """SAVEPOINT, RELEASE [SAVEPOINT], ROLLBACK [WORK] TO [SAVEPOINT]."""
    words = statement.words
    verb = words[0]
    return verb in ("SAVEPOINT", "RELEASE") or (verb == "ROLLBACK" and "TO" in words)


class Savepoints:
    """The savepoint commands of one session's transaction block."""

    def __init__(
        self,
        block: Transaction,
        connection: Connection,
        database: Database,
        declarations: Declarations,
        settings: SessionSettings,
        lake_dml: LakeDml | None = None,
    ) -> None:
        """``lake_dml``: runs again the writes the server ran itself (RETURNING, ON
        CONFLICT on lake tables)."""
        self._block = block
        self._lake_dml = lake_dml
        self._connection = connection
        self._database = database
        self._declarations = declarations
        self._settings = settings

    def command(self, statement: Statement) -> TagResult:
        verb = statement.words[0]
        name = savepoint_name(statement)
        if self._block.status == "I":
            what = {"SAVEPOINT": "SAVEPOINT", "RELEASE": "RELEASE SAVEPOINT"}
            raise errors.NoActiveSqlTransaction(
                f"{what.get(verb, 'ROLLBACK TO SAVEPOINT')} can only be used in transaction blocks"
            )
        journal = self._block.journal
        if verb == "SAVEPOINT":
            self._set(journal, name)
            return TagResult("SAVEPOINT")
        if verb == "RELEASE":
            release(journal, name)
            return TagResult("RELEASE")
        try:
            self._rollback_to(journal, name)
        finally:
            self._connection.set_timezone(self._settings.timezone)
        return TagResult("ROLLBACK")

    def _set(self, journal: Journal, name: str) -> None:
        """SAVEPOINT: examine the writes so far while the transaction can still be queried."""
        for write in journal.writes[journal.checked :]:
            write.reason = write.reason or self._replay_obstacle(write)
        journal.checked = len(journal.writes)
        if journal.writes and journal.snapshot is None:
            journal.snapshot = self._lake_snapshot()
        journal.savepoints.append(
            Savepoint(
                name,
                len(journal.writes),
                self._settings.snapshot(),
                frozenset(self._connection.cursors.open),
                len(self._block.xact_locks),
            )
        )

    def _rollback_to(self, journal: Journal, name: str) -> None:
        """ROLLBACK TO: the transaction as it was when the savepoint was set; it stays set."""
        block = self._block
        index = journal.find(name)
        point = journal.savepoints[index]
        del journal.savepoints[index + 1 :]
        self._settings.restore(point.settings)
        self._connection.cursors.keep_only(point.cursors)
        block.release_xact_locks_after(point.xact_locks)
        if not block.failed and len(journal.writes) == point.mark:
            return  # nothing written since the savepoint: the DuckDB transaction is as it was
        replay = journal.writes[: point.mark]
        if replay:
            obstacle = "statements before BEGIN" if journal.unknown_start else None
            obstacle = obstacle or next((w.reason for w in replay if w.reason), None)
            if obstacle is not None:
                block.mark_failed()
                raise errors.FeatureNotSupported(
                    f'cannot roll back to savepoint "{name}": {obstacle}',
                    detail="forge-sql rolls back to a savepoint by repeating the transaction's "
                    "earlier writes, and these cannot be repeated exactly.",
                    hint=_HINT,
                )
            if self._database.latest_snapshot() != journal.snapshot:
                block.mark_failed()
                raise _concurrent(name)
        del journal.writes[point.mark :]
        journal.checked = min(journal.checked, point.mark)
        block.restart()
        if not replay:
            return
        if self._lake_snapshot() != journal.snapshot:
            block.mark_failed()
            raise _concurrent(name)
        for write in replay:
            try:
                self._replay(write)
            except Exception as exc:
                block.mark_failed()
                raise errors.SerializationFailure(
                    f'could not roll back to savepoint "{name}": repeating "{write.sql[:60]}" '
                    f"failed: {exc}",
                    hint=_HINT,
                ) from exc

    def renew_snapshot(self, stable: Callable[[Sequence[locks.Target]], bool]) -> bool:
        """READ COMMITTED, a transaction that wrote: begin DuckDB's transaction again and
        repeat its writes, so that its next statement sees what was committed before it.
        Only when the repeat is exact: each write repeatable and reading and writing only
        tables ``stable`` says this transaction holds and no other changed since its
        snapshot. False: nothing was done."""
        journal = self._block.journal
        if journal.unknown_start or not journal.writes:
            return False
        for write in journal.writes[journal.checked :]:
            write.reason = write.reason or self._replay_obstacle(write)
        journal.checked = len(journal.writes)
        tables: list[locks.Target] = []
        for write in journal.writes:
            if write.reason is not None or write.statement.kind in lock_targets.DDL:
                return False
            touched = lock_targets.relations_of(write.statement)
            if touched is None:
                return False
            tables.extend(touched)
        if not stable(tables):
            return False
        self._block.restart()
        for write in journal.writes:
            try:
                self._replay(write)
            except Exception as exc:
                self._block.mark_failed()
                raise errors.SerializationFailure(
                    "could not serialize access due to concurrent update: repeating "
                    f'"{write.sql[:60]}" on a newer snapshot failed: {exc}',
                    hint="Retry the transaction.",
                ) from exc
        if journal.snapshot is not None:
            journal.snapshot = self._lake_snapshot()
        return True

    def _replay(self, write: Write) -> None:
        """Run a journaled write again, the way the session ran it."""
        declares = write.statement.kind in ("CREATE", "ALTER", "DROP")
        lake_dml = self._lake_dml
        if lake_dml is not None and lake_dml.run(
            write.statement, write.sql, write.params or ()
        ) is not None:
            return
        if not declares or self._declarations.execute(write.statement) is None:
            self._connection.execute(write.sql, write.params)

    def _lake_snapshot(self) -> int | None:
        """The lake snapshot this session's transaction reads."""
        row = self._connection.execute(
            f"SELECT id FROM {quote_ident(self._database.catalog)}.current_snapshot()"
        ).fetchone()
        return int(row[0]) if row else None

    def _replay_obstacle(self, write: Write) -> str | None:
        """Why ``write`` would not do the same again, or None."""
        if write.statement.kind in ("CALL", "COPY"):
            return f"{write.statement.words[0]} cannot be repeated"
        name = volatile_call(write.statement, self._database.volatile_functions)
        if name is not None:
            return f"a statement calls {name}(), whose value changes"
        if write.statement.kind in ("INSERT", "UPDATE", "MERGE_INTO"):
            tables = parameters.tables(write.statement)
            if tables and self._connection.execute(
                "SELECT count(*) FROM duckdb_columns() WHERE lower(table_name) IN "
                "(SELECT lower(unnest(?))) AND contains(column_default, '(')",
                [tables],
            ).fetchall()[0][0]:
                return "a statement stores a computed column default"
        return None


def release(journal: Journal, name: str) -> None:
    """RELEASE: forget the savepoint and the ones set after it; their writes stay."""
    del journal.savepoints[journal.find(name) :]


def _concurrent(name: str) -> errors.ForgeError:
    return errors.SerializationFailure(
        f'could not roll back to savepoint "{name}": another transaction committed to the '
        "database since this one began",
        detail="forge-sql rolls back to a savepoint by repeating the transaction's earlier "
        "writes, which would then read different data.",
        hint=_HINT,
    )


def volatile_call(statement: Statement, volatile: frozenset[str]) -> str | None:
    """The first function whose value may differ when the statement runs again."""
    tokens = statement.tokens
    for index, token in enumerate(tokens):
        if token.kind not in ("identifier", "keyword"):
            continue
        if token.upper in _CLOCK_KEYWORDS:
            return token.text.lower()
        if index + 1 < len(tokens) and tokens[index + 1].text == "(":
            name = token.text.strip('"').lower()
            if name in volatile:
                return name
    return None
