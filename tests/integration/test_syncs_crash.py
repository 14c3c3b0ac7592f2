"""kill -9 of the server during a merge sync, at several random moments: after each
restart the table has no duplicate key, its cursor is the old one or the new one (never
ahead of the rows), and the next run brings the table to exactly what the API holds. A job
run under way at a kill -9 is marked failed when the server starts again."""

from __future__ import annotations

import random
import signal
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from http_api import Api, running_api
from server import RunningServer, start_server

from forge_sql.cli import main

SOURCES = '''
from forge_sql.ext import Context, source


@source(columns={"id": "BIGINT", "name": "VARCHAR", "updated_at": "BIGINT"},
        primary_key="id", cursor="updated_at")
def items(since: int = 0, *, ctx: Context):
    yield from ctx.http.paginate(ctx.settings["base_url"] + "/pages",
                                 params={"since": since, "per_page": 100},
                                 paginator="page", records="data")
'''
MIGRATION = '''
syncs:
  - {name: crashy, source: items, into: crashed, mode: merge, lookback: 5}
'''


def table_state(server: RunningServer) -> tuple[int, int, str | None, dict[int, str]]:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        count, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM crashed").fetchone() or (0, 0)
        state = conn.execute("SELECT cursor_value FROM forge_meta.sync_state "
                             "WHERE name = 'crashy'").fetchone()
        rows = dict(conn.execute("SELECT id, name FROM crashed").fetchall())
    return count, distinct, None if state is None else state[0], rows


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_during_merge_sync_leaves_old_or_new_state(tmp_path: Path) -> None:
    rng = random.Random(20261207)
    root = tmp_path
    (root / "extensions").mkdir()
    (root / "extensions" / "api_sources.py").write_text(textwrap.dedent(SOURCES))
    (root / "migrations").mkdir()
    (root / "migrations" / "V1__sync.yaml").write_text(textwrap.dedent(MIGRATION))
    with running_api() as api:
        config = f'[extension_settings.api_sources]\nbase_url = "{api.base}"\n'
        server = start_server(root / "data", config=config, cwd=root)
        try:
            result = CliRunner().invoke(main, ["migrate", "--dir", str(root / "migrations"),
                                               "--url", server.url()])
            assert result.exit_code == 0, result.output
            api.set_items(6000)
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute("CALL forge_sync('crashy')")
            clock = 6000
            outcomes = []
            for round_ in range(4):
                previous = table_state(server)
                # Changes: a few hundred items move on, new ones arrive.
                for item in rng.sample(api.items, 300):
                    clock += 1
                    item.update(name=f"{item['id']} v{round_}", updated_at=clock)
                for _ in range(2000):
                    clock += 1
                    api.items.append({"id": len(api.items) + 1, "name": "new",
                                      "updated_at": clock})
                api.items.sort(key=lambda i: i["updated_at"])
                api.delay = 0.1  # 23 pages: the read alone takes 2.3 s or more
                server = _kill_during_sync(server, api, rng.uniform(0.2, 3.5), root, config)
                api.delay = 0.0
                count, distinct, cursor, rows = table_state(server)
                assert count == distinct, f"round {round_}: duplicate keys after kill -9"
                with psycopg.connect(server.dsn(), autocommit=True) as conn:
                    assert conn.execute(  # a run is recorded with its outcome, or not at all
                        "SELECT count(*) FROM forge_meta.sync_runs WHERE status NOT IN "
                        "('succeeded', 'failed')").fetchone() == (0,)
                expected = {i["id"]: i["name"] for i in api.items}
                if cursor == previous[2]:
                    assert rows == previous[3], f"round {round_}: old cursor, changed rows"
                    outcomes.append("old")
                else:
                    outcomes.append("new")
                    assert cursor == str(clock), f"round {round_}: cursor {cursor}"
                    assert rows == expected, f"round {round_}: new cursor, rows missing"
                with psycopg.connect(server.dsn(), autocommit=True) as conn:
                    conn.execute("CALL forge_sync('crashy')")
                count, distinct, cursor, rows = table_state(server)
                assert (count, cursor) == (len(api.items), str(clock))
                assert rows == expected
            assert "old" in outcomes, f"no kill landed during a run: {outcomes}"
        finally:
            server.stop()


def _kill_during_sync(server: RunningServer, api: Api, after: float, root: Path,
                      config: str) -> RunningServer:
    def call() -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute("CALL forge_sync('crashy')")
        except psycopg.Error:
            pass  # the server died under it

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(after)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    thread.join(timeout=30)
    return start_server(root / "data", config=config, cwd=root)


@pytest.mark.slow
def test_a_job_run_under_way_at_a_kill_is_failed_at_restart(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE held (v INTEGER)")
            with psycopg.connect(server.dsn()) as holder:
                # The job's INSERT waits for this transaction, which never ends.
                holder.execute("INSERT INTO held VALUES (0)")
                jobid = conn.execute("SELECT cron.schedule('stuck', '1 seconds', "
                                     "'INSERT INTO held VALUES (1)')").fetchone()[0]  # type: ignore[index]
                _until(lambda: conn.execute(
                    "SELECT count(*) FROM cron.job_run_details WHERE jobid = %s "
                    "AND status = 'running'", [jobid]).fetchone() == (1,))
                server.process.send_signal(signal.SIGKILL)
                server.process.wait()
    except psycopg.OperationalError:
        pass  # the connections' goodbyes to the killed server
    server = start_server(tmp_path / "data")
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("SELECT cron.unschedule('stuck')")
            _until(lambda: conn.execute(
                "SELECT count(*) FROM forge_meta.cron_job_run_details WHERE status IN "
                "('starting', 'running', 'queued')").fetchone() == (0,))
            failed = conn.execute(
                "SELECT status, return_message, end_time IS NOT NULL FROM "
                "forge_meta.cron_job_run_details ORDER BY runid").fetchall()
            assert failed[0][0] == "failed" and failed[0][2], failed
            assert failed[0][1].startswith("server restarted: ")
    finally:
        server.stop()


def _until(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
