"""The engine's implementation of seam.backend.Backend: checks the database a client names
and opens an EngineSession for it over the process's one DuckDB database."""

from __future__ import annotations

from datetime import timedelta

from forge_sql.config import Settings
from forge_sql.engine.database import Database
from forge_sql.engine.scheduler import Scheduler
from forge_sql.engine.session import EngineSession
from forge_sql.errors import CannotConnectNow, InvalidCatalogName
from forge_sql.seam.backend import StartupInfo
from forge_sql.sql.configuration import SERVER_VERSION


class Engine:
    """Implements seam.backend.Backend: opens an EngineSession per client."""

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self.database = database or Database(settings)
        self.scheduler: Scheduler | None = None
        if settings.jobs_enabled:
            # Jobs run in sessions of their role, as a client of that role would.
            db = self.database
            self.scheduler = Scheduler(
                db.jobs,
                lambda role: EngineSession(
                    db, StartupInfo(role, settings.database, {"application_name": "pg_cron"})
                ),
                timedelta(days=settings.job_history_days),
                lambda: _sync_role(settings),
                # Its reads and writes of the job tables, like any statement's, must not
                # run beside a catalog change: DuckLake crashed the process when they did.
                reading=lambda: db.reading_lake("job scheduler"),
            )
            db.jobs_changed = self.scheduler.wake
            self.scheduler.start()

    def open_session(self, startup: StartupInfo) -> EngineSession:
        if startup.database != self.settings.database:
            raise InvalidCatalogName(f'database "{startup.database}" does not exist')
        database = self.database
        if database.invalidated is not None:
            if database.activity.count():
                raise CannotConnectNow(
                    "the database system is in recovery mode",
                    detail=f"DuckDB invalidated the database: {database.invalidated}",
                    hint="The server opens it again once the sessions open before have ended.",
                )
            database.recover()
        return EngineSession(database, startup)

    def is_superuser(self, user: str) -> bool:
        return self.database.is_superuser(user)

    def server_parameters(self) -> dict[str, str]:
        return {
            "server_version": SERVER_VERSION,
            "server_encoding": "UTF8",
            "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY",
            "IntervalStyle": "postgres",
            "TimeZone": "UTC",
            "integer_datetimes": "on",
            "standard_conforming_strings": "on",
            "is_superuser": "on",
            "default_transaction_read_only": "off",
            "in_hot_standby": "off",
        }

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.database.close()


def _sync_role(settings: Settings) -> str:
    """Scheduled syncs run as the first configured superuser (every role is one without
    configured users)."""
    supers = sorted(name for name, user in settings.users.items() if user.superuser)
    return supers[0] if supers else "forge"
