"""The orphan sweep: delete data files no snapshot refers to, only those provably garbage.

A file is deleted only when DuckLake (or a staged COPY) named it, it was made after the
catalog became this lake's catalog, it is older than the retention, and the sweep deletes
no more than a share of the lake's files at once unless forced. A lost or older catalog
makes every newer file look orphaned; these rules keep them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from forge_sql.sql.quoting import literal
from forge_sql.storage import datafiles, identity, objectstore

if TYPE_CHECKING:
    import duckdb

    from forge_sql.storage.catalogs import Lake

log = logging.getLogger(__name__)

LOGGED_KEPT = 20  # kept files named one by one at INFO per sweep


@dataclass(frozen=True, slots=True)
class Rules:
    """When an unreferenced file may be deleted."""

    older_than: timedelta  # the retention: younger files may be a running transaction's
    max_share: float  # of the lake's files, deleted at most at once unless forced
    since: datetime | None  # files made before are not this catalog's (lake record)
    force: bool = False  # lift the share cap (an explicit command)
    horizon: datetime | None = None  # files made since may be an open transaction's


@dataclass(slots=True)
class Sweep:
    """What one sweep deleted and what it kept, with the reason for each kept file."""

    deleted: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    capped: bool = False

    def summary(self) -> str:
        text = f"{len(self.deleted)} files no snapshot references deleted"
        reasons = Counter(self.kept.values())
        if reasons:
            text += "; kept: " + ", ".join(
                f"{count} {reason}" for reason, count in sorted(reasons.items())
            )
        return text


def _made(path: str, lake: Lake) -> datetime | None:
    """When the file was made, by its DuckLake name, else its modification time when it
    is a staged COPY file; None when neither proves it is the server's."""
    name = path.rsplit("/", 1)[-1]
    made = datafiles.written_at(name)
    if made is None and not datafiles.is_staged(path, lake.staging_path):
        return None
    if not objectstore.is_url(path):
        try:
            modified = datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
        except OSError:
            return made
        # The later of the two: a file copied in recently is young whatever its name says.
        return modified if made is None or modified > made else made
    return made


def _why_kept(path: str, lake: Lake, rules: Rules, now: datetime) -> str | None:
    made = _made(path, lake)
    if made is None:
        return "not named by DuckLake"
    if rules.since is not None and made < rules.since:
        return "older than this catalog"
    if now - made < rules.older_than:
        return f"younger than {rules.older_than}"
    # A second's margin: DuckLake's names carry milliseconds, the session's clock more.
    if rules.horizon is not None and made >= rules.horizon - timedelta(seconds=1):
        return "made since the oldest open transaction began"
    return None


def _lake_files(con: duckdb.DuckDBPyConnection, name: str) -> int:
    meta = identity.metadata(name)
    row = con.execute(
        f"SELECT (SELECT count(*) FROM {meta}.ducklake_data_file) "
        f"+ (SELECT count(*) FROM {meta}.ducklake_delete_file) "
        f"+ (SELECT count(*) FROM {meta}.ducklake_files_scheduled_for_deletion)"
    ).fetchone()
    return int(row[0]) if row else 0


def sweep(con: duckdb.DuckDBPyConnection, name: str, lake: Lake, rules: Rules) -> Sweep:
    """Delete the unreferenced files of lake ``name`` that ``rules`` allow; log each one
    deleted, and each one kept with why."""
    lake_name = literal(name)
    candidates = sorted(
        str(path)
        for (path,) in con.execute(
            f"SELECT path FROM ducklake_delete_orphaned_files({lake_name}, "
            "dry_run => true, cleanup_all => true)"
        ).fetchall()
    )
    done = Sweep()
    if not candidates:
        return done
    now = datetime.now(UTC)
    garbage = []
    for path in candidates:
        reason = _why_kept(path, lake, rules, now)
        if reason is None:
            garbage.append(path)
        else:
            done.kept[path] = reason
    total = _lake_files(con, name) + len(candidates)
    cap = int(rules.max_share * total)
    if len(garbage) > cap and not rules.force:
        done.capped = True
        for path in garbage:
            done.kept[path] = f"more than {rules.max_share:.0%} of the lake's files"
        log.warning(
            "orphan sweep: %d of the lake's %d files look orphaned, more than the %.0f%% "
            "one sweep deletes; none deleted. If the catalog is the right one, delete them "
            "with: forge-sql storage cleanup --force (or CALL forge_cleanup('<age>', true))",
            len(garbage), total, rules.max_share * 100,
        )
        garbage = []
    if garbage and objectstore.is_url(lake.data_path):
        garbage = _delete_remote(con, lake_name, garbage, done, now - rules.older_than)
    else:
        for path in garbage:
            with contextlib.suppress(FileNotFoundError):
                Path(path).unlink()
    done.deleted = garbage
    for path in garbage:
        log.info("orphan sweep: deleted %s (no snapshot refers to it)", path)
    # Every file deleted is logged; kept ones up to a bound, then at DEBUG, since the
    # same files are kept again at every run.
    for n, (path, reason) in enumerate(done.kept.items()):
        log.log(logging.INFO if n < LOGGED_KEPT else logging.DEBUG,
                "orphan sweep: kept %s (%s)", path, reason)
    if len(done.kept) > LOGGED_KEPT:
        log.info("orphan sweep: %s", done.summary())
    return done


def _delete_remote(
    con: duckdb.DuckDBPyConnection, lake_name: str, garbage: list[str], done: Sweep,
    cutoff: datetime,
) -> list[str]:
    """Object storage: only DuckLake can delete there, all files older than a cutoff at
    once. Done only when every file it would take is garbage by the rules."""
    if any(not reason.startswith("younger") for reason in done.kept.values()):
        for path in garbage:
            done.kept[path] = "kept with files the rules keep (object storage)"
        return []
    deleted = con.execute(
        f"SELECT path FROM ducklake_delete_orphaned_files({lake_name}, "
        f"older_than => TIMESTAMPTZ {literal(cutoff.isoformat())})"
    ).fetchall()
    return [str(path) for (path,) in deleted]
