"""Backups of an embedded lake: the catalog as of one snapshot and every file it refers to.

Parquet files never change once written and DuckLake deletes files only in maintenance, so
a copy of the catalog taken in one transaction plus the files it names is consistent as
long as maintenance does not run meanwhile (the caller holds the lake's file lock). A backup
directory is itself a data directory (``catalog.ducklake``, ``lake/``) with a manifest.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from forge_sql import __version__, errors
from forge_sql.sql.quoting import literal, quote_ident
from forge_sql.storage import datafiles, identity
from forge_sql.storage.catalogs import Lake

MANIFEST = "backup.json"
CATALOG = "catalog.ducklake"
LAKE = "lake"


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup holds: the lake, the snapshot, and its files relative to ``lake/``."""

    lake_id: str
    snapshot: int
    taken_at: str
    database: str
    files: list[tuple[str, int]]
    forge_sql_version: str = __version__
    duckdb_version: str = duckdb.__version__

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)

    def describe(self) -> str:
        return (
            f"lake {self.lake_id} at snapshot {self.snapshot}: catalog and {len(self.files)} "
            f"files ({self.bytes} bytes)"
        )


def _empty_directory(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise errors.ObjectNotInPrerequisiteState(
            f"{what} {path} is not an empty directory", hint="give a new or empty directory"
        )


def take(
    con: duckdb.DuckDBPyConnection,
    name: str,
    lake: Lake,
    scratch: Path,
    destination: Path,
) -> Manifest:
    """Back lake ``name`` (attached on ``con``) up into ``destination``, an empty or new
    directory; ``scratch`` is a directory DuckDB may write to (the data directory's tmp/).
    The caller holds the lake's file lock, so no file the copy names is deleted meanwhile."""
    if lake.shared or lake.local_data is None:
        raise errors.FeatureNotSupported(
            "backup copies the embedded lake only; for a catalog in PostgreSQL back it up "
            "with pg_dump, then copy the data path (docs/storage.md)"
        )
    destination = destination.resolve()
    if destination.is_relative_to(lake.local_data.resolve()):
        raise errors.InvalidParameterValue(
            f"the backup directory {destination} is inside the lake's data path"
        )
    _empty_directory(destination, "the backup directory")
    copy = scratch / f"backup-{uuid.uuid4().hex}.ducklake"
    alias = quote_ident(f"forge_backup_{uuid.uuid4().hex}")
    # One statement, one transaction: the catalog as of a single snapshot.
    con.execute(f"ATTACH {literal(str(copy))} AS {alias}")
    try:
        con.execute(f"COPY FROM DATABASE {identity.metadata(name)} TO {alias}")
    finally:
        con.execute(f"DETACH {alias}")
    try:
        destination.mkdir(parents=True, exist_ok=True)
        manifest = _finish(copy, name, lake, destination)
        shutil.move(str(copy), destination / CATALOG)
    finally:
        copy.unlink(missing_ok=True)
    (destination / MANIFEST).write_text(
        json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8"
    )
    return manifest


def _finish(copy: Path, name: str, lake: Lake, destination: Path) -> Manifest:
    """Copy the files the catalog copy refers to, and point it at the backup's lake/."""
    con = duckdb.connect(str(copy))
    try:
        source = datafiles.data_path(con, "main")
        files = []
        for path, size in datafiles.referenced(con, "main", source):
            if not path.startswith(source):
                raise errors.FeatureNotSupported(
                    f"the lake refers to {path}, outside its data path {source}: "
                    "a backup cannot hold it"
                )
            relative = path[len(source):]
            target = destination / LAKE / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied = target.stat().st_size
            if size and copied != size:
                raise errors.IoError(
                    f"{path} has {copied} bytes, the catalog records {size}: the file "
                    "changed or is damaged"
                )
            files.append((relative, copied))
        _relocate(con, f"{destination / LAKE}/")
        manifest = Manifest(
            lake_id=identity.lake_id(con, "main"),
            snapshot=identity.latest_snapshot(con, "main"),
            taken_at=datetime.now(UTC).isoformat(),
            database=name,
            files=files,
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return manifest


def _relocate(con: duckdb.DuckDBPyConnection, data_path: str) -> None:
    """Point a catalog copy at ``data_path``. Files it had scheduled for deletion are not
    copied, so it forgets them."""
    con.execute(
        "UPDATE ducklake_metadata SET value = ? WHERE key = 'data_path' AND scope IS NULL",
        [data_path],
    )
    con.execute("DELETE FROM ducklake_files_scheduled_for_deletion")


def read_manifest(source: Path) -> Manifest:
    """The manifest of the backup in ``source``; a clear error when it is not one."""
    file = source / MANIFEST
    if not file.is_file() or not (source / CATALOG).is_file():
        raise errors.UndefinedObject(
            f"{source} holds no backup ({MANIFEST} and {CATALOG}): give the directory "
            "`forge-sql storage backup` wrote"
        )
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        raw["files"] = [(str(path), int(size)) for path, size in raw["files"]]
        return Manifest(**raw)
    except (ValueError, TypeError, KeyError) as exc:
        raise errors.DataError(f"{file} is damaged: {exc}") from None


def restore(source: Path, lake: Lake, data_dir: Path) -> Manifest:
    """Put the backup in ``source`` in place as the lake of ``data_dir`` (the server
    stopped). An existing catalog is moved aside, never deleted; files are copied into the
    data path; the returned manifest tells what the lake now holds."""
    from forge_sql.storage import record

    if lake.shared or lake.local_data is None:
        raise errors.FeatureNotSupported(
            "restore puts an embedded lake back only; for a catalog in PostgreSQL use "
            "pg_restore, then copy the data path back (docs/storage.md)"
        )
    source = source.resolve()
    manifest = read_manifest(source)
    catalog = Path(lake.catalog)
    _refuse_in_use(catalog)
    for relative, size in manifest.files:
        original = source / LAKE / relative
        target = lake.local_data / relative
        if not original.is_file() or original.stat().st_size != size:
            raise errors.IoError(f"the backup's file {original} is missing or damaged")
        if target.is_file() and target.stat().st_size == size:
            continue  # Parquet files never change: the same name is the same file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(original, target)
    incoming = catalog.with_name(f".{catalog.name}.restoring")
    shutil.copy2(source / CATALOG, incoming)
    con = duckdb.connect(str(incoming))
    try:
        _relocate(con, lake.data_path)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for old in (catalog, catalog.with_name(catalog.name + ".wal")):
        if old.exists():
            old.replace(old.with_name(f"{old.name}.before-restore-{stamp}"))
    incoming.replace(catalog)
    record.write(
        data_dir,
        record.LakeRecord(
            lake_id=manifest.lake_id,
            last_snapshot=manifest.snapshot,
            since=datetime.now(UTC),
            restored_from=str(source),
        ),
    )
    return manifest


def _refuse_in_use(catalog: Path) -> None:
    """A running server holds the catalog's lock: restoring under it is refused."""
    if not catalog.exists():
        return
    try:
        duckdb.connect(str(catalog), read_only=True).close()
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise errors.ObjectInUse(
            f"the catalog {catalog} is in use (a running forge-sql server?)",
            hint="stop the server, then restore",
        ) from exc
