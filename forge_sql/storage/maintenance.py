"""Lake maintenance: compact small files, expire old snapshots, delete files no snapshot needs.

Each step is one DuckLake function run on a connection with the lake attached; the CLI
(offline), ``CALL forge_*`` (superusers, over the wire) and the server's periodic policy share
them. Results are always fetched whole: checked on DuckLake 1.5.5, a maintenance function
whose result is left half-read is rolled back when the connection runs the next statement.

In the server each step runs in a transaction of its own, holding the lock of the table it
rewrites (``Locking.table``: writers of the table wait for it, and it for them) and
committing in the queue of the lake's commits (``Locking.committing``), so that it never
makes a session's commit fail or lose rows (checked on DuckLake 1.5.5: an UPDATE or DELETE
committed after a compaction that its snapshot predates is silently lost in part).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import duckdb

from forge_sql.sql.quoting import literal, quote_ident
from forge_sql.storage import identity, orphans
from forge_sql.storage.catalogs import Lake
from forge_sql.storage.identity import metadata
from forge_sql.storage.policy import MaintenancePolicy

ACTIONS = ("compact", "expire", "cleanup")


class Locking(Protocol):
    """The server's locks, as maintenance takes them (forge_sql.engine.maintenance_locks)."""

    def table(self, schema: str, name: str) -> AbstractContextManager[object]:
        """Held while ``schema.name``'s files are rewritten and committed."""
        ...

    def committing(self) -> AbstractContextManager[object]:
        """Held while a step commits: the lake's commits queue one at a time."""
        ...

    def horizon(self, writers: bool = False) -> datetime | None:
        """When the oldest open transaction began (None: none is open); ``writers``: of
        those that wrote. Its snapshot and the files it wrote but has not committed must
        stay: expire, cleanup and the orphan sweep keep what is not older."""
        ...


class Unlocked:
    """No other session to wait for: the offline CLI."""

    def table(self, schema: str, name: str) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def committing(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def horizon(self, writers: bool = False) -> datetime | None:
        return None


UNLOCKED = Unlocked()


def _step(
    con: duckdb.DuckDBPyConnection, sql: str, locking: Locking
) -> list[tuple[object, ...]]:
    """``sql``'s rows, run in a transaction of its own that commits in the queue."""
    con.execute("BEGIN TRANSACTION")
    try:
        rows = con.execute(sql).fetchall()
        with locking.committing():
            con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    return rows


def _tables(con: duckdb.DuckDBPyConnection, lake: str) -> Iterator[tuple[str, str]]:
    yield from con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
        "ORDER BY ALL",
        [lake],
    ).fetchall()


@dataclass(frozen=True, slots=True)
class _Holdings:
    """What a table holds that compaction could act on, from the lake's metadata."""

    files: int  # live Parquet files
    inlined: bool  # rows in the catalog's inlined-data tables, live or not


def _holdings(con: duckdb.DuckDBPyConnection, lake: str) -> dict[tuple[str, str], _Holdings]:
    """Each table's holdings, read once without locks: what is added after the read is
    compacted at the next run."""
    meta = metadata(lake)
    rows = con.execute(
        "SELECT s.schema_name, t.table_name, t.table_id, count(f.data_file_id) "
        f"FROM {meta}.ducklake_table t JOIN {meta}.ducklake_schema s "
        "ON s.schema_id = t.schema_id AND s.end_snapshot IS NULL "
        f"LEFT JOIN {meta}.ducklake_data_file f "
        "ON f.table_id = t.table_id AND f.end_snapshot IS NULL "
        "WHERE t.end_snapshot IS NULL GROUP BY ALL"
    ).fetchall()
    inlined_tables = con.execute(
        f"SELECT table_id, table_name FROM {meta}.ducklake_inlined_data_tables"
    ).fetchall()
    holding: set[int] = set()
    if inlined_tables:
        probes = " UNION ALL ".join(
            f"SELECT {int(table_id)} WHERE EXISTS (SELECT 1 FROM {meta}.{quote_ident(name)})"
            for table_id, name in inlined_tables
        )
        holding = {int(table_id) for (table_id,) in con.execute(probes).fetchall()}
    return {
        (str(schema), str(table)): _Holdings(int(count), int(table_id) in holding)
        for schema, table, table_id, count in rows
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one maintenance step did: ``count`` files or snapshots, described in ``detail``."""

    action: str
    count: int
    detail: str


def _cutoff(older_than: timedelta, horizon: datetime | None = None) -> str:
    """A TIMESTAMPTZ literal ``older_than`` ago, or ``horizon`` if earlier (the catalog
    compares in UTC)."""
    moment = datetime.now(UTC) - older_than
    if horizon is not None:
        moment = min(moment, horizon)
    return f"TIMESTAMPTZ {literal(moment.isoformat())}"


def compact(
    con: duckdb.DuckDBPyConnection,
    lake: str,
    rewrite_threshold: float = 0.1,
    locking: Locking = UNLOCKED,
) -> list[Outcome]:
    """Write inlined rows out, rewrite files of which at least ``rewrite_threshold`` of
    the rows are deleted, merge small files (DuckLake does not merge files with deletes),
    table by table.

    The files replaced stay on disk while older snapshots still reference them; expire
    and cleanup remove them. One table whose rows Parquet cannot hold (checked: a negative
    INTERVAL) must not stop the others: its failure is reported and the others go on.
    """
    name = literal(lake)
    flushed, rewritten, created, merged, into = 0, 0, 0, 0, 0
    failed: list[str] = []
    holdings = _holdings(con, lake)
    for schema, table in list(_tables(con, lake)):
        where = f"schema => {literal(schema)}"
        # Each DuckLake call costs tens of milliseconds even with nothing to do (a fresh
        # lake's eleven forge_meta tables took a second at every start), so a step whose
        # input is absent is left out: no inlined rows, nothing to flush; no Parquet file,
        # nothing to rewrite; fewer than two, nothing to merge. A flush that wrote rows
        # made a file: then every step runs.
        held = holdings.get((schema, table), _Holdings(2, True))
        count = held.files
        with locking.table(schema, table):
            try:
                rows = 0 if not held.inlined else int(_step(
                    con,
                    "SELECT coalesce(sum(rows_flushed), 0)::BIGINT FROM "
                    f"ducklake_flush_inlined_data({name}, schema_name => {literal(schema)}, "
                    f"table_name => {literal(table)})",
                    locking,
                )[0][0])  # type: ignore[call-overload]
                flushed += rows
                count = count if rows == 0 else 2
            except duckdb.Error as exc:
                failed.append(f"{schema}.{table}: {str(exc).splitlines()[0]}")
            if count == 0:
                continue
            done = _step(
                con,
                "SELECT coalesce(sum(files_processed), 0)::BIGINT, "
                "coalesce(sum(files_created), 0)::BIGINT FROM ducklake_rewrite_data_files("
                f"{name}, {literal(table)}, {where}, "
                f"delete_threshold => {float(rewrite_threshold)!r})",
                locking,
            )[0]
            rewritten += int(done[0])  # type: ignore[call-overload]
            created += int(done[1])  # type: ignore[call-overload]
            if count < 2:
                continue
            done = _step(
                con,
                "SELECT coalesce(sum(files_processed), 0)::BIGINT, "
                "coalesce(sum(files_created), 0)::BIGINT FROM "
                f"ducklake_merge_adjacent_files({name}, {literal(table)}, {where})",
                locking,
            )[0]
            merged += int(done[0])  # type: ignore[call-overload]
            into += int(done[1])  # type: ignore[call-overload]
    kept = f"; kept inlined (cannot be written as Parquet): {'; '.join(failed)}" if failed else ""
    return [
        Outcome("flush", flushed, f"{flushed} inlined rows written to Parquet{kept}"),
        Outcome(
            "rewrite", rewritten, f"{rewritten} files with deleted rows rewritten as {created}"
        ),
        Outcome("compact", merged, f"{merged} small files merged into {into}"),
    ]


def flush(con: duckdb.DuckDBPyConnection, lake: str) -> tuple[int, list[str]]:
    """Write inlined rows out as Parquet: rows written, and the tables that failed.

    One table whose rows Parquet cannot hold (checked: a negative INTERVAL) must not stop
    the others, so on an error each table is flushed on its own.
    """
    if not any(held.inlined for held in _holdings(con, lake).values()):
        return 0, []  # the call would visit every table for nothing
    name = literal(lake)
    total = "SELECT coalesce(sum(rows_flushed), 0)::BIGINT FROM ducklake_flush_inlined_data("
    try:
        return int(con.execute(f"{total}{name})").fetchall()[0][0]), []
    except duckdb.Error:
        pass
    rows, failed, _ = flush_tables(con, lake)
    return rows, failed


def flush_tables(
    con: duckdb.DuckDBPyConnection, lake: str, deadline: float | None = None
) -> tuple[int, list[str], int]:
    """Write inlined rows out as Parquet one table at a time, each its own commit: rows
    written, the tables that failed, and how many tables were left for later because
    ``deadline`` (a ``time.monotonic()`` value) had passed.

    Measured on DuckLake 1.5.5: each table's call takes tens of milliseconds whether it
    holds inlined rows or not (more on a loaded machine), and so does each table in the
    whole-lake call, so thousands of tables take a minute or more; a deadline keeps what is
    done and stops there. Tables without inlined rows are left out.
    """
    name = literal(lake)
    total = "SELECT coalesce(sum(rows_flushed), 0)::BIGINT FROM ducklake_flush_inlined_data("
    holdings = _holdings(con, lake)
    tables = [
        (schema, table)
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
            "ORDER BY ALL",
            [lake],
        ).fetchall()
        if holdings.get((schema, table), _Holdings(0, True)).inlined
    ]
    rows = 0
    failed: list[str] = []
    for done, (schema, table) in enumerate(tables):
        if deadline is not None and time.monotonic() >= deadline:
            return rows, failed, len(tables) - done
        try:
            rows += int(
                con.execute(
                    f"{total}{name}, schema_name => {literal(schema)}, "
                    f"table_name => {literal(table)})"
                ).fetchall()[0][0]
            )
        except duckdb.Error as exc:
            failed.append(f"{schema}.{table}: {str(exc).splitlines()[0]}")
    return rows, failed, 0


def expire(
    con: duckdb.DuckDBPyConnection,
    lake: str,
    older_than: timedelta,
    locking: Locking = UNLOCKED,
) -> list[Outcome]:
    """Expire snapshots older than ``older_than`` (the latest snapshot is always kept),
    and none that an open transaction may read: checked on DuckDB 1.5.5, the files of an
    expired snapshot go at the next cleanup, and a transaction reading it fails."""
    horizon = locking.horizon()
    if horizon is not None:
        # The snapshot that was the latest when the oldest transaction began stays.
        row = con.execute(
            f"SELECT epoch_us(max(snapshot_time)) FROM {identity.metadata(lake)}"
            f".ducklake_snapshot WHERE snapshot_time <= TIMESTAMPTZ "
            f"{literal(horizon.isoformat())}"
        ).fetchone()
        if row is not None and isinstance(row[0], int):
            horizon = datetime.fromtimestamp(row[0] / 1e6, UTC)
    cutoff = _cutoff(older_than, horizon)
    row = _step(
        con,
        f"SELECT count(*) FROM ducklake_expire_snapshots({literal(lake)}, "
        f"older_than => {cutoff})",
        locking,
    )[0]
    count = int(row[0])  # type: ignore[call-overload]
    return [Outcome("expire", count, f"{count} snapshots older than {older_than} expired")]


def cleanup(
    con: duckdb.DuckDBPyConnection,
    lake: str,
    older_than: timedelta,
    where: Lake,
    rules: orphans.Rules,
    locking: Locking = UNLOCKED,
) -> list[Outcome]:
    """Delete files that no snapshot needs, and files no transaction committed.

    ``older_than`` protects files of expired snapshots that a running transaction may still
    read; unreferenced files go through the orphan sweep's ``rules`` (forge_sql.storage.orphans).
    """
    # Files scheduled for deletion after the oldest open transaction began may be read by it.
    horizon = locking.horizon()
    cutoff = _cutoff(older_than, horizon)
    old = _step(
        con,
        f"SELECT count(*) FROM ducklake_cleanup_old_files({literal(lake)}, "
        f"older_than => {cutoff})",
        locking,
    )[0]
    old_count = int(old[0])  # type: ignore[call-overload]
    writing = locking.horizon(writers=True)
    if writing is not None:
        # An open transaction's files are in no snapshot until it commits.
        rules = dataclasses.replace(rules, horizon=writing)
    swept = orphans.sweep(con, lake, where, rules)
    return [
        Outcome("cleanup", old_count, f"{old_count} files of expired snapshots deleted"),
        Outcome("orphans", len(swept.deleted), swept.summary()),
    ]


def run(
    con: duckdb.DuckDBPyConnection,
    lake: str,
    action: str,
    older_than: timedelta | None,
    policy: MaintenancePolicy,
    *,
    where: Lake,
    since: datetime | None,
    force: bool = False,
    locking: Locking = UNLOCKED,
) -> list[Outcome]:
    """One action by name (``compact``, ``expire``, ``cleanup``, or ``all`` in that order).

    ``older_than`` overrides the policy's ages for expire and cleanup (orphans included);
    ``where`` and ``since`` (the lake record's) tell the orphan sweep which files are the
    catalog's; ``force`` lifts its share cap; ``locking`` the server's locks (Locking).
    """
    if action == "compact":
        return compact(con, lake, policy.rewrite_threshold, locking)
    if action == "expire":
        age = policy.expire_older_than if older_than is None else older_than
        return expire(con, lake, age, locking)
    rules = orphans.Rules(
        policy.orphans_older_than if older_than is None else older_than,
        policy.orphans_max_share,
        since,
        force,
    )
    if action == "cleanup":
        age = policy.delete_older_than if older_than is None else older_than
        return cleanup(con, lake, age, where, rules, locking)
    if action == "all":
        return [
            *compact(con, lake, policy.rewrite_threshold, locking),
            *expire(con, lake, policy.expire_older_than, locking),
            *cleanup(con, lake, policy.delete_older_than, where, rules, locking),
        ]
    raise ValueError(f"unknown maintenance action {action!r}: use one of {', '.join(ACTIONS)}")
