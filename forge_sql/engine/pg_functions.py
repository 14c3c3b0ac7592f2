"""PostgreSQL's session functions as DuckDB Python functions: current_setting, set_config,
advisory locks, pg_backend_pid, pg_cancel_backend / pg_terminate_backend and the rows of
pg_stat_activity.

DuckDB functions are global, so each takes the calling session's token first; the
server.pgc macros that clients call (forge_sql.catalog.session_functions) pass it from the
session's own DuckDB variable. An error raised here is kept by the session, so the client
gets its SQLSTATE rather than DuckDB's wrapping of a Python exception.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import duckdb
from duckdb.func import FunctionNullHandling
from duckdb.sqltypes import BIGINT, BOOLEAN, DOUBLE, INTEGER, VARCHAR

from forge_sql import errors
from forge_sql.engine.activity import Activity, Session
from forge_sql.engine.advisory import AdvisoryLocks
from forge_sql.engine.locks import LockTable
from forge_sql.engine.session_settings import duration_ms

F = TypeVar("F", bound=Callable[..., Any])

ACTIVITY_COLUMNS = {
    "pid": INTEGER,
    "usename": VARCHAR,
    "datname": VARCHAR,
    "application_name": VARCHAR,
    "client_addr": VARCHAR,
    "client_port": INTEGER,
    "backend_start": DOUBLE,
    "xact_start": DOUBLE,
    "query_start": DOUBLE,
    "state_change": DOUBLE,
    "state": VARCHAR,
    "wait_event_type": VARCHAR,
    "wait_event": VARCHAR,
    "query": VARCHAR,
}
LOCK_COLUMNS = {
    "locktype": VARCHAR,
    "schema_name": VARCHAR,
    "relation_name": VARCHAR,
    "pid": INTEGER,
    "mode": VARCHAR,
    "granted": BOOLEAN,
    "waitstart": DOUBLE,
}
ADVISORY_OPERATIONS = (
    "lock",
    "lock_shared",
    "try_lock",
    "try_lock_shared",
    "xact_lock",
    "xact_lock_shared",
    "try_xact_lock",
    "try_xact_lock_shared",
    "unlock",
    "unlock_shared",
    "unlock_all",
)


def register(
    con: duckdb.DuckDBPyConnection, activity: Activity, locks: AdvisoryLocks, table: LockTable
) -> None:
    """Create the functions on the database (once per server start)."""

    def session(token: str | None) -> Session:
        return activity.caller(token).session

    def kept(function: F) -> F:
        @functools.wraps(function)
        def wrapper(token: str | None, *args: Any) -> Any:
            try:
                return function(token, *args)
            except errors.ForgeError as exc:
                backend = activity.find(token)
                if backend is not None:
                    backend.session.function_error = exc
                raise

        return wrapper  # type: ignore[return-value]

    @kept
    def current_setting(token: str | None, name: str | None, missing_ok: bool | None) -> str | None:
        if name is None:
            return None
        try:
            return session(token).settings.get(name)
        except errors.UndefinedObject:
            if missing_ok:
                return None
            raise

    @kept
    def set_config(
        token: str | None, name: str | None, value: str | None, is_local: bool | None
    ) -> str | None:
        if name is None:
            raise errors.InvalidParameterValue("SET requires parameter name")
        settings = session(token).settings
        settings.set(name, value if value is not None else "", bool(is_local))
        return settings.get(name)

    @kept
    def advisory(token: str | None, operation: str, key1: int | None, key2: int | None) -> bool:
        me = session(token)
        caller = me.backend.token
        if operation == "unlock_all":
            locks.release_all(caller, xact=False)
            return True
        if key1 is None:
            return False
        key = (key1,) if key2 is None else (key1, key2)
        shared = operation.endswith("_shared")
        if operation.startswith("unlock"):
            return locks.release(caller, key, shared=shared)
        xact = "xact" in operation
        acquired = locks.acquire(
            caller,
            key,
            shared=shared,
            xact=xact,
            wait=not operation.startswith("try"),
            cancelled=me.cancel_requested,
            timeout_ms=duration_ms(me.settings.get("lock_timeout")),
        )
        if acquired and xact:
            me.block.xact_locks.append((key, shared))  # ROLLBACK TO releases those after it
        return acquired

    @kept
    def backend_pid(token: str | None) -> int:
        return activity.caller(token).pid

    @kept
    def signal_backend(token: str | None, pid: int | None, terminate: bool) -> bool:
        if pid is None:
            return False
        return activity.signal(token, pid, terminate)

    @kept
    def activity_rows(token: str | None) -> list[dict[str, object]]:
        return activity.rows(token)

    @kept
    def lock_rows(token: str | None) -> list[dict[str, object]]:
        activity.caller(token)  # any session may read pg_locks, as in PostgreSQL
        return [
            {
                "locktype": target.locktype,
                "schema_name": target.schema,
                "relation_name": target.name,
                "pid": pid,
                "mode": mode,
                "granted": granted,
                "waitstart": since,
            }
            for target, pid, mode, granted, since in table.rows()
        ]

    row = duckdb.struct_type(ACTIVITY_COLUMNS)
    lock_row = duckdb.struct_type(LOCK_COLUMNS)
    for name, function, parameters, returns in (
        ("forge_current_setting", current_setting, [VARCHAR, VARCHAR, BOOLEAN], VARCHAR),
        ("forge_set_config", set_config, [VARCHAR, VARCHAR, VARCHAR, BOOLEAN], VARCHAR),
        ("forge_advisory", advisory, [VARCHAR, VARCHAR, BIGINT, BIGINT], BOOLEAN),
        ("forge_backend_pid", backend_pid, [VARCHAR], INTEGER),
        ("forge_signal_backend", signal_backend, [VARCHAR, INTEGER, BOOLEAN], BOOLEAN),
        ("forge_activity", activity_rows, [VARCHAR], duckdb.list_type(row)),
        ("forge_locks", lock_rows, [VARCHAR], duckdb.list_type(lock_row)),
    ):
        # NULL arguments reach the functions (missing_ok, the second key), and DuckDB
        # must call them every time: they have effects.
        con.create_function(
            name,
            function,
            cast("list[Any]", parameters),
            returns,
            null_handling=FunctionNullHandling.SPECIAL,
            side_effects=True,
        )
