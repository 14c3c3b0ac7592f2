"""Where migrations run: the data directory opened in process, or a running server.

Both sides run statements the same way a client's would (offline through an engine
session, online through psycopg), so a migration behaves the same either way.
Placeholders are ``$1, $2, ...`` in both.
"""

from __future__ import annotations

import getpass
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from forge_sql import errors
from forge_sql.migrate.errors import DatabaseError, LockUnavailable, MigrationError
from forge_sql.sql.statements import split, tokenize

if TYPE_CHECKING:
    from forge_sql.config import Settings
    from forge_sql.engine.database import Database
    from forge_sql.engine.session import EngineSession

Row = tuple[Any, ...]


class Connection(Protocol):
    """What migrations and Python ``up(conn)`` functions use."""

    user: str

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one statement (or several, without parameters); rows of the last one."""

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Run one parameterised statement once per row (inserts are batched)."""

    def close(self) -> None: ...


class EngineConnection:
    """A session of the engine over a data directory opened by this process."""

    def __init__(self, database: Database, user: str) -> None:
        from forge_sql.engine.session import EngineSession
        from forge_sql.seam.backend import StartupInfo

        self.user = user
        self._database = database
        # A superuser whatever the configured users say: this process opened the data
        # directory itself, so it can change anything in it anyway.
        self._session: EngineSession = EngineSession(
            database, StartupInfo(user, database.catalog, {"application_name": "forge-sql"}),
            superuser=True,
        )

    def sibling(self) -> EngineConnection:
        """Another session on the same database (for the lock's lease renewal)."""
        return EngineConnection(self._database, self.user)

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        if params:
            return self._run(self._session.prepare(sql, ()), params)
        rows: list[Row] = []
        try:
            prepared = self._session.split(sql)
        except errors.ForgeError as exc:
            raise DatabaseError(exc.message, exc.sqlstate) from exc
        for statement in prepared:
            rows = self._run(statement, ())
        return rows

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        session = self._session
        try:
            prepared = session.prepare(sql, ())
            remaining = [list(row) for row in rows]
            while remaining:
                results, error = session.execute_many(prepared, remaining)
                for result in results:
                    result.close()
                if error is not None:
                    raise error
                remaining = remaining[len(results):]
            self._sync()
        except errors.ForgeError as exc:
            session.error_occurred()
            raise DatabaseError(exc.message, exc.sqlstate) from exc

    def _run(self, prepared: Any, params: Sequence[object]) -> list[Row]:
        session = self._session
        try:
            result = session.execute(prepared, list(params))
            try:
                found: list[Row] = []
                while (batch := result.next_batch()) is not None:
                    found.extend(tuple(r.values()) for r in batch.to_pylist())
            finally:
                result.close()
            self._sync()
        except errors.ForgeError as exc:
            session.error_occurred()
            raise DatabaseError(exc.message, exc.sqlstate) from exc
        return found

    def _sync(self) -> None:
        # Outside BEGIN ... COMMIT each call commits on its own, as a simple Query does.
        if self._session.pending_commit:
            self._session.sync()

    def close(self) -> None:
        self._session.close()


class ServerConnection:
    """A psycopg connection to a running forge-sql server, in autocommit mode (the
    migration code sends BEGIN and COMMIT itself, as offline)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        try:
            self._con = psycopg.connect(url, autocommit=True, application_name="forge-sql")
        except psycopg.Error as exc:
            raise MigrationError(f"cannot connect to {_safe(url)}: {exc}") from exc
        self.user = self._con.info.user

    def sibling(self) -> ServerConnection:
        return ServerConnection(self.url)

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        if params:
            return self._run(*_pyformat(sql, params))
        rows: list[Row] = []
        for statement in _statements(sql):
            rows = self._run(statement, ())
        return rows

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        import psycopg

        batch = list(rows)
        if not batch:
            return
        query, _ = _pyformat(sql, batch[0])
        order = _param_order(sql)
        try:
            with self._con.cursor() as cursor:
                cursor.executemany(query, [[row[i] for i in order] for row in batch])
        except psycopg.Error as exc:
            raise DatabaseError(_message(exc), exc.sqlstate) from exc

    def _run(self, sql: str, params: Sequence[object]) -> list[Row]:
        import psycopg

        try:
            with self._con.cursor() as cursor:
                cursor.execute(sql, list(params) if params else None)
                return list(cursor.fetchall()) if cursor.description else []
        except psycopg.Error as exc:
            raise DatabaseError(_message(exc), exc.sqlstate) from exc

    def close(self) -> None:
        self._con.close()


def _message(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return str(primary or exc).strip()


def _statements(sql: str) -> list[str]:
    try:
        return [s.sql for s in split(sql)]
    except errors.ForgeError as exc:
        raise DatabaseError(exc.message, exc.sqlstate) from exc


_PARAM = re.compile(r"^\$(\d+)")


def _param_order(sql: str) -> list[int]:
    return [int(m[1]) - 1 for t in tokenize(sql) if (m := _PARAM.match(t.text))]


def _pyformat(sql: str, params: Sequence[object]) -> tuple[str, list[object]]:
    """``$n`` placeholders as psycopg's ``%s``, with ``%`` elsewhere escaped."""
    out: list[str] = []
    values: list[object] = []
    last = 0
    for token in tokenize(sql):
        match = _PARAM.match(token.text)
        if match is None:
            continue
        out.append(sql[last : token.start].replace("%", "%%"))
        out.append("%s")
        values.append(params[int(match[1]) - 1])
        last = token.start + len(match[0])
    out.append(sql[last:].replace("%", "%%"))
    return "".join(out), values


def _safe(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", url)


def open_offline(settings: Settings, lock_timeout: float,
                 on_wait: Callable[[str], None] | None = None) -> Database:
    """Open the data directory as ``serve`` does, waiting up to ``lock_timeout`` seconds
    while another process (a server, another migrate) has it open."""
    import duckdb

    from forge_sql.engine.database import Database

    deadline = time.monotonic() + lock_timeout
    pause = 0.1
    while True:
        try:
            return Database(settings)
        except duckdb.IOException as exc:
            # "Could not set lock on file": not any message with "lock" in it (a corrupt
            # file's says "block at location ...").
            if "Could not set lock" not in str(exc) and "Conflicting lock" not in str(exc):
                raise
            holder = re.search(r"PID (\d+)", str(exc))
            who = f" (process {holder[1]})" if holder else ""
            if time.monotonic() >= deadline:
                raise LockUnavailable(
                    f"data directory {Path(settings.data_dir)} is in use by another "
                    f"process{who}: a running forge-sql server or another migrate. "
                    "To migrate through a running server use --url postgresql://...; "
                    "to wait for the other migrate, pass --lock-timeout SECONDS."
                ) from exc
            if on_wait is not None:
                on_wait(f"waiting for data directory {settings.data_dir}, in use{who}")
                on_wait = None
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 1.0)


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
