"""Statements the server answers itself from session state: SET, SHOW, RESET, SET
TRANSACTION, and DEALLOCATE, DISCARD, CLOSE, LISTEN/UNLISTEN/NOTIFY."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pyarrow as pa

from forge_sql import errors
from forge_sql.engine import session_settings
from forge_sql.engine.result import TableResult, TagResult
from forge_sql.seam.backend import ALL_STATEMENTS, Result
from forge_sql.sql import configuration
from forge_sql.sql.statements import Statement, identifier
from forge_sql.sql.types import TEXT_TYPMOD, column

if TYPE_CHECKING:
    from forge_sql.engine.database import Database
    from forge_sql.engine.sql_cursors import Cursors
    from forge_sql.engine.transactions import TransactionBlock

_TRANSACTION_ONLY = ("25P01", "SET LOCAL and SET TRANSACTION only apply in transaction blocks")


class SessionCommands:
    """One session's SET/SHOW/RESET and session commands, and the prepared statements they
    deallocate, for the wire to forget."""

    def __init__(
        self,
        settings: session_settings.SessionSettings,
        block: TransactionBlock,
        cursors: Cursors,
        database: Database,
        token: str,
        apply_timezone: Callable[[], None],
    ) -> None:
        self.settings = settings
        self._block = block
        self._cursors = cursors
        self._database = database
        self._token = token  # the session's, for its advisory locks
        self._apply_timezone = apply_timezone
        self._deallocated: list[str] = []

    def take_deallocations(self) -> list[str]:
        names, self._deallocated = self._deallocated, []
        return names

    def setting(self, statement: Statement) -> Result:
        command = statement.command  # parsed once, by forge_sql.sql.statements
        assert command is not None
        if command.verb == "SHOW":
            names = show_names(command)
            rows: list[tuple[str, ...]]
            if command.name.lower() == "all":
                rows = list(self.settings.all_rows())
            else:
                rows = [(self.settings.get(command.name),)]
            table = pa.table(
                [pa.array(list(values), pa.string()) for values in zip(*rows, strict=True)],
                names=names,
            )
            columns = tuple(column(n, "VARCHAR", TEXT_TYPMOD) for n in names)  # text, as in PG
            return TableResult(table, columns, "SHOW")
        self._refuse_duckdb_setting(command.name)
        if command.verb == "RESET":
            self.settings.reset(command.name)
            self._apply_timezone()
            return TagResult("RESET")
        if command.verb == "SET_CHARACTERISTICS":
            self.settings.set_characteristics(command.value)
            return TagResult("SET")
        if command.verb == "SET_TRANSACTION":
            if not self.settings.in_block:
                return TagResult("SET", [_TRANSACTION_ONLY])
            self.settings.set_transaction(command.value)
            return TagResult("SET")
        self.settings.set(command.name, command.value, command.local)
        self._apply_timezone()
        if command.local and not self.settings.in_block:
            return TagResult("SET", [_TRANSACTION_ONLY])
        return TagResult("SET")

    def _refuse_duckdb_setting(self, name: str) -> None:
        key = name.lower()
        if key not in configuration.SETTINGS and key in self._database.duckdb_settings:
            raise errors.InsufficientPrivilege(
                f'permission denied to set parameter "{name}"',
                hint="DuckDB settings are fixed by the server configuration.",
            )

    def session_command(self, statement: Statement) -> Result:
        """DEALLOCATE, DISCARD, CLOSE, LISTEN/UNLISTEN/NOTIFY."""
        words = statement.words
        verb = words[0]
        if verb == "DEALLOCATE":
            names = [w for w in words[1:] if w != "PREPARE"]
            if not names:
                raise errors.SyntaxError_("syntax error at end of input")
            if names[0] == "ALL":
                self._deallocated.append(ALL_STATEMENTS)
                return TagResult("DEALLOCATE ALL")
            name = next(t.text for t in reversed(statement.tokens)).strip('"')
            self._deallocated.append(name)
            return TagResult("DEALLOCATE")
        if verb == "DISCARD":
            what = words[1] if len(words) > 1 else ""
            if what == "ALL":
                if self._block.status != "I":
                    raise errors.ActiveSqlTransaction(
                        "DISCARD ALL cannot run inside a transaction block"
                    )
                self._cursors.close_all()
                self._database.advisory_locks.release_all(self._token, xact=False)
                self.settings.reset("all")
                self._apply_timezone()
                self._deallocated.append(ALL_STATEMENTS)
            return TagResult(f"DISCARD {what}".strip())
        if verb == "CLOSE":
            if len(words) > 1 and words[1] == "ALL":
                self._cursors.close_all()
                return TagResult("CLOSE CURSOR ALL")
            tokens = [t for t in statement.tokens if t.kind != "comment"]
            if len(tokens) < 2:
                raise errors.SyntaxError_("syntax error: expected CLOSE name or CLOSE ALL")
            self._cursors.close(identifier(statement, tokens[1]))
            return TagResult("CLOSE CURSOR")
        if verb == "UNLISTEN":
            return TagResult("UNLISTEN")
        raise errors.FeatureNotSupported(f"{verb} is not supported: forge-sql has no notifications")


def show_names(command: configuration.SettingCommand) -> list[str]:
    """The column names of SHOW's answer."""
    name = command.name.lower()
    if name == "all":
        return ["name", "setting", "description"]
    if name == "transaction isolation level":
        return ["transaction_isolation"]
    return [configuration.DISPLAY_NAMES.get(name, name).lower()]
