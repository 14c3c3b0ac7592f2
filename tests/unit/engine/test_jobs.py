"""When a job is due (engine.jobs.due): the latest tick at or before now that no scheduler
has claimed, in the job's time zone, for cron expressions and pg_cron's 'N seconds'."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from forge_sql import errors
from forge_sql.engine.jobs import Job, Store, check_schedule, check_timezone, due


def job(schedule: str, timezone: str = "UTC", last: datetime | None = None,
        created: datetime | None = None, **extra: object) -> Job:
    return Job(1, "j", schedule, "SELECT 1", "forge", "forge", timezone=timezone,
               last_tick=last, created_at=created, **extra)  # type: ignore[arg-type]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_cron_tick_is_due_once() -> None:
    now = at("2026-03-10 03:00:20")
    tick = due(job("0 3 * * *", created=at("2026-03-09 12:00")), now)
    assert tick == at("2026-03-10 03:00:00")
    assert due(job("0 3 * * *", last=tick), now) is None
    # Ticks missed while no server ran give one run: the latest.
    assert due(job("0 3 * * *", last=at("2026-03-01 03:00")), now) == tick


def test_no_tick_from_before_the_job_existed() -> None:
    assert due(job("0 3 * * *", created=at("2026-03-10 03:00:10")),
               at("2026-03-10 03:00:20")) is None


def test_the_cron_expression_reads_in_the_jobs_time_zone() -> None:
    # 03:00 in Paris is 02:00 UTC in winter and 01:00 UTC in summer (daylight saving).
    winter = due(job("0 3 * * *", "Europe/Paris", created=at("2026-01-01 00:00")),
                 at("2026-01-15 02:30"))
    assert winter == at("2026-01-15 02:00")
    summer = due(job("0 3 * * *", "Europe/Paris", created=at("2026-07-01 00:00")),
                 at("2026-07-15 01:30"))
    assert summer == at("2026-07-15 01:00")


def test_seconds_schedules_tick_on_multiples() -> None:
    now = at("2026-03-10 03:00:07.5")
    assert due(job("5 seconds", created=at("2026-03-10 03:00:00")), now) == at(
        "2026-03-10 03:00:05")
    assert due(job("5 seconds", last=at("2026-03-10 03:00:05")), now) is None


def test_paused_jobs_and_jobs_after_another_have_no_ticks() -> None:
    now = at("2026-03-10 03:00:07")
    assert due(job("1 seconds", active=False), now) is None
    assert due(job("1 seconds", after="other"), now) is None


@pytest.mark.parametrize("schedule", ["every day", "60 seconds", "0 seconds", "* * *"])
def test_bad_schedules_are_refused(schedule: str) -> None:
    with pytest.raises(errors.InvalidParameterValue):
        check_schedule(schedule)


def test_bad_time_zones_are_refused() -> None:
    with pytest.raises(errors.InvalidParameterValue):
        check_timezone("Mars/Olympus")


class InvalidatedCursor:
    """A connection of a database DuckDB invalidated: every statement is FATAL."""

    def __init__(self) -> None:
        self.statements = 0

    def execute(self, sql: str, params: object = None) -> None:
        self.statements += 1
        raise duckdb.FatalException("database has been invalidated because of a previous "
                                    "fatal error")

    def close(self) -> None:
        pass


def test_a_fatal_error_invalidates_the_database_and_stops_the_store() -> None:
    """The scheduler's store reports a FATAL error as a session would (the database is
    opened again once sessions end), then touches DuckDB no more until it is."""
    cursor = InvalidatedCursor()
    reasons: list[str] = []
    store = Store(lambda: cursor, "lake", 0, fatal=reasons.append)  # type: ignore[arg-type,return-value]
    with pytest.raises(duckdb.FatalException):
        store.jobs()
    assert len(reasons) == 1 and "invalidated" in reasons[0]
    assert store.invalidated
    touched = cursor.statements
    with pytest.raises(errors.CrashShutdown):
        store.jobs()
    assert cursor.statements == touched
    store.release_cursor()  # the database opened again
    assert not store.invalidated
