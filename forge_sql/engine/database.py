"""The one DuckDB database of the process: storage attached, sandbox locked, cursors handed out."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import threading
from pathlib import Path

import duckdb

from forge_sql import __version__, catalog
from forge_sql.catalog import install as catalog_install
from forge_sql.catalog import snapshot
from forge_sql.config import Settings
from forge_sql.engine import pg_functions
from forge_sql.engine.activity import Activity
from forge_sql.engine.advisory import AdvisoryLocks
from forge_sql.engine.locks import LockTable
from forge_sql.engine.settings import SERVER_VERSION
from forge_sql.errors import ConfigError
from forge_sql.sqltext import quote_ident
from forge_sql.storage import (
    catalogs,
    conflicts,
    ducklake,
    external,
    maintenance,
    objectstore,
    snapshots,
)
from forge_sql.storage.schedule import Schedule, Workload

log = logging.getLogger(__name__)

VERSION_STRING = (
    f"PostgreSQL {SERVER_VERSION} (forge-sql {__version__}, DuckDB {duckdb.__version__}) "
    f"on {platform.machine()}-pc-linux-gnu, 64-bit"
)


class Database:
    """Owns the DuckDB instance; each client session gets its own cursor (connection)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "tmp").mkdir(exist_ok=True)
        self.lake = catalogs.locate(settings, self.data_dir)
        self.catalog = settings.database
        self.activity = Activity()
        self.advisory_locks = AdvisoryLocks()
        self.locks = LockTable()
        self._lock = threading.RLock()  # recover() opens cursors while holding it
        self._catalog_lock = threading.Lock()
        # Why DuckDB invalidated the database (a FATAL error), until it is opened again.
        self.invalidated: str | None = None
        self._open()

    def _open(self) -> None:
        """Open the server's DuckDB database and the lake in it, and install the catalog."""
        settings = self.settings
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit(settings.memory_limit),
            "temp_directory": str(self.data_dir / "tmp"),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if settings.threads:
            config["threads"] = settings.threads
        self._con = _open_server_database(self.data_dir / "server.duckdb", config)
        try:
            self._open_lake()
        except duckdb.Error as exc:
            self._con.close()
            raise ConfigError(
                f"cannot open the lake (catalog {catalogs.redact(self.lake.catalog)}, data "
                f"path {self.lake.data_path}): {catalogs.redact(str(exc))}"
            ) from None  # the cause repeats the connection string
        self.workload = Workload()
        self.schedule = Schedule(
            self._maintenance_cursor, self.catalog, settings.maintenance, self.workload
        )
        if settings.maintenance.at_startup:
            self.schedule.run_once()
        external.create_views(self._con, self.catalog, settings.external)
        pg_functions.register(self._con, self.activity, self.advisory_locks, self.locks)
        catalog_install.install(self._con, settings.database, list(settings.users))
        self._catalog_cursor = self._con.cursor()
        self._catalog_snapshot: int | None = None
        self.refresh_catalog()
        # pg_catalog.version() (SQLAlchemy's first query) is rewritten to this one.
        self._con.execute(
            f"CREATE OR REPLACE MACRO {catalog.SCHEMA}.version() AS '{VERSION_STRING}'"
        )
        snapshots.install(self._con, catalog.SCHEMA, self.catalog)
        self._search_path = catalog.search_path(self.catalog).replace("'", "''")
        # Functions whose value may differ when a statement runs again (savepoint replay).
        self.volatile_functions = frozenset(
            name.lower()
            for (name,) in self._con.execute(
                "SELECT DISTINCT function_name FROM duckdb_functions() "
                "WHERE stability <> 'CONSISTENT'"
            ).fetchall()
        )
        self.duckdb_settings = frozenset(
            name.lower()
            for (name,) in self._con.execute("SELECT name FROM duckdb_settings()").fetchall()
        )
        self._sandbox()
        self.schedule.start()

    def invalidate(self, reason: str) -> None:
        """DuckDB raised a FATAL error: the instance refuses all work until reopened."""
        if self.invalidated is None:
            log.error("DuckDB invalidated the database; reopening it once sessions end: %s",
                      reason)
        self.invalidated = reason

    def recover(self) -> None:
        """Open the database again after DuckDB invalidated it. Committed data is in the
        lake's catalog and Parquet files, which DuckDB wrote before acknowledging each
        COMMIT; what the server's own file holds is rebuilt at every opening."""
        with self._lock:
            if self.invalidated is None:
                return
            self.schedule.stop()
            with contextlib.suppress(duckdb.Error):
                self._catalog_cursor.close()
            with contextlib.suppress(duckdb.Error):
                self._con.close()
            self._open()
            log.info("database reopened")
            self.invalidated = None

    def _open_lake(self) -> None:
        settings = self.settings
        if "httpfs" in self.lake.extensions:
            ducklake.load_extension(self._con, "httpfs")
            objectstore.configure(self._con, settings)
        ducklake.attach(self._con, self.lake, settings.database, settings.inline_rows)
        ducklake.delete_orphans(self._con, settings.database, self.lake)
        self._flush_inlined()

    def _flush_inlined(self) -> None:
        """Write inlined rows out as Parquet; a table whose rows cannot be stays inlined.
        Another server of a shared lake may be writing the same tables: conflicts are
        retried."""
        attempts = self.settings.commit_retries if self.lake.shared else 0
        _, failed = conflicts.retry(
            lambda: maintenance.flush(self._con, self.settings.database), attempts
        )
        for problem in failed:
            log.warning("inlined rows kept in the catalog: %s", problem)

    def _sandbox(self) -> None:
        """Confine clients to the data directory and the external datasets' directories
        (configured, or recorded by migrations in forge_meta.external_datasets).

        Checked on DuckDB 1.5.5: once external access is disabled it cannot be enabled
        again while the database runs, and allowed_directories cannot change, so
        read_csv('/etc/passwd'), COPY TO '/tmp/x', glob('/*') and LOAD raise
        PermissionException whatever a client sends. DuckDB's configuration is not
        locked globally, because that would also freeze per-session settings such as
        TimeZone; instead the engine refuses SET/RESET/PRAGMA of DuckDB settings and
        ATTACH/DETACH/LOAD/INSTALL per statement (statements.check_allowed).
        """
        allowed = [str(self.data_dir) + "/"]
        if not self.lake.data_path.startswith(allowed[0]):
            allowed.append(self.lake.data_path)  # a directory elsewhere, or s3://bucket/prefix/
        paths = [d.path for d in self.settings.external.values()]
        paths += [f"{d}/" for d in self.settings.external_directories]
        # Datasets that migrations declared (offline ones are readable from the next start).
        paths += external.recorded_paths(self._con, self.catalog)
        allowed += map(external.readable_directory, paths)
        self._con.execute("SET allowed_directories = ?", [allowed])
        self._con.execute("SET enable_external_access = false")

    def refresh_catalog(self) -> None:
        """Renew the catalog's copies (declared keys, table comments) when the lake has a
        new snapshot (forge_sql.catalog.snapshot); called before catalog queries."""
        with self._catalog_lock:
            latest = snapshot.latest(self._catalog_cursor, self.catalog)
            if latest is None or latest != self._catalog_snapshot:
                snapshot.refresh(self._catalog_cursor, self.catalog)
                self._catalog_snapshot = latest

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection for one session, with the lake's ``public`` schema as default."""
        with self._lock:
            cursor = self._con.cursor()
        # Does what ``USE <lake>.public`` did (checked on DuckDB 1.5.5: default catalog and
        # schema, current_schema() = 'public', CREATE lands in the lake), and puts the
        # pg_catalog emulation after it, so unqualified pg_type etc. resolve there; one
        # statement instead of two keeps connecting as cheap as before.
        cursor.execute(f"SET search_path = '{self._search_path}'")
        # Clients parse the version with PostgreSQL's format (SQLAlchemy's regex).
        cursor.execute(f"CREATE OR REPLACE TEMP MACRO version() AS '{VERSION_STRING}'")
        return cursor

    def _maintenance_cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    def is_superuser(self, user: str) -> bool:
        """Without users every client is trusted (loopback only); with users, those the
        configuration marks ``superuser = true``."""
        users = self.settings.users
        return not users or (user in users and users[user].superuser)

    def latest_snapshot(self) -> int | None:
        """The lake's last committed snapshot, read outside any session's transaction."""
        with self._lock:
            cursor = self._con.cursor()
        try:
            row = cursor.execute(
                f"SELECT id FROM {quote_ident(self.catalog)}.current_snapshot()"
            ).fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row else None

    def close(self) -> None:
        """Write inlined rows out as Parquet, then close the database."""
        self.schedule.stop()
        with self._lock:
            try:
                self._flush_inlined()
            except duckdb.Error as exc:
                log.warning("could not flush inlined rows at shutdown: %s", exc)
            self._catalog_cursor.close()
            self._con.close()


def _open_server_database(
    path: Path, config: dict[str, str | bool | int | float | list[str]]
) -> duckdb.DuckDBPyConnection:
    """The server's own DuckDB file. It holds derived state only (the pg_catalog emulation,
    rebuilt at every start; user data lives in the lake), so a write-ahead log that DuckDB
    cannot replay after a crash is set aside instead of keeping the server down. Checked on
    DuckDB 1.5.5: a kill -9 can leave a log whose replay fails ("Schema with name pgc does
    not exist") because the emulation's schema is dropped and created again at start-up."""
    try:
        return duckdb.connect(str(path), config=config)
    except duckdb.Error as exc:
        wal = path.with_name(path.name + ".wal")
        if "WAL" not in str(exc) or not wal.exists():
            raise
        kept = wal.with_name(f"{wal.name}.unreplayable")
        log.warning("%s could not be replayed (%s); moved to %s", wal, exc, kept.name)
        wal.replace(kept)
        return duckdb.connect(str(path), config=config)


def memory_limit(text: str) -> str:
    """DuckDB's memory_limit, accepting a percentage of physical memory as well ("75%")."""
    text = text.strip()
    if not text.endswith("%"):
        return text
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{int(total * float(text[:-1]) / 100) // (1 << 20)}MiB"
