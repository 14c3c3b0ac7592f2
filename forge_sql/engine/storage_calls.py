"""``CALL forge_compact()``, ``forge_expire(age)``, ``forge_cleanup(age)``, ``forge_maintain()``:
storage maintenance over SQL, for superusers; DuckLake's own maintenance functions likewise."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from forge_sql import errors
from forge_sql.engine.result import TableResult
from forge_sql.engine.statements import Statement
from forge_sql.engine.types import column
from forge_sql.storage import maintenance
from forge_sql.storage.maintenance import Outcome
from forge_sql.storage.policy import parse_duration
from forge_sql.wire.backend import Column

if TYPE_CHECKING:
    from forge_sql.engine.database import Database

PROCEDURES = {
    "forge_compact": "compact",
    "forge_expire": "expire",
    "forge_cleanup": "cleanup",
    "forge_maintain": "all",
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
_RECORD = "external_datasets"  # forge_meta.external_datasets (forge_sql.storage.meta)
COLUMNS = (("action", "VARCHAR"), ("count", "BIGINT"), ("detail", "VARCHAR"))


@dataclass(frozen=True, slots=True)
class MaintenanceCall:
    action: str  # compact, expire, cleanup, all
    older_than: timedelta | None


def needs_superuser(statement: Statement) -> bool:
    """Statements only superusers may run: maintenance procedures and functions, CHECKPOINT
    (PostgreSQL also reserves CHECKPOINT to superusers), and anything but a plain SELECT
    that names the record of external datasets, since the server opens the file sandbox
    to the directories it lists."""
    if "CHECKPOINT" in statement.words[:2]:
        return True
    return any(
        t.kind in ("identifier", "keyword")
        and t.text.strip('"').lower() in _DUCKLAKE_ADMIN.union(PROCEDURES)
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
    else:
        what = "storage maintenance"
    return errors.InsufficientPrivilege(
        f"permission denied: {what} is reserved to superusers",
        hint="Superusers are the users configured with superuser = true (every user under "
        "trust authentication); `forge-sql storage ...` runs it offline.",
    )


def parse(statement: Statement) -> MaintenanceCall | None:
    """``CALL forge_<action>(['<age>'])``, or None for any other statement."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    if statement.kind != "CALL" or len(tokens) < 2 or tokens[0].upper != "CALL":
        return None
    action = PROCEDURES.get(tokens[1].text.strip('"').lower())
    if action is None:
        return None
    inner = [t for t in tokens[2:] if t.text not in ("(", ")")]
    if [t.text for t in tokens[2:3]] != ["("] or tokens[-1].text != ")" or len(inner) > 1:
        raise errors.SyntaxError_(
            f"usage: CALL {tokens[1].text}() or CALL {tokens[1].text}('7 days')"
        )
    if not inner:
        return MaintenanceCall(action, None)
    if action in ("compact", "all"):
        raise errors.SyntaxError_(f"{tokens[1].text}() takes no argument")
    text = inner[0].text
    if inner[0].kind == "string_const":
        text = text[1:-1].replace("''", "'")
    try:
        older_than = parse_duration(text)
    except ValueError as exc:
        raise errors.InvalidParameterValue(str(exc)) from exc
    assert isinstance(older_than, timedelta)
    return MaintenanceCall(action, older_than)


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


def run(
    call: MaintenanceCall,
    cursor: duckdb.DuckDBPyConnection,
    database: Database,
    running: Callable[[bool], None],
) -> TableResult:
    """Run the maintenance outside any transaction, as VACUUM; one row per action."""
    running(True)
    try:
        outcomes = maintenance.run(
            cursor,
            database.catalog,
            call.action,
            call.older_than,
            database.settings.maintenance,
        )
    finally:
        running(False)
    return TableResult(table(outcomes), columns(), "CALL")
