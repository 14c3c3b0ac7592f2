"""The one DuckDB database of the process: storage attached, sandbox locked, cursors handed out."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

from forge_sql import __version__, catalog
from forge_sql.catalog import column_types as catalog_types
from forge_sql.catalog import install as catalog_install
from forge_sql.catalog import roles as role_catalog
from forge_sql.catalog import snapshot
from forge_sql.config import Settings
from forge_sql.engine import (
    connections,
    corruption,
    extension_views,
    grants,
    job_functions,
    jobs,
    locks,
    pg_functions,
    privilege_functions,
    semantic_functions,
    sequence_functions,
    table_functions,
)
from forge_sql.engine.activity import Activity
from forge_sql.engine.advisory import AdvisoryLocks
from forge_sql.engine.connection import NULL_ORDER
from forge_sql.engine.extensions import Extensions
from forge_sql.engine.lengths import DeclaredLengths
from forge_sql.engine.locks import LockTable
from forge_sql.engine.maintenance_locks import MaintenanceLocks
from forge_sql.engine.materialized_views import MaterializedViews
from forge_sql.engine.result_sources import ColumnRows, ResultSources, ViewRows
from forge_sql.engine.sandbox import Sandbox
from forge_sql.engine.sequences import Sequences
from forge_sql.errors import ConfigError, DataCorrupted, QueryCanceled
from forge_sql.plugins.scalars import Caller, Environment, qualified_macro_schema
from forge_sql.scram import ScramVerifier, parse_verifier
from forge_sql.sql.configuration import SERVER_VERSION
from forge_sql.sql.quoting import quote_ident
from forge_sql.storage import acl as acls
from forge_sql.storage import (
    backup,
    catalogs,
    conflicts,
    ducklake,
    external,
    identity,
    maintenance,
    objectstore,
    orphans,
    record,
    snapshots,
)
from forge_sql.storage.schedule import Schedule, Workload

log = logging.getLogger(__name__)
STREAMING_BUFFER = "32KB"  # see Database.cursor

# How often the lake's snapshot is asked whether roles or grants changed (another server
# of a shared lake may have changed them); changes made through this server apply at once.
ACL_CHECK_INTERVAL = 0.02
_ACL_PENDING_LIMIT = 60.0

VERSION_STRING = (
    f"PostgreSQL {SERVER_VERSION} (forge-sql {__version__}, DuckDB {duckdb.__version__}) "
    f"on {platform.machine()}-pc-linux-gnu, 64-bit"
)


_RECORDER = "lake record"  # the lock table's name for the record's thread
_FILE_WORK = "file work"  # and for maintenance, sweeps and backups
_LOGIN = "login"  # and for reading roles when a client logs in
_SESSION_START = "session start"  # and for a new session's cursor (its search path)


class FileWork:
    """Held by whatever deletes, rewrites or copies the lake's files (maintenance, orphan
    sweeps, backups): one at a time, and, like a statement, holding the catalog shared so
    that no catalog change runs beside it (forge_sql.engine.locks)."""

    def __init__(self, table: LockTable) -> None:
        self._table = table
        self._files = threading.Lock()

    def __enter__(self) -> None:
        self._files.acquire()
        try:
            self._table.acquire(_FILE_WORK, 0, locks.CATALOG, locks.ACCESS_SHARE)
        except BaseException:
            self._files.release()
            raise

    def __exit__(self, *exc: object) -> None:
        self._table.release(_FILE_WORK, locks.CATALOG, locks.ACCESS_SHARE)
        self._files.release()


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
        # Held by whatever deletes or copies the lake's files: maintenance and backups.
        self.files = FileWork(self.locks)
        self._catalog_lock = threading.Lock()
        self.checker = grants.Checker(
            self.catalog, {n: c.readers for n, c in settings.connections.items()}
        )
        self._acl_lock = threading.Lock()
        # Why DuckDB invalidated the database (a FATAL error), until it is opened again.
        self.invalidated: str | None = None
        # Called when cron.schedule & co. change a job: the scheduler looks again at once.
        self.jobs_changed: Callable[[], None] = lambda: None
        # Imported before DuckDB opens: a broken extension file stops the start here.
        self.extensions = Extensions(settings, self._caller)
        # Their table functions, expanded by the sessions (engine.table_functions).
        self.table_functions = table_functions.Loaded(
            self.extensions.registry,
            Environment(
                self._caller, settings.extension_settings,
                {name: secret.get_secret_value() for name, secret in settings.secrets.items()},
                self.extensions.storage_root,
            ),
        )
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
            self.record = self._open_lake()
        except duckdb.Error as exc:
            self._con.close()
            raise ConfigError(
                f"cannot open the lake (catalog {catalogs.redact(self.lake.catalog)}, data "
                f"path {self.lake.data_path}): {catalogs.redact(str(exc))}"
            ) from None  # the cause repeats the connection string
        except ConfigError:
            self._con.close()
            raise
        self.workload = Workload()
        self.schedule = Schedule(
            self._maintenance_cursor,
            self.catalog,
            settings.maintenance,
            self.workload,
            where=self.lake,
            since=self.record.since,
            files=self.files,
            locking=MaintenanceLocks(
                self.locks, _FILE_WORK, self._maintenance_lock, self.activity.open_transactions
            ),
        )
        if settings.maintenance.at_startup:
            self.schedule.run_once()
        external.create_views(self._con, self.catalog, settings.external)
        pg_functions.register(self._con, self.activity, self.advisory_locks, self.locks)
        semantic_functions.register(self._con)  # interval // float (forge.semantics)
        self.extensions.install(self._con)
        self.table_functions.install(self._con)
        extension_views.create(self._con, self.catalog, self.extensions.registry)
        self._acl_cursor = self._con.cursor()
        self._acl: acls.Acl | None = None
        self._acl_snapshot: int | None = None
        self._acl_checked = 0.0
        self._acl_pending = False
        self._acl_pending_since = 0.0
        privilege_functions.register(self._con, self.activity, self)
        retries = settings.commit_retries if self.lake.shared else 0
        self.sequences = Sequences(self._maintenance_cursor, self.catalog, retries)
        self.declared_lengths = DeclaredLengths(self.catalog)
        # The lake's relations and declared types, as result columns are typed from them.
        # pg_catalog's columns with PostgreSQL's types, read once (the emulation is fixed).
        self._catalog_columns: list[tuple[str, str, str, str]] | None = None
        self.result_sources = ResultSources(self._result_relations)
        # Counts CREATE/DROP SCHEMA and reloads here: sessions resolve search_path again.
        self.schema_generation = 0
        self.matviews = MaterializedViews(self._maintenance_cursor, self.catalog)
        if getattr(self, "jobs", None) is None:  # kept when the database opens again
            self.jobs = jobs.Store(self._maintenance_cursor, self.catalog, retries,
                                   fatal=self.invalidate)
        job_functions.register(
            self._con, self.activity, self.jobs, self.catalog, settings.database,
            lambda role: self.trusted or role in self.acl().roles, lambda: self.jobs_changed(),
        )
        sequence_functions.register(self._con, self.activity, self.sequences, self)
        catalog_install.install(self._con, settings.database, list(settings.users))
        semantic_functions.install(self._con, catalog.SCHEMA)  # forge_divisor (22012)
        self.extensions.list_in_catalog(self._con)
        self._catalog_cursor = self._con.cursor()
        self._catalog_snapshot: int | None = None
        self.refresh_catalog()
        # pg_catalog.version() (SQLAlchemy's first query) is rewritten to this one.
        self._con.execute(
            f"CREATE OR REPLACE MACRO {catalog.SCHEMA}.version() AS '{VERSION_STRING}'"
        )
        snapshots.install(self._con, catalog.SCHEMA, self.catalog)
        self.sandbox = Sandbox.of(self._con, self.catalog)
        # The extensions' functions of schema public come after the lake's own.
        self._search_path = catalog.search_path(self.catalog).replace(
            ",", f",{qualified_macro_schema('public')},", 1
        ).replace("'", "''")
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
        connections.attach(  # before the sandbox: attaching needs external access
            self._con, settings.connections,
            {name: secret.get_secret_value() for name, secret in settings.secrets.items()},
        )
        self._sandbox()
        self.schedule.start()
        self._recorder = record.Recorder(self.data_dir, self.record, self._recorded_snapshot)
        self._recorder.start()

    def _login(self) -> contextlib.AbstractContextManager[None]:
        """A login reads roles from the lake as a statement would: holding the catalog
        shared (see _recorded_snapshot). Logins hold no other lock, so none can wait on
        itself."""
        return self.reading_lake(_LOGIN)

    @contextlib.contextmanager
    def reading_lake(self, holder: str) -> Iterator[None]:
        """Held by work outside any session that reads or writes the lake (logins, the
        job scheduler): the catalog shared, so no session's catalog change runs meanwhile
        (forge_sql.engine.locks). Never taken by a thread whose session holds it already:
        behind a queued catalog change, the second hold would wait for the first. One
        holder per thread: many logins at once do not keep a catalog change waiting by
        taking turns under one name."""
        token = f"{holder} {threading.get_ident()}"
        self.locks.acquire(token, 0, locks.CATALOG, locks.ACCESS_SHARE)
        try:
            yield
        finally:
            self.locks.release(token, locks.CATALOG, locks.ACCESS_SHARE)

    def _recorded_snapshot(self) -> int | None:
        """latest_snapshot() for the lake record's thread, which reads the catalog as a
        statement does: holding it shared, so no catalog change runs meanwhile (checked on
        DuckDB 1.5.5: catalog reads beside DDL of other connections can crash DuckDB)."""
        self.locks.acquire(_RECORDER, 0, locks.CATALOG, locks.ACCESS_SHARE)
        try:
            return self.latest_snapshot()
        finally:
            self.locks.release(_RECORDER, locks.CATALOG, locks.ACCESS_SHARE)

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
            self._recorder.stop()
            # The job scheduler keeps this store: its next use opens a connection of the
            # new database (closing the old one waits for a use under way).
            self.jobs.release_cursor()
            # Each under the lock its users hold: a login may be reading roles meanwhile.
            for cursor, lock in ((self._catalog_cursor, self._catalog_lock),
                                 (self._acl_cursor, self._acl_lock)):
                with lock, contextlib.suppress(duckdb.Error):
                    cursor.close()
            with contextlib.suppress(duckdb.Error):
                self._con.close()
            self._open()
            log.info("database reopened")
            self.invalidated = None

    def _open_lake(self) -> record.LakeRecord:
        """Attach the lake once the catalog is known to be the lake's own and current
        (forge_sql.storage.identity), record it, and sweep what a crash left behind."""
        settings = self.settings
        known = record.read(self.data_dir)
        accept = settings.accept_catalog
        identity.check_present(self.lake, self.data_dir, known, accept)
        if "httpfs" in self.lake.extensions:
            ducklake.load_extension(self._con, "httpfs")
            objectstore.configure(self._con, settings)
        ducklake.attach(self._con, self.lake, settings.database, settings.inline_rows)
        current = identity.verify(self._con, settings.database, self.data_dir, known, accept)
        if current != known:
            record.write(self.data_dir, current)
        policy = settings.maintenance
        rules = orphans.Rules(policy.orphans_older_than, policy.orphans_max_share, current.since)
        with self.files:
            orphans.sweep(self._con, settings.database, self.lake, rules)
        self._flush_inlined()
        return current

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

    def _flush_inlined_before(self, deadline: float) -> None:
        """Write inlined rows out table by table until ``deadline``. The tables not reached
        keep their rows in the catalog, committed, and the next start writes them out."""
        _, failed, left = maintenance.flush_tables(self._con, self.settings.database, deadline)
        for problem in failed:
            log.warning("inlined rows kept in the catalog: %s", problem)
        if left:
            log.info("inlined rows of up to %d tables kept in the catalog until the next "
                     "start (shutdown_flush_seconds = %g)", left,
                     self.settings.shutdown_flush_seconds)

    def _sandbox(self) -> None:
        """Confine clients to the data directory and the external datasets' directories
        (configured, or recorded by migrations in forge_meta.external_datasets).

        Checked on DuckDB 1.5.5: once external access is disabled it cannot be enabled
        again while the database runs, and allowed_directories cannot change, so
        read_csv('/etc/passwd'), COPY TO '/tmp/x', glob('/*') and LOAD raise
        PermissionException whatever a client sends. DuckDB's configuration is not
        locked globally, because that would also freeze per-session settings such as
        TimeZone; instead the engine refuses SET/RESET/PRAGMA of DuckDB settings and
        ATTACH/DETACH/LOAD/INSTALL per statement (engine.sandbox).
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

    def acl(self, fresh: bool = False) -> acls.Acl:
        """Roles and privileges as the lake's last snapshot has them (another server of a
        shared lake may have changed them), with the configured users merged in; ``fresh``
        asks the lake now rather than trusting an answer younger than
        ACL_CHECK_INTERVAL."""
        with self._acl_lock:
            now = time.monotonic()
            if self._acl is not None and not self._acl_pending and not fresh and (
                now - self._acl_checked < ACL_CHECK_INTERVAL
            ):
                return self._acl
            self._acl_checked = now
            latest = snapshot.latest(self._acl_cursor, self.catalog)
            if self._acl is not None and latest is not None and latest == self._acl_snapshot:
                if now - self._acl_pending_since > _ACL_PENDING_LIMIT:
                    self._acl_pending = False  # the change was rolled back, or is long open
                return self._acl
            configured = {
                name: acls.ConfiguredUser(user.password, user.superuser, tuple(user.roles))
                for name, user in self.settings.users.items()
            }
            public = [(d.schema_name, name) for name, d in self.settings.external.items()]
            acl = acls.load(self._acl_cursor, self.catalog, configured, public)
            self._number(acl)
            role_catalog.refresh(self._acl_cursor, acl)
            self._acl, self._acl_snapshot = acl, latest
            self._acl_pending = False
            return self._acl

    def acl_changing(self) -> None:
        """A session is changing roles, grants or owners: look at the lake's snapshot at
        every check until the change is committed, so it applies from the next statement."""
        with self._acl_lock:
            self._acl_pending = True
            self._acl_pending_since = time.monotonic()

    def _number(self, acl: acls.Acl) -> None:
        """The OIDs pg_class and pg_namespace give the lake's relations and schemas."""
        s = catalog.SCHEMA
        # Tables and views: duckdb_columns() lists both, without duckdb_tables()'s
        # statistics of every table.
        rows = self._acl_cursor.execute(
            f"SELECT DISTINCT {s}.relation_oid(schema_name, table_name), lower(schema_name), "
            "lower(table_name) FROM duckdb_columns() WHERE database_name = ?",
            [self.catalog],
        ).fetchall()
        acl.oids = {int(oid): (schema, name) for oid, schema, name in rows}
        # Unqualified names the session's search path reaches in the catalog emulation.
        acl.catalog_names = frozenset(
            name.lower()
            for (name,) in self._acl_cursor.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = $1 "
                "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = $1 "
                "UNION ALL SELECT function_name FROM duckdb_functions() WHERE database_name = $1",
                [s.partition(".")[0]],
            ).fetchall()
        )
        acl.schema_oids = {
            int(oid): name.lower()
            for oid, name in self._acl_cursor.execute(
                f"SELECT {s}.namespace_oid(schema_name), schema_name FROM duckdb_schemas() "
                "WHERE database_name = ?",
                [self.catalog],
            ).fetchall()
        }

    @property
    def trusted(self) -> bool:
        """No users configured: every (loopback) client is a superuser."""
        return not self.settings.users

    def verifier(self, user: str) -> ScramVerifier | None:
        """The SCRAM verifier ``user`` logs in with (None: no such login role)."""
        with self._login():
            role = self.acl().roles.get(user)
        if role is None or not role.login or role.password is None:
            return None
        try:
            return parse_verifier(role.password)
        except ValueError:
            log.warning("role %r has an invalid SCRAM verifier; it cannot log in", user)
            return None

    def refresh_catalog(self) -> bool:
        """Renew the catalog's copies (declared keys, table comments, the lake's columns)
        when the lake has a new snapshot (forge_sql.catalog.snapshot); called before catalog
        queries. True: the copies are those of the lake's latest snapshot, committed."""
        self.acl()
        with self._catalog_lock:
            latest = snapshot.latest(self._catalog_cursor, self.catalog)
            if latest is None or latest != self._catalog_snapshot:
                snapshot.refresh(self._catalog_cursor, self.catalog)
                self._catalog_snapshot = latest
        return latest is not None

    def _result_relations(self) -> tuple[ColumnRows, ViewRows]:
        """The lake's columns with their declared types, and its views' definitions, as of
        its latest snapshot (forge_sql.engine.result_sources)."""
        self.refresh_catalog()
        with self._catalog_lock:
            cursor = self._catalog_cursor
            columns = cursor.execute(
                f"SELECT schema_name, table_name, column_name, data_type FROM "
                f"{catalog.SCHEMA}.lake_columns_copy ORDER BY schema_name, table_name, "
                "column_index"
            ).fetchall()
            views = cursor.execute(
                f"SELECT schema_name, view_name, sql FROM {catalog.SCHEMA}.lake_views_copy"
            ).fetchall()
            if self._catalog_columns is None:
                self._catalog_columns = catalog_types.result_columns(cursor)
        return columns + self._catalog_columns, views

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection for one session, with the lake's ``public`` schema as default."""
        with self._lock:
            cursor = self._con.cursor()
        with self.reading_lake(_SESSION_START):  # SET search_path looks the schemas up
            self._prepare_cursor(cursor)
        return cursor

    def _prepare_cursor(self, cursor: duckdb.DuckDBPyConnection) -> None:
        # Does what ``USE <lake>.public`` did (checked on DuckDB 1.5.5: default catalog and
        # schema, current_schema() = 'public', CREATE lands in the lake), and puts the
        # pg_catalog emulation after it, so unqualified pg_type etc. resolve there; one
        # statement instead of two keeps connecting as cheap as before.
        cursor.execute(f"SET search_path = '{self._search_path}'")
        # DuckDB runs a streaming result ahead of its reader up to streaming_buffer_size,
        # counting 16 bytes per string whatever its length (checked on 1.5.5: with the
        # default ~1 MB, SELECT repeat('x', 40000) FROM range(60000) buffers all 2.4 GB).
        # One vector ahead keeps a session's unread rows bounded by the width of its rows.
        cursor.execute(f"SET streaming_buffer_size = '{STREAMING_BUFFER}'")
        # PostgreSQL's NULL ordering (forge.semantics; the session switches it when asked).
        # SET SESSION: a plain SET of default_null_order changes every connection.
        cursor.execute(f"SET SESSION default_null_order = '{NULL_ORDER['postgres']}'")
        # Clients parse the version with PostgreSQL's format (SQLAlchemy's regex).
        cursor.execute(f"CREATE OR REPLACE TEMP MACRO version() AS '{VERSION_STRING}'")
        for macro in semantic_functions.SESSION_MACROS:  # sum of intervals
            cursor.execute(macro)

    def schemas_changed(self) -> None:
        """A schema was created or dropped (or extension macros reloaded): every session
        resolves its search_path again (forge_sql.engine.search_path)."""
        self.schema_generation += 1

    def _caller(self, token: str | None) -> Caller | None:
        """The session calling an extension function (its Context, superuser checks)."""
        backend = self.activity.find(token)
        return None if backend is None else Caller(backend.user, backend.superuser)

    def reload_extensions(self) -> int:
        """Load the extension files again (CALL forge_reload_extensions(), SIGHUP); the
        number of functions. A broken file raises and the running ones stay."""
        with self._lock:
            registry = self.extensions.reload(self._con)
            self.table_functions.reload(self._con, registry)
            extension_views.create(self._con, self.catalog, registry)
            self.extensions.reclaim(self._con, self.activity.oldest_transaction)
        self.schemas_changed()  # new schemas of extension macros
        self.sandbox.add_functions(name for _, name in registry.scalars)
        return len(registry)

    def _maintenance_lock(self, target: locks.Target, mode: str) -> None:
        """A lock for the scheduled maintenance: it waits as a session does, but is the
        victim of any deadlock it is part of, and stops waiting when the server stops."""
        self.locks.acquire(
            _FILE_WORK, 0, target, mode, yields=True, interrupted=self._maintenance_stopped
        )

    def _maintenance_stopped(self) -> BaseException | None:
        if self.schedule.stopping or self.invalidated is not None:
            return QueryCanceled("canceling storage maintenance: the server stops")
        return None

    def _maintenance_cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    def is_superuser(self, user: str) -> bool:
        """Without users every client is trusted (loopback only); with users, those the
        configuration marks ``superuser = true`` and roles created SUPERUSER."""
        if self.trusted:
            return True
        with self._login():
            return self.acl().is_superuser(user)

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

    def backup(self, destination: Path) -> backup.Manifest:
        """Back the lake up into ``destination`` while clients keep working: maintenance
        waits (it could delete a file the copy names), writers do not."""
        with self.files:
            cursor = self._maintenance_cursor()
            try:
                return backup.take(
                    cursor, self.catalog, self.lake, self.data_dir / "tmp", destination
                )
            finally:
                cursor.close()

    def data_corrupted(self, error: DataCorrupted) -> None:
        """An XX001 is about to be reported: name the lake's files that do not read when
        DuckDB's message names none (bounded in time, forge_sql.engine.corruption), and
        empty DuckDB's file cache. Checked on DuckDB 1.5.5: the cache keeps a damaged
        file's blocks (DuckLake gives the reader the catalog's size, so a file copied
        back from a backup is not seen as changed) until it is switched off and on."""
        cursor = self._maintenance_cursor()
        try:
            if error.detail is None:
                found = corruption.unreadable_files(cursor, self.catalog)
                if found:
                    error.detail = ("Unreadable file" + ("s: " if len(found) > 1 else ": ")
                                    + ", ".join(found))
            cursor.execute("SET enable_external_file_cache = false")
            cursor.execute("SET enable_external_file_cache = true")
        except duckdb.Error as exc:
            log.warning("could not look for damaged data files: %s", exc)
        finally:
            cursor.close()

    def close(self) -> None:
        """Write inlined rows out as Parquet for at most ``shutdown_flush_seconds``, then
        close the database. Shutdown stays prompt: service managers wait a fixed time, then
        kill, and a lake of thousands of tables takes minutes to flush whole."""
        self.schedule.stop()
        with self._lock:
            try:
                budget = self.settings.shutdown_flush_seconds
                self._flush_inlined_before(time.monotonic() + budget)
            except duckdb.Error as exc:
                log.warning("could not flush inlined rows at shutdown: %s", exc)
        self._recorder.stop()  # the flush was a snapshot too
        self.sequences.give_back()
        self.jobs.close()
        with self._lock:
            with self._catalog_lock:
                self._catalog_cursor.close()
            with self._acl_lock:
                self._acl_cursor.close()
            self._con.close()


def _open_server_database(
    path: Path, config: dict[str, str | bool | int | float | list[str]]
) -> duckdb.DuckDBPyConnection:
    """The server's own DuckDB file. It holds derived state only: the pg_catalog emulation
    (schemas pgc and pgc_information_schema, dropped and created again at every start by
    forge_sql.catalog.install); user data, migrations history and recorded datasets live
    in the lake, sessions and advisory locks in memory. The file is kept for its lock:
    one server (or offline migrate) per data directory.

    So a file DuckDB cannot open is set aside instead of keeping the server down: a
    write-ahead log it cannot replay (checked on DuckDB 1.5.5: a kill -9 can leave one
    whose replay fails with "Schema with name pgc does not exist"), or a corrupt main file
    (not a DuckDB file, or a block whose checksum does not match). A file another
    process holds locked is never touched."""
    try:
        return duckdb.connect(str(path), config=config)
    except duckdb.Error as exc:
        wal = path.with_name(path.name + ".wal")
        if "Could not set lock" in str(exc) or "Conflicting lock" in str(exc):
            raise  # another server or migrate run holds it: not ours to move
        if "WAL" in str(exc) and wal.exists():
            kept = wal.with_name(f"{wal.name}.unreplayable")
            log.warning("%s could not be replayed (%s); moved to %s", wal, exc, kept.name)
            wal.replace(kept)
        elif _corrupt(exc) and path.exists():
            kept = path.with_name(f"{path.name}.corrupt")
            log.warning(
                "%s is corrupt (%s); it holds derived state only (the pg_catalog emulation, "
                "rebuilt at every start; user data lives in the lake), so it was moved to %s "
                "and is created again", path, str(exc).splitlines()[0], kept.name)
            path.replace(kept)
            if wal.exists():
                wal.replace(kept.with_name(f"{kept.name}.wal"))
        else:
            raise
        return duckdb.connect(str(path), config=config)


def _corrupt(exc: duckdb.Error) -> bool:
    # Messages checked on DuckDB 1.5.5 with random bytes, a file cut in half, a header
    # and single blocks overwritten in place.
    text = str(exc)
    return isinstance(exc, duckdb.SerializationException | duckdb.InternalException) or any(
        marker in text for marker in (
            "not a valid DuckDB database file", "Corrupt database file", "checksum",
            "Could not read enough bytes",
        ))


def memory_limit(text: str) -> str:
    """DuckDB's memory_limit, accepting a percentage of physical memory as well ("75%")."""
    text = text.strip()
    if not text.endswith("%"):
        return text
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{int(total * float(text[:-1]) / 100) // (1 << 20)}MiB"
