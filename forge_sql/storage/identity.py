"""Start-up checks of the catalog against the lake record: a missing, replaced or older
catalog is refused with a clear message instead of showing (and sweeping) an empty lake."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from forge_sql.errors import ConfigError
from forge_sql.sql.quoting import quote_ident
from forge_sql.storage import datafiles
from forge_sql.storage.record import LakeRecord

if TYPE_CHECKING:
    import duckdb

    from forge_sql.storage.catalogs import Lake

log = logging.getLogger(__name__)

ACCEPT = "--accept-catalog"


def metadata(name: str) -> str:
    """The database DuckLake attaches the catalog of lake ``name`` as, quoted."""
    return quote_ident(f"__ducklake_metadata_{name}")


# The catalog's identity, kept among DuckLake's own key/value metadata (DuckLake 1.5.5
# keeps keys it does not know, and COPY FROM DATABASE copies them into backups).
IDENTITY_KEY = "forge_lake_id"


def lake_id(con: duckdb.DuckDBPyConnection, meta: str) -> str:
    """The catalog's identity, recorded in it the first time it is asked for: the UUID
    DuckLake gave the catalog's first schema when it created the catalog. A new catalog
    gets a new one, a copy keeps it, and servers sharing a new catalog all record the same
    one; recorded, it outlives that schema."""
    found = con.execute(
        f"SELECT min(value) FROM {meta}.ducklake_metadata WHERE key = ?", [IDENTITY_KEY]
    ).fetchone()
    if found and found[0]:
        return str(found[0])
    row = con.execute(
        f"SELECT schema_uuid::VARCHAR FROM {meta}.ducklake_schema "
        "ORDER BY schema_id, begin_snapshot LIMIT 1"
    ).fetchone()
    identity = str(row[0]) if row else str(uuid.uuid4())
    con.execute(
        f"INSERT INTO {meta}.ducklake_metadata (key, value) VALUES (?, ?)",
        [IDENTITY_KEY, identity],
    )
    return identity


def latest_snapshot(con: duckdb.DuckDBPyConnection, meta: str) -> int:
    row = con.execute(f"SELECT max(snapshot_id) FROM {meta}.ducklake_snapshot").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def created(con: duckdb.DuckDBPyConnection, meta: str) -> datetime:
    """When the catalog's oldest snapshot still kept was taken."""
    row = con.execute(
        f"SELECT epoch_ms(min(snapshot_time)) FROM {meta}.ducklake_snapshot"
    ).fetchone()
    if not row or row[0] is None:
        return datetime.now(UTC)
    return datetime.fromtimestamp(int(row[0]) / 1000, UTC)


def _restore_hint(data_dir: Path) -> str:
    return (
        f"To recover, restore a backup: forge-sql storage restore BACKUP --data-dir "
        f"{data_dir} (docs/storage.md, \"Backup, restore and recovery\"). To go on with "
        f"this catalog anyway, start once with `forge-sql serve {ACCEPT}` (or "
        "FORGE_SQL_ACCEPT_CATALOG=true): files it does not know are kept, not deleted."
    )


def check_present(
    lake: Lake, data_dir: Path, record: LakeRecord | None, accept: bool
) -> None:
    """Before the embedded catalog is attached (which would create an empty one): refuse
    when it is missing but the directory held a lake (Parquet files or a record)."""
    if lake.shared or Path(lake.catalog).exists():
        return
    root = lake.local_data
    files = sum(1 for _ in datafiles.local_files(root)) if root is not None else 0
    if record is None and files == 0:
        return  # a new data directory
    what = f"{files} data files under {lake.data_path}" if files else "no data files"
    known = (
        f"; the lake record {data_dir}/lake-record.json names lake {record.lake_id} at "
        f"snapshot {record.last_snapshot}"
        if record is not None
        else ""
    )
    message = f"the lake's catalog {lake.catalog} is missing ({what}{known})"
    if accept:
        log.warning("%s: a new, empty catalog is created (%s given)", message, ACCEPT)
        return
    raise ConfigError(
        f"{message}: starting would show an empty lake. {_restore_hint(data_dir)}"
    )


def verify(
    con: duckdb.DuckDBPyConnection,
    name: str,
    data_dir: Path,
    record: LakeRecord | None,
    accept: bool,
) -> LakeRecord:
    """After the catalog is attached: the record this start should write, or ConfigError
    when the catalog is another lake's, or older than the last snapshot recorded."""
    meta = metadata(name)
    identity = lake_id(con, meta)
    latest = latest_snapshot(con, meta)
    if record is None:
        return LakeRecord(identity, latest, created(con, meta))
    problem = None
    if record.lake_id != identity:
        problem = (
            f"the lake's catalog is not the one this data directory served: it is lake "
            f"{identity}, the lake record {data_dir}/lake-record.json names lake "
            f"{record.lake_id} (at snapshot {record.last_snapshot})"
        )
    elif latest < record.last_snapshot:
        problem = (
            f"the lake's catalog is older than this data directory's last known state: its "
            f"last snapshot is {latest}, the lake record {data_dir}/lake-record.json saw "
            f"snapshot {record.last_snapshot} (a backup put back by hand?)"
        )
    if problem is None:
        return LakeRecord(identity, latest, record.since, record.restored_from)
    if not accept:
        raise ConfigError(f"{problem}. {_restore_hint(data_dir)}")
    log.warning("%s: accepted (%s given); files it does not know are kept", problem, ACCEPT)
    return LakeRecord(identity, latest, datetime.now(UTC))
