"""Scheduled jobs through pg_cron's SQL surface: runs recorded in cron.job_run_details, a
failing job visible and the others still running, retries with backoff, timeout, overlap
policy, jobs run after another, and each job run with its role's rights. Waits poll with a
deadline; schedules are in seconds (pg_cron 1.5's 'N seconds')."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

DEADLINE = 60.0


def wait_for(check: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"waited {deadline:g} s for {what}")
        time.sleep(0.1)


def runs(conn: psycopg.Connection, jobid: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT status, return_message, attempt FROM cron.job_run_details "
        "WHERE jobid = %s ORDER BY runid", [jobid]).fetchall()


@pytest.fixture
def name() -> str:
    return f"j_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unschedule(conn: psycopg.Connection) -> Iterator[list[int]]:
    jobs: list[int] = []
    yield jobs
    for jobid in jobs:
        conn.execute("SELECT cron.unschedule(%s)", [jobid])


def test_a_scheduled_job_runs_and_each_run_is_recorded(
        conn: psycopg.Connection, name: str, unschedule: list[int]) -> None:
    conn.execute(f"CREATE TABLE {name} (ran timestamptz)")
    jobid = conn.execute(
        f"SELECT cron.schedule('{name}', '1 seconds', $$INSERT INTO {name} VALUES (now())$$)"
    ).fetchone()[0]  # type: ignore[index]
    unschedule.append(jobid)
    assert isinstance(jobid, int)
    assert conn.execute(
        "SELECT jobid, schedule, command, database, username, active, jobname "
        "FROM cron.job WHERE jobid = %s", [jobid]).fetchone() == (
        jobid, "1 seconds", f"INSERT INTO {name} VALUES (now())", "forge", "forge", True, name)
    wait_for(lambda: conn.execute(f"SELECT count(*) >= 2 FROM {name}").fetchone()[0],  # type: ignore[index]
             "two runs")
    done = [r for r in runs(conn, jobid) if r[0] == "succeeded"]
    assert done and done[0][1] == "INSERT 0 1"
    # The same name again replaces the job (pg_cron), keeping its id.
    again = conn.execute(
        f"SELECT cron.schedule('{name}', '0 3 * * *', 'SELECT 1')").fetchone()
    assert again == (jobid,)
    assert conn.execute("SELECT schedule FROM cron.job WHERE jobid = %s",
                        [jobid]).fetchone() == ("0 3 * * *",)
    assert conn.execute("SELECT cron.unschedule(%s)", [name]).fetchone() == (True,)
    unschedule.clear()
    assert conn.execute("SELECT count(*) FROM cron.job WHERE jobid = %s",
                        [jobid]).fetchone() == (0,)


def test_bad_arguments_are_refused(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT cron.schedule('x', 'every now and then', 'SELECT 1')")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT cron.schedule('x', '75 seconds', 'SELECT 1')")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT cron.unschedule('no such job')")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT cron.unschedule(987654)")


def test_a_failing_job_is_visible_and_the_others_keep_running(
        conn: psycopg.Connection, server: RunningServer, name: str,
        unschedule: list[int]) -> None:
    conn.execute(f"CREATE TABLE {name} (a int)")
    bad = conn.execute(
        f"SELECT cron.schedule('{name}_bad', '1 seconds', 'SELECT 1/0')").fetchone()[0]  # type: ignore[index]
    unschedule.append(bad)
    good = conn.execute(
        f"SELECT cron.schedule('{name}', '1 seconds', 'INSERT INTO {name} VALUES (1)')"
    ).fetchone()[0]  # type: ignore[index]
    unschedule.append(good)
    wait_for(lambda: len([r for r in runs(conn, bad) if r[0] == "failed"]) >= 2,
             "two failed runs")
    wait_for(lambda: conn.execute(f"SELECT count(*) >= 2 FROM {name}").fetchone()[0],  # type: ignore[index]
             "the good job to run twice")
    failed = [r for r in runs(conn, bad) if r[0] == "failed"]
    assert "division by zero" in failed[0][1]
    status = conn.execute(
        "SELECT last_status, failed_runs > 0 FROM cron.job_status WHERE jobid = %s",
        [bad]).fetchone()
    assert status is not None and status[1]
    assert f"cron job {name}_bad failed: division by zero" in server.log_file.read_text()


def test_retries_with_backoff(conn: psycopg.Connection, name: str,
                              unschedule: list[int]) -> None:
    jobid = conn.execute(
        f"SELECT cron.schedule('{name}', '0 3 1 1 *', 'SELECT 1/0')").fetchone()[0]  # type: ignore[index]
    unschedule.append(jobid)
    conn.execute("SELECT cron.alter_job(%s, retries := 2, retry_backoff := '50 milliseconds', "
                 "schedule := '1 seconds')", [jobid])
    found = wait_for(lambda: [r for r in runs(conn, jobid) if r[2] == 3 and r[0] == "failed"],
                     "the third attempt")
    assert found
    conn.execute("SELECT cron.alter_job(%s, active := false)", [jobid])
    # Ticks that came while it retried were skipped (overlap skip): the failures are the
    # first tick's three attempts.
    attempts = [r[2] for r in runs(conn, jobid) if r[0] == "failed"]
    assert attempts[:3] == [1, 2, 3], runs(conn, jobid)


def test_a_run_longer_than_its_timeout_is_canceled(
        conn: psycopg.Connection, other: psycopg.Connection, name: str,
        unschedule: list[int]) -> None:
    key = abs(hash(name)) % 100000
    other.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        jobid = conn.execute(
            f"SELECT cron.schedule('{name}', '0 3 1 1 *', 'SELECT pg_advisory_lock({key})')"
        ).fetchone()[0]  # type: ignore[index]
        unschedule.append(jobid)
        conn.execute("SELECT cron.alter_job(%s, timeout := '300 milliseconds', "
                     "schedule := '2 seconds')", [jobid])
        failed = wait_for(lambda: [r for r in runs(conn, jobid) if r[0] == "failed"],
                          "a canceled run")
        assert "statement timeout" in failed[0][1]
    finally:
        other.execute("SELECT pg_advisory_unlock(%s)", [key])


@pytest.mark.parametrize("overlap", ["skip", "queue"])
def test_a_tick_during_a_run_is_skipped_or_queued(
        conn: psycopg.Connection, other: psycopg.Connection, name: str, overlap: str,
        unschedule: list[int]) -> None:
    key = abs(hash(name)) % 100000
    other.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        jobid = conn.execute(
            f"SELECT cron.schedule('{name}', '0 3 1 1 *', "
            f"'SELECT pg_advisory_lock({key}); SELECT pg_advisory_unlock({key})')"
        ).fetchone()[0]  # type: ignore[index]
        unschedule.append(jobid)
        conn.execute("SELECT cron.alter_job(%s, overlap := %s, schedule := '1 seconds')",
                     [jobid, overlap])
        wanted = "skipped" if overlap == "skip" else "queued"
        wait_for(lambda: [r for r in runs(conn, jobid) if r[0] == wanted], f"a {wanted} run")
        assert len([r for r in runs(conn, jobid) if r[0] in ("running", "starting")]) == 1
    finally:
        other.execute("SELECT pg_advisory_unlock(%s)", [key])
    if overlap == "queue":
        # The queued run goes once the first ends.
        wait_for(lambda: len([r for r in runs(conn, jobid) if r[0] == "succeeded"]) >= 2,
                 "the queued run")
    conn.execute("SELECT cron.alter_job(%s, active := false)", [jobid])


def test_a_job_runs_after_another_succeeds(
        conn: psycopg.Connection, name: str, unschedule: list[int]) -> None:
    conn.execute(f"CREATE TABLE {name} (step text)")
    first = conn.execute(
        f"SELECT cron.schedule('{name}_a', '0 3 1 1 *', "
        f"$$INSERT INTO {name} VALUES ('first')$$)").fetchone()[0]  # type: ignore[index]
    unschedule.append(first)
    second = conn.execute(
        f"SELECT cron.schedule('{name}_b', '0 3 1 1 *', "
        f"$$INSERT INTO {name} VALUES ('second')$$)").fetchone()[0]  # type: ignore[index]
    unschedule.append(second)
    conn.execute("SELECT cron.alter_job(%s, after := %s)", [second, f"{name}_a"])
    conn.execute("SELECT cron.alter_job(%s, schedule := '2 seconds')", [first])
    wait_for(lambda: conn.execute(
        f"SELECT count(*) FROM {name} WHERE step = 'second'").fetchone()[0],  # type: ignore[index]
        "the second job")
    conn.execute("SELECT cron.alter_job(%s, active := false)", [first])
    steps = conn.execute(
        "SELECT j.jobname, min(r.start_time) FROM cron.job_run_details AS r "
        "JOIN cron.job AS j USING (jobid) WHERE r.status = 'succeeded' AND jobid IN (%s, %s) "
        "GROUP BY 1 ORDER BY 2", [first, second]).fetchall()
    assert [s[0] for s in steps] == [f"{name}_a", f"{name}_b"]


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    verifier = make_verifier("pw")
    config = (
        f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n\n'
        f'[users.bob]\npassword = "{verifier}"\n\n'
        f'[users.carol]\npassword = "{verifier}"\n'
    )
    running = start_server(tmp_path_factory.mktemp("jobs") / "data", config=config)
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


def test_a_job_runs_with_its_roles_rights_and_only_its_owner_manages_it(
        users: RunningServer) -> None:
    def connect(user: str) -> psycopg.Connection:
        return psycopg.connect(users.dsn(user=user, password="pw"), autocommit=True)

    with connect("admin") as admin, connect("bob") as bob, connect("carol") as carol:
        admin.execute("CREATE TABLE vault (a int)")
        admin.execute("CREATE TABLE ledger (who text)")
        admin.execute("GRANT INSERT, SELECT ON ledger TO bob")
        sneaky = bob.execute(
            "SELECT cron.schedule('sneaky', '2 seconds', 'INSERT INTO vault VALUES (1)')"
        ).fetchone()[0]  # type: ignore[index]
        honest = bob.execute(
            "SELECT cron.schedule('honest', '2 seconds', $$INSERT INTO ledger VALUES ('bob')$$)"
        ).fetchone()[0]  # type: ignore[index]
        assert bob.execute("SELECT username FROM cron.job WHERE jobid = %s",
                           [sneaky]).fetchone() == ("bob",)
        failed = wait_for(lambda: [r for r in runs(bob, sneaky) if r[0] == "failed"],
                          "the refused run")
        assert "permission denied" in failed[0][1]
        wait_for(lambda: admin.execute("SELECT count(*) FROM ledger").fetchone()[0],  # type: ignore[index]
                 "bob's allowed job")
        assert admin.execute("SELECT count(*) FROM vault").fetchone() == (0,)
        # carol neither sees nor manages bob's jobs; a superuser does both.
        assert carol.execute("SELECT count(*) FROM cron.job").fetchone() == (0,)
        assert carol.execute("SELECT count(*) FROM cron.job_run_details").fetchone() == (0,)
        for sql in (f"SELECT cron.unschedule({sneaky})",
                    f"SELECT cron.alter_job({sneaky}, active := false)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                carol.execute(sql)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            carol.execute("SELECT cron.schedule_in_database('x', '1 seconds', 'SELECT 1', "
                          "'forge', 'bob')")
        assert admin.execute("SELECT count(*) FROM cron.job WHERE username = 'bob'"
                             ).fetchone() == (2,)
        admin.execute(f"SELECT cron.unschedule({sneaky})")
        bob.execute(f"SELECT cron.unschedule({honest})")
        assert admin.execute("SELECT count(*) FROM cron.job").fetchone() == (0,)


def test_a_scheduled_sync_becomes_a_job(conn: psycopg.Connection, name: str) -> None:
    # forge_meta.syncs as migrations record syncs (the table may be absent: no jobs then).
    conn.execute("CREATE TABLE IF NOT EXISTS forge_meta.syncs (name VARCHAR NOT NULL, "
                 "definition VARCHAR NOT NULL, schedule VARCHAR, declared_in VARCHAR)")
    conn.execute("INSERT INTO forge_meta.syncs VALUES (%s, '{}', '2 seconds', 'V1.yaml')",
                 [name])
    try:
        job = wait_for(lambda: conn.execute(
            "SELECT jobid, schedule, command FROM cron.job WHERE jobname = %s",
            [f"sync {name}"]).fetchone(), "the sync's job")
        assert job[1:] == ("2 seconds", f"CALL forge_sync('{name}')")
        # It runs; without that sync (or forge_sync) the run fails, visibly.
        done = wait_for(
            lambda: [r for r in runs(conn, job[0]) if r[0] == "failed"],
            "a failed run of the sync's job")  # ticks while one runs are 'skipped'
        # Not a real sync's definition: the run fails with a clear error, not a crash.
        assert done[0][0] == "failed" and "is not a sync" in done[0][1], done
        conn.execute("UPDATE forge_meta.syncs SET schedule = NULL WHERE name = %s", [name])
        wait_for(lambda: not conn.execute(
            "SELECT count(*) FROM cron.job WHERE jobname = %s",
            [f"sync {name}"]).fetchone()[0], "the job to go")  # type: ignore[index]
    finally:
        conn.execute("DELETE FROM forge_meta.syncs WHERE name = %s", [name])


def test_cron_calls_inside_a_transaction_block_are_refused(
        conn: psycopg.Connection, name: str, unschedule: list[int]) -> None:
    # The job rows commit at once: a ROLLBACK could not undo them, so a block refuses them
    # (25001, as CREATE DATABASE) rather than keep a job its transaction rolled back.
    with pytest.raises(psycopg.errors.ActiveSqlTransaction,
                       match=r"cron\.schedule cannot run inside a transaction block"), \
            conn.transaction():
        conn.execute(f"SELECT cron.schedule('{name}', '0 3 * * *', 'SELECT 1')")
    assert conn.execute("SELECT count(*) FROM cron.job WHERE jobname = %s",
                        [name]).fetchone() == (0,)
    jobid = conn.execute(
        f"SELECT cron.schedule('{name}', '0 3 * * *', 'SELECT 1')").fetchone()[0]  # type: ignore[index]
    unschedule.append(jobid)
    for call, function in ((f"cron.alter_job({jobid}, active := false)", "cron.alter_job"),
                           (f"cron.unschedule({jobid})", "cron.unschedule")):
        with pytest.raises(psycopg.errors.ActiveSqlTransaction,
                           match=re.escape(f"{function} cannot run inside a transaction block")), \
                conn.transaction():
            conn.execute(f"SELECT {call}")
    assert conn.execute("SELECT active FROM cron.job WHERE jobid = %s",
                        [jobid]).fetchone() == (True,)
