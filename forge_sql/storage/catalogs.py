"""Where the lake lives: its DuckLake catalog (embedded file or PostgreSQL) and data path.

The embedded default keeps both in the data directory; a catalog in PostgreSQL with a
shared data path (a directory or ``s3://``) lets several servers serve one lake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from forge_sql.storage import objectstore


class LakeSettings(objectstore.ObjectStoreSettings, Protocol):
    """The server configuration's lake settings (forge_sql.config.Settings)."""

    @property
    def catalog(self) -> str | None: ...
    @property
    def data_path(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Lake:
    """The ATTACH target of the lake and where its Parquet files go."""

    catalog: str  # what follows ``ducklake:`` in ATTACH: a file, or ``postgres:<conninfo>``
    data_path: str  # a directory or URL prefix, ending in "/"
    shared: bool  # other servers may write to the same catalog at the same time

    @property
    def extensions(self) -> tuple[str, ...]:
        """DuckDB extensions the catalog and the data path need, besides ducklake."""
        needed = ["postgres_scanner"] if self.shared else []
        if objectstore.is_url(self.data_path):
            needed.append("httpfs")
        return tuple(needed)

    @property
    def local_data(self) -> Path | None:
        """The data directory when data files are local files."""
        return None if objectstore.is_url(self.data_path) else Path(self.data_path)

    @property
    def staging_path(self) -> str:
        """Where large COPYs write Parquet files before adding them to their table.

        Inside the data path, so every server sharing the lake can read them, and
        ``ducklake_delete_orphaned_files`` removes those of transactions that never
        committed (a crash).
        """
        return self.data_path + "copy/"


def locate(settings: LakeSettings, data_dir: Path) -> Lake:
    """The lake ``settings`` describe; relative local paths are taken from ``data_dir``."""
    data_path = settings.data_path or str(data_dir / "lake")
    if not objectstore.is_url(data_path):
        data_path = str((data_dir / data_path).resolve())
    data_path = data_path.rstrip("/") + "/"
    if settings.catalog:
        return Lake("postgres:" + settings.catalog, data_path, shared=True)
    return embedded(data_dir, data_path)


def embedded(data_dir: Path, data_path: str | None = None) -> Lake:
    """The default lake: catalog file and Parquet files in ``data_dir``."""
    return Lake(str(data_dir / "catalog.ducklake"), data_path or f"{data_dir}/lake/", False)


_PASSWORD = re.compile(
    r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s\"]+)|(://[^:/@\s]+:)[^@\s]+@", re.I
)


def redact(text: str) -> str:
    """``text`` with passwords of libpq connection strings and URLs masked: DuckDB's
    errors about the catalog repeat its connection string."""
    return _PASSWORD.sub(
        lambda m: f"{m.group(1)}***" if m.group(1) else f"{m.group(3)}***@", text
    )
