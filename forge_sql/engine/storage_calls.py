"""``CALL forge_compact()``, ``forge_expire(age)``, ``forge_cleanup(age)``, ``forge_maintain()``:
storage maintenance over SQL, for superusers; DuckLake's own maintenance functions likewise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from forge_sql import errors
from forge_sql.engine import sync_calls
from forge_sql.engine.result import TableResult
from forge_sql.engine.sync_calls import SyncCall
from forge_sql.errors import ConfigError
from forge_sql.seam.backend import Column
from forge_sql.sql.statements import Statement, Token
from forge_sql.sql.types import column
from forge_sql.storage import maintenance
from forge_sql.storage.maintenance import Locking, Outcome
from forge_sql.storage.policy import parse_duration

if TYPE_CHECKING:
    from forge_sql.engine.connection import Connection
    from forge_sql.engine.database import Database

PROCEDURES = {
    "forge_compact": "compact",
    "forge_expire": "expire",
    "forge_cleanup": "cleanup",
    "forge_maintain": "all",
    "forge_backup": "backup",
    # Not storage, but the same kind of call: superusers only, outside a transaction.
    "forge_reload_extensions": "reload_extensions",
    "forge_sync": "sync",  # forge_sql.engine.sync_calls
}
# DuckLake functions that rewrite or delete the lake's files, or change its options.
_DUCKLAKE_ADMIN = frozenset(
    {
        "ducklake_merge_adjacent_files",
        "ducklake_rewrite_data_files",
        "ducklake_expire_snapshots",
        "ducklake_cleanup_old_files",
        "ducklake_delete_orphaned_files",
        "ducklake_flush_inlined_data",
        "ducklake_add_data_files",
        "ducklake_set_option",
    }
)
_SUPERUSER_NAMES = _DUCKLAKE_ADMIN.union(PROCEDURES)  # checked for every statement planned
_RECORD = "external_datasets"  # forge_meta.external_datasets (forge_sql.storage.meta)
COLUMNS = (("action", "VARCHAR"), ("count", "BIGINT"), ("detail", "VARCHAR"))


@dataclass(frozen=True, slots=True)
class MaintenanceCall:
    action: str  # compact, expire, cleanup, all
    older_than: timedelta | None
    force: bool = False  # cleanup: delete orphans beyond the share cap


@dataclass(frozen=True, slots=True)
class BackupCall:
    """``CALL forge_backup('/directory')``: a backup written by the server."""

    destination: str


def needs_superuser(statement: Statement) -> bool:
    """Statements only superusers may run: maintenance procedures and functions, CHECKPOINT
    (PostgreSQL also reserves CHECKPOINT to superusers), and anything but a plain SELECT
    that names the record of external datasets, since the server opens the file sandbox
    to the directories it lists."""
    if "CHECKPOINT" in statement.words[:2]:
        return True
    return any(
        t.kind in ("identifier", "keyword")
        and t.text.strip('"').lower() in _SUPERUSER_NAMES
        for t in statement.tokens
    ) or (statement.kind != "SELECT" and _names_record(statement))


def _names_record(statement: Statement) -> bool:
    return any(t.kind in ("identifier", "keyword") and t.text.strip('"').lower() == _RECORD
               for t in statement.tokens)


def refuse(statement: Statement) -> errors.ForgeError:
    if "CHECKPOINT" in statement.words[:2]:
        what = "CHECKPOINT"
    elif statement.kind != "SELECT" and _names_record(statement):
        return errors.InsufficientPrivilege(
            f"permission denied for table {_RECORD}: external datasets are declared by "
            "migrations run by a superuser",
            hint="Superusers are the users configured with superuser = true.",
        )
    elif any(t.text.strip('"').lower() == "forge_reload_extensions" for t in statement.tokens):
        what = "reloading extensions"
    elif any(t.text.strip('"').lower() == "forge_sync" for t in statement.tokens):
        what = "running syncs"
    else:
        what = "storage maintenance"
    return errors.InsufficientPrivilege(
        f"permission denied: {what} is reserved to superusers",
        hint="Superusers are the users configured with superuser = true (every user under "
        "trust authentication); `forge-sql storage ...` runs it offline.",
    )


def parse(statement: Statement) -> MaintenanceCall | BackupCall | SyncCall | None:
    """``CALL forge_<action>(['<age>'[, <force>]])`` or ``CALL forge_backup('<dir>')``,
    or None for any other statement."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    if statement.kind != "CALL" or len(tokens) < 2 or tokens[0].upper != "CALL":
        return None
    name = tokens[1].text
    action = PROCEDURES.get(name.strip('"').lower())
    if action is None:
        return None
    if [t.text for t in tokens[2:3]] != ["("] or tokens[-1].text != ")":
        raise errors.SyntaxError_(_usage(name, action))
    arguments = _arguments(tokens[3:-1], name, action)
    if action == "sync":
        return sync_calls.parse(arguments)
    if action == "backup":
        if len(arguments) != 1 or arguments[0][0].kind != "string_const":
            raise errors.SyntaxError_(_usage(name, action))
        return BackupCall(_string(arguments[0][0].text))
    if not arguments:
        return MaintenanceCall(action, None)
    if action in ("compact", "all", "reload_extensions"):
        raise errors.SyntaxError_(f"{name}() takes no argument")
    if len(arguments) > (2 if action == "cleanup" else 1):
        raise errors.SyntaxError_(_usage(name, action))
    text = arguments[0][0].text
    if arguments[0][0].kind == "string_const":
        text = _string(text)
    try:
        older_than = parse_duration(text)
    except ValueError as exc:
        raise errors.InvalidParameterValue(str(exc)) from exc
    assert isinstance(older_than, timedelta)
    force = False
    if len(arguments) == 2:
        flag = [t.upper for t in arguments[1]]
        if flag[:2] == ["FORCE", "=>"]:
            flag = flag[2:]
        if flag not in (["TRUE"], ["FALSE"]):
            raise errors.SyntaxError_(_usage(name, action))
        force = flag == ["TRUE"]
    return MaintenanceCall(action, older_than, force)


def _arguments(tokens: Sequence[Token], name: str, action: str) -> list[list[Token]]:
    """The tokens between the parentheses, split at commas; each argument one or a few
    tokens (no nested parentheses)."""
    arguments: list[list[Token]] = [[]]
    for token in tokens:
        if token.text in ("(", ")"):
            raise errors.SyntaxError_(_usage(name, action))
        if token.text == ",":
            arguments.append([])
        else:
            arguments[-1].append(token)
    if arguments == [[]]:
        return []
    if any(not argument for argument in arguments):
        raise errors.SyntaxError_(_usage(name, action))
    return arguments


def _string(text: str) -> str:
    return text[1:-1].replace("''", "'")


def _usage(name: str, action: str) -> str:
    if action == "backup":
        return f"usage: CALL {name}('/directory/on/the/server')"
    if action == "cleanup":
        return f"usage: CALL {name}(), CALL {name}('1 hour') or CALL {name}('1 hour', true)"
    if action == "expire":
        return f"usage: CALL {name}() or CALL {name}('7 days')"
    if action == "sync":
        return sync_calls.USAGE
    return f"usage: CALL {name}()"


def columns() -> tuple[Column, ...]:
    """What a maintenance procedure returns: one row per step."""
    return tuple(column(name, kind) for name, kind in COLUMNS)


def table(outcomes: Sequence[Outcome]) -> pa.Table:
    return pa.table(
        {
            "action": pa.array([o.action for o in outcomes], pa.string()),
            "count": pa.array([o.count for o in outcomes], pa.int64()),
            "detail": pa.array([o.detail for o in outcomes], pa.string()),
        }
    )


def backup(call: BackupCall, database: Database) -> TableResult:
    """Back the lake up into a directory of the server's machine; one row describing it."""
    destination = Path(call.destination)
    if not destination.is_absolute():
        raise errors.InvalidParameterValue(
            f"backup directory {call.destination!r} must be an absolute path on the server"
        )
    try:
        manifest = database.backup(destination)
    except OSError as exc:
        raise errors.IoError(f"cannot write the backup to {destination}: {exc}") from exc
    outcome = Outcome("backup", len(manifest.files), f"{manifest.describe()} in {destination}")
    return TableResult(table([outcome]), columns(), "CALL")


def run(
    call: MaintenanceCall, connection: Connection, database: Database, locking: Locking
) -> TableResult:
    """Run the maintenance outside any transaction, as VACUUM; one row per action.

    Storage runs its statements on the raw cursor: the whole call is marked running
    (cancel and statement_timeout interrupt it) and the open result was read before.
    """
    connection.detach_stream()
    if call.action == "reload_extensions":
        try:
            count = database.reload_extensions()
        except ConfigError as exc:  # a broken file: the running functions stay
            problems = getattr(exc, "problems", None) or [str(exc)]
            raise errors.InvalidFunctionDefinition(
                "extensions not reloaded: " + problems[0],
                detail="\n".join(problems[1:]) or None,
                hint="The functions loaded before stay in use; fix the file and reload.",
            ) from None
        outcome = Outcome("reload_extensions", count, "functions loaded from the extensions")
        return TableResult(table([outcome]), columns(), "CALL")
    running = connection.running
    running(True)
    try:
        with database.files:
            outcomes = maintenance.run(
                connection.raw,
                database.catalog,
                call.action,
                call.older_than,
                database.settings.maintenance,
                where=database.lake,
                since=database.record.since,
                force=call.force,
                locking=locking,
            )
    finally:
        running(False)
    return TableResult(table(outcomes), columns(), "CALL")
