"""The history of applied migrations, ``forge_meta.migrations`` in the lake.

It lives in the lake so that a migration and its history row commit in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from forge_sql.migrate.connection import Connection
from forge_sql.migrate.files import MigrationFile, Version

TABLE = "forge_meta.migrations"


@dataclass(frozen=True, slots=True)
class Entry:
    """One history row."""

    rank: int
    version: Version | None
    name: str
    kind: str  # sql, yaml, py, repeatable, baseline
    script: str
    checksum: str | None
    installed_by: str
    installed_at: datetime | str
    duration_ms: int
    undo: str | None

    @property
    def label(self) -> str:
        return f"R__{self.name}" if self.version is None else f"V{self.version}__{self.name}"

    def as_json(self) -> dict[str, object]:
        return {
            "version": None if self.version is None else str(self.version),
            "name": self.name,
            "kind": self.kind,
            "script": self.script,
            "checksum": self.checksum,
            "installed_by": self.installed_by,
            "installed_at": str(self.installed_at),
            "duration_ms": self.duration_ms,
        }


class Ledger:
    """Reads and writes history rows through a connection (inside the caller's transaction
    when one is open)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def entries(self) -> list[Entry]:
        rows = self.conn.execute(
            "SELECT installed_rank, version, name, kind, script, checksum, installed_by, "
            f"CAST(installed_at AS VARCHAR), duration_ms, undo FROM {TABLE} "
            "ORDER BY installed_rank"
        )
        return [
            Entry(
                int(r[0]), None if r[1] is None else Version(r[1]), r[2], r[3], r[4], r[5],
                r[6], r[7], int(r[8]), r[9],
            )
            for r in rows
        ]

    def record(self, migration: MigrationFile, duration_ms: int, undo: str | None) -> None:
        kind = "repeatable" if migration.repeatable else migration.kind
        if migration.repeatable:
            # A repeatable migration keeps one row, its latest application.
            self.conn.execute(
                f"DELETE FROM {TABLE} WHERE version IS NULL AND name = $1", [migration.name]
            )
        self._insert(
            None if migration.version is None else str(migration.version),
            migration.name, kind, migration.script, migration.checksum, duration_ms, undo,
        )

    def record_baseline(self, version: Version, name: str) -> None:
        self._insert(str(version), name, "baseline", f"<< baseline {version} >>", None, 0, None)

    def _insert(self, version: str | None, name: str, kind: str, script: str,
                checksum: str | None, duration_ms: int, undo: str | None) -> None:
        self.conn.execute(
            f"INSERT INTO {TABLE} (installed_rank, version, name, kind, script, checksum, "
            "installed_by, installed_at, duration_ms, undo) "
            f"SELECT coalesce(max(installed_rank), 0) + 1, $1, $2, $3, $4, $5, $6, now(), "
            f"CAST($7 AS BIGINT), $8 FROM {TABLE}",
            [version, name, kind, script, checksum, self.conn.user, duration_ms, undo],
        )

    def forget(self, entry: Entry) -> None:
        self.conn.execute(f"DELETE FROM {TABLE} WHERE installed_rank = $1", [entry.rank])

    def realign(self, entry: Entry, checksum: str) -> None:
        self.conn.execute(
            f"UPDATE {TABLE} SET checksum = $1 WHERE installed_rank = $2", [checksum, entry.rank]
        )
