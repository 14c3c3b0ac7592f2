"""Syncs declared in YAML (``syncs:``): their row in forge_meta.syncs, which
``CALL forge_sync('name')`` runs and a scheduler reads (its ``schedule``). An undo puts the
row back as it was; the target table and the sync's state are left alone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from forge_sql.engine.syncs import SyncDefinition
from forge_sql.migrate.connection import Connection
from forge_sql.migrate.diff import Risk, TableDiff
from forge_sql.sql.quoting import literal, quote_ident

RECORD = "forge_meta.syncs"


@dataclass(frozen=True, slots=True)
class SyncState:
    name: str
    definition: str
    schedule: str | None
    declared_in: str | None


def live(conn: Connection, name: str) -> SyncState | None:
    rows = conn.execute(
        f"SELECT definition, schedule, declared_in FROM {RECORD} WHERE name = $1", [name]
    )
    if not rows:
        return None
    definition, schedule, script = rows[0]
    return SyncState(name, definition, schedule, script)


def diff(before: SyncState | None, decl: SyncDefinition, script: str) -> TableDiff:
    """The statements that record ``decl`` in place of ``before``, with their undo."""
    result = TableDiff(f"sync {decl.name}")
    if decl.drop:
        if before is not None:
            result.add(f"drop sync {decl.name}", [_forget(decl.name)], _restore(before))
        return result
    definition = decl.as_json()
    if before is not None and (before.definition, before.schedule) == (
        definition, decl.schedule
    ):
        return result
    verb = "change" if before is not None else "create"
    schedule = f", schedule {decl.schedule}" if decl.schedule else ""
    result.add(
        f"{verb} sync {decl.name}: {decl.source or decl.connection} into {decl.into} "
        f"({decl.mode}{schedule})",
        [_forget(decl.name), _record(decl.name, definition, decl.schedule, script)],
        _restore(before) if before is not None else [_forget(decl.name)],
        Risk.SAFE,
    )
    return result


# A replace sync's target at or above this many rows is worth a warning: each run rewrites
# all of them.
BIG_TABLE_ROWS = 1_000_000
_SECONDS = re.compile(r"^\s*\d+\s+seconds?\s*$", re.IGNORECASE)


def findings(decl: SyncDefinition, conn: Connection | None = None) -> list[tuple[Risk, str]]:
    """What is worth a warning before applying (with ``conn``: also what the target's
    size makes risky)."""
    found: list[tuple[Risk, str]] = []
    if decl.drop:
        return found
    if decl.mode == "replace" and decl.cursor:
        found.append((Risk.DATA, f"sync {decl.name}: mode replace reads everything; "
                      "its cursor only records the newest value"))
    if decl.mode == "replace" and conn is not None:
        rows = _rows(conn, *decl.target)
        if rows is not None and rows >= BIG_TABLE_ROWS:
            found.append((Risk.DATA, f"sync {decl.name}: mode replace rewrites the "
                          f"{rows:,} rows of {decl.into} at each run; use merge with a "
                          "cursor"))
    if decl.mode == "merge" and decl.lookback is None:
        found.append((Risk.DATA, f"sync {decl.name}: merge without lookback: with a cursor, "
                      "rows that arrive late with an older cursor value are missed"))
    if decl.schedule is not None and _SECONDS.match(decl.schedule):
        found.append((Risk.DATA, f"sync {decl.name}: schedule {decl.schedule!r} runs more "
                      "often than every minute; each run is a lake commit"))
    return found


def _rows(conn: Connection, schema: str, table: str) -> int | None:
    """How many rows the table holds; None when it does not exist yet."""
    if not conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 "
        "AND table_name = $2", [schema, table])[0][0]:
        return None
    return int(conn.execute(f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(table)}"
                            )[0][0])


def _forget(name: str) -> str:
    return f"DELETE FROM {RECORD} WHERE name = {literal(name)}"


def _record(name: str, definition: str, schedule: str | None, script: str) -> str:
    return (f"INSERT INTO {RECORD} (name, definition, schedule, declared_in) VALUES "
            f"({literal(name)}, {literal(definition)}, {literal(schedule)}, {literal(script)})")


def _restore(before: SyncState) -> list[str]:
    return [_forget(before.name),
            _record(before.name, before.definition, before.schedule,
                    before.declared_in or "migrate down")]
