"""The seam between the protocol layer and whatever executes SQL.

``wire`` drives a :class:`BackendSession`; ``engine`` implements it over DuckDB, and the
unit tests implement it with a fake, so the session state machine is tested without DuckDB.
Every method except :meth:`BackendSession.cancel` blocks and is called from a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

TransactionStatus = str  # 'I' idle, 'T' in a transaction block, 'E' in a failed block

ALL_STATEMENTS = "\x00all"  # cannot be a statement name: protocol strings have no NUL


@dataclass(frozen=True, slots=True)
class Column:
    """One field of a RowDescription."""

    name: str
    type_oid: int
    type_size: int = -1
    type_modifier: int = -1
    table_oid: int = 0
    column_number: int = 0


@dataclass(frozen=True, slots=True)
class StartupInfo:
    """What the client said in its StartupMessage, plus who it proved to be."""

    user: str
    database: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    process_id: int = 0
    remote: str = ""
    # Closes the connection with FATAL 57P01 (pg_terminate_backend); callable from any thread.
    terminate: Callable[[], None] | None = None


@dataclass(slots=True)
class PreparedStatement:
    """A parsed statement: what Describe reports, plus the backend's own state.

    ``columns`` is None when the statement returns no rows (Describe answers NoData).
    """

    sql: str
    param_oids: tuple[int, ...]
    columns: tuple[Column, ...] | None
    handle: object = None


@dataclass(frozen=True, slots=True)
class CopyFormat:
    """The data format of a COPY, from its options (PostgreSQL docs, "COPY")."""

    kind: str = "text"  # text, csv or binary
    delimiter: str = "\t"  # text: tab, csv: comma
    null: str = "\\N"  # text: \N, csv: the empty string
    quote: str = '"'  # csv
    escape: str = '"'  # csv: defaults to the quote character
    header: bool = False  # first line names the columns (csv, and text since PostgreSQL 15)
    force_null: tuple[str, ...] = ()  # csv in: quoted values equal to `null` are NULL too
    force_not_null: tuple[str, ...] = ()  # csv in: never NULL
    force_quote: tuple[str, ...] = ()  # csv out: always quoted; ("*",) for every column

    @property
    def binary(self) -> bool:
        return self.kind == "binary"


@dataclass(frozen=True, slots=True)
class CopyIn:
    """A COPY FROM STDIN: the client sends COPY data for ``columns`` (CopyInResponse)."""

    format: CopyFormat
    columns: tuple[Column, ...]
    table: str  # for error context: "COPY <table>, line N, column <name>"


@dataclass(frozen=True, slots=True)
class CopyOut:
    """A COPY TO STDOUT: the result rows go out as COPY data (CopyOutResponse)."""

    format: CopyFormat


class Result(Protocol):
    """An executing statement. Batches stream; the tag is known once they are exhausted."""

    @property
    def columns(self) -> tuple[Column, ...] | None:
        """The RowDescription fields; None when the statement returns no rows."""

    @property
    def notices(self) -> Sequence[tuple[str, str]]:
        """(SQLSTATE, message) WARNING notices to send before the CommandComplete."""

    @property
    def copy(self) -> CopyIn | CopyOut | None:
        """Set when the statement is a COPY over the connection."""

    @property
    def binary(self) -> bool:
        """Rows answering a simple Query go out in binary format (FETCH from a BINARY
        cursor); through the extended protocol, Bind's result formats decide."""

    def next_batch(self) -> pa.RecordBatch | None:
        """The next batch of rows, or None when there are no more. Blocks."""

    def take_rows(self, limit: int) -> Sequence[tuple[object, ...]] | None:
        """Up to ``limit`` of the next rows as Python values, when the backend holds them
        so (a few rows it computed without Arrow, such as ``SELECT 1``'s: building Arrow
        arrays for them costs more than running the statement); an empty sequence when
        none are left. None: read the rows with :meth:`next_batch`. The rows taken count
        for the command tag, as those read in batches do."""

    def write(self, batch: pa.RecordBatch, first_line: int) -> None:
        """COPY FROM STDIN: store rows decoded from the client's data. Blocks.

        ``first_line`` is the input line of the first row, for error messages.
        """

    def command_tag(self) -> str:
        """CommandComplete tag, e.g. ``SELECT 3`` or ``INSERT 0 1``."""

    def close(self) -> None:
        """Release what the result holds (an unfinished result is abandoned)."""


class BackendSession(Protocol):
    """One client session's view of the database."""

    @property
    def transaction_status(self) -> TransactionStatus: ...

    def split(self, sql: str) -> list[PreparedStatement]:
        """The statements of a simple-query string, in order ([] for an empty query).

        They are not described: a simple query's columns come from its Result.
        """

    def prepare(self, sql: str, param_oids: Sequence[int]) -> PreparedStatement:
        """Parse and describe one statement without executing it.

        ``param_oids`` are the types the client gave (0 = let the server infer).
        """

    def execute(self, statement: PreparedStatement, params: Sequence[object]) -> Result:
        """Run a prepared statement with parameter values already decoded."""

    def execute_many(
        self, statement: PreparedStatement, param_sets: Sequence[Sequence[object]]
    ) -> tuple[list[Result], Exception | None]:
        """Run a prepared statement once per parameter set, in order, as a pipeline of
        Bind/Execute pairs on it asks ("53.2.4 Pipelining").

        Returns the results of the sets that ran, in order, and the error (a ForgeError)
        of the set that failed after them (None if none did); the sets after a failure
        do not run. The backend may also stop early without an error, after a result that
        still has to be read (rows, COPY): the caller reads it, then passes the remaining
        sets again.
        """

    @property
    def pending_commit(self) -> bool:
        """Whether an implicit transaction is open that :meth:`sync` would end."""

    def sync(self) -> None:
        """End of a simple Query or an extended-query Sync: commit the implicit transaction
        that groups the statements since the last one ("53.2.4 Pipelining")."""

    def take_deallocations(self) -> list[str]:
        """Names of prepared statements dropped by DEALLOCATE / DISCARD since the last call;
        :data:`ALL_STATEMENTS` stands for all of them."""

    def cursor_columns(self, name: str) -> tuple[Column, ...] | None:
        """The row description of the SQL cursor ``name`` (DECLARE), which clients may
        describe as a portal; raise InvalidCursorName (34000) when there is none."""

    def error_occurred(self) -> None:
        """A statement failed outside the backend (Bind, parameter decoding): an open
        transaction block becomes failed, as after any error in PostgreSQL."""

    def take_parameter_changes(self) -> dict[str, str]:
        """ParameterStatus values changed by the statements run since the last call."""

    def idle_timeouts(self) -> tuple[float, float]:
        """The session's idle_session_timeout and idle_in_transaction_session_timeout in
        milliseconds (0: off). Called on the event loop; does not block."""

    def cancel(self) -> None:
        """Interrupt the running statement, if any. Called from any thread."""

    def ready(self) -> None:
        """The session is about to send ReadyForQuery: it waits for the client now (the
        state pg_stat_activity shows). Called on the event loop; does not block."""

    def close(self) -> None:
        """End the session: roll back what is open and free its resources."""


class Backend(Protocol):
    """Opens sessions; one per server process."""

    def open_session(self, startup: StartupInfo) -> BackendSession:
        """Raise a ForgeError (FATAL) to refuse the connection."""

    def server_parameters(self) -> dict[str, str]:
        """ParameterStatus values reported to every new session."""

    def is_superuser(self, user: str) -> bool:
        """Whether ``user`` (authenticated) may take the slots reserved for superusers."""
