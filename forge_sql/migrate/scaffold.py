"""``migrate new``: the next version number and a starting file for each kind."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from forge_sql.migrate import files
from forge_sql.migrate.errors import MigrationError

TEMPLATES = {
    "sql": """-- {name}: statements run in one transaction, with the history row.

-- migrate:down
-- Statements that undo the ones above (run by `forge-sql migrate down`).
""",
    "yaml": """# {name}: the table as it should be after this migration.
table: {table}
schema: public
description: ""
columns:
  - name: id
    type: BIGINT
    nullable: false
primary_key: [id]
""",
    "py": '''"""{name}: a data migration, run in the migration's transaction."""


def up(conn):
    # conn.execute(sql, params) with $1, $2 placeholders; conn.executemany(sql, rows).
    pass


def down(conn):
    pass
''',
}

_TIMESTAMP = 14  # digits of YYYYMMDDHHMMSS


def create(directory: Path, name: str, kind: str, timestamp: bool = False,
           now: datetime | None = None) -> Path:
    slug = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    if not slug:
        raise MigrationError(f"{name!r} gives an empty file name")
    directory.mkdir(parents=True, exist_ok=True)
    existing = [f for f in files.discover(directory) if f.version is not None]
    version = next_version(existing, timestamp, now or datetime.now(UTC))
    extension = {"sql": "sql", "yaml": "yaml", "py": "py"}[kind]
    path = directory / f"V{version}__{slug}.{extension}"
    path.write_text(TEMPLATES[kind].format(name=name, table=slug), encoding="utf-8")
    return path


def next_version(existing: list[files.MigrationFile], timestamp: bool, now: datetime) -> str:
    """A UTC timestamp if asked or if the directory already uses them, else the next number
    with the same zero padding as the last one."""
    last = existing[-1].version if existing else None
    if timestamp or (last is not None and len(last.text) >= _TIMESTAMP):
        stamp = now.strftime("%Y%m%d%H%M%S")
        if last is not None and not last.key < files.Version(stamp).key:
            stamp = str(int(last.text.split(".")[0]) + 1)
        return stamp
    if last is None:
        return "1"
    head = last.text.split(".")[0]
    return str(int(head) + 1).zfill(len(head))
