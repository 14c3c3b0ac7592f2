"""``CALL forge_sync('name')``, ``CALL forge_sync('name', full_refresh => true)`` and
``CALL forge_sync('name', preview => true)``: a declared sync run by the server, for
superusers, outside a transaction block; one row per figure of the run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from forge_sql import errors
from forge_sql.engine import locks, syncs
from forge_sql.engine.result import TableResult
from forge_sql.sql.statements import Token

if TYPE_CHECKING:
    from forge_sql.engine.connection import Connection
    from forge_sql.engine.database import Database
    from forge_sql.engine.session_locks import SessionLocks
    from forge_sql.seam.backend import Column

USAGE = ("usage: CALL forge_sync('name'), CALL forge_sync('name', full_refresh => true), "
         "CALL forge_sync('name', preview => true) or CALL forge_sync('name or definition "
         "as JSON', validate => true)")


@dataclass(frozen=True, slots=True)
class SyncCall:
    name: str
    full_refresh: bool = False
    preview: bool = False
    check: bool = False  # name: a sync's name, or a definition as JSON ('{...}')


def parse(arguments: Sequence[Sequence[Token]]) -> SyncCall:
    if not arguments or len(arguments) > 2 or len(arguments[0]) != 1 \
            or arguments[0][0].kind != "string_const":
        raise errors.SyntaxError_(USAGE)
    name = arguments[0][0].text[1:-1].replace("''", "'")
    if len(arguments) == 1:
        return SyncCall(name)
    option = [t.upper for t in arguments[1]]
    if len(option) == 3 and option[1] == "=>" and option[0] in ("FULL_REFRESH", "PREVIEW",
                                                                "VALIDATE") \
            and option[2] in ("TRUE", "FALSE"):
        on = option[2] == "TRUE"
        return SyncCall(name, full_refresh=on and option[0] == "FULL_REFRESH",
                        preview=on and option[0] == "PREVIEW", check=on and option[0] == "VALIDATE")
    raise errors.SyntaxError_(USAGE)


class SessionLocking:
    """A run's locks as the calling session's: it waits as for a statement of its own
    (pg_locks, pg_stat_activity.wait_event, lock_timeout, cancel), and each wait ends
    with the run still marked running, so cancel and statement_timeout go on ending it."""

    def __init__(self, session: SessionLocks, database: Database, token: str,
                 connection: Connection) -> None:
        self._session = session
        self._table = database.locks
        self._token = token
        self._connection = connection

    def _take(self, target: locks.Target, mode: str, counted: bool = True) -> None:
        try:
            self._session.acquire([(target, mode)], counted=counted)
        finally:
            self._connection.running(True)

    @contextlib.contextmanager
    def _holding(self, target: locks.Target, mode: str) -> Iterator[None]:
        self._take(target, mode)
        try:
            yield
        finally:
            self._table.release(self._token, target, mode)

    def table(self, schema: str, name: str) -> None:
        self._take(locks.relation(schema, name), locks.EXCLUSIVE, counted=False)

    def statement(self) -> contextlib.AbstractContextManager[None]:
        return self._holding(locks.CATALOG, locks.ACCESS_SHARE)

    @contextlib.contextmanager
    def catalog_change(self) -> Iterator[None]:
        self._take(locks.CATALOG_CHANGES, locks.EXCLUSIVE, counted=False)
        with self._holding(locks.CATALOG, locks.ACCESS_EXCLUSIVE):
            yield

    def ending(self) -> contextlib.AbstractContextManager[None]:
        return self._session.ending_transaction()

    def ended(self, committed: bool) -> None:
        if committed:
            self._table.committed(self._token)
        self._table.release_all(self._token)


def run(call: SyncCall, connection: Connection, database: Database, user: str,
        cancelled: Callable[[], bool], columns: tuple[Column, ...],
        session_locks: SessionLocks) -> TableResult:
    connection.detach_stream()
    settings = database.settings
    runner = syncs.Runner(
        connection.raw, database.catalog, database.table_functions.registry,
        settings.extension_settings,
        {name: secret.get_secret_value() for name, secret in settings.secrets.items()},
        user, cancelled,
        SessionLocking(session_locks, database, session_locks.token, connection),
        connection.execution.stop_requested,
    )
    connection.running(True)
    try:
        rows: list[tuple[str, int | None, str | None]]
        if call.check:
            rows = [("problem", None, p) for p in runner.check(_definition(runner, call.name))]
        elif call.preview:
            rows = syncs.preview_rows(runner.preview(call.name))
        else:
            rows = syncs.describe_outcome(runner.run(call.name, call.full_refresh))
    finally:
        connection.running(False)
    table = pa.table({
        "action": pa.array([r[0] for r in rows], pa.string()),
        "count": pa.array([r[1] for r in rows], pa.int64()),
        "detail": pa.array([r[2] for r in rows], pa.string()),
    })
    return TableResult(table, columns, "CALL")


def _definition(runner: syncs.Runner, text: str) -> syncs.SyncDefinition:
    """A recorded sync by name, or a definition given as JSON (one not applied yet)."""
    if not text.lstrip().startswith("{"):
        return runner.definition(text)
    try:
        return syncs.SyncDefinition.model_validate_json(text)
    except ValueError as exc:
        raise errors.InvalidParameterValue(
            f"invalid sync definition: {str(exc).splitlines()[0]}") from None
