"""Two `forge-sql migrate` runs at once cannot interleave; a killed run leaves no lock."""

from __future__ import annotations

import os
import select
import signal
import subprocess
from pathlib import Path

from migrate_project import Project, both

__all__ = ["both"]

DEADLINE = 90.0


def _blocking_migration(project: Project, tmp: Path) -> Path:
    """V1 announces itself on stdout, then waits until the test writes to a FIFO."""
    release = tmp / "release"
    os.mkfifo(release)
    project.write("V1__slow.py", f"""
        def up(conn):
            print("inside V1", flush=True)
            with open({str(release)!r}) as fifo:
                fifo.read()
            conn.execute("CREATE TABLE slow (x INT)")
    """)
    return release


def _line(stream: object, timeout: float = DEADLINE) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "the other migrate run did not report in time"
    return stream.readline()  # type: ignore[attr-defined, no-any-return]


def _wait_inside(process: subprocess.Popen[str]) -> None:
    line = _line(process.stdout)
    assert line == "inside V1\n", (line, process.stderr.read() if process.poll() else "")


def _release(path: Path) -> None:
    with open(path, "w") as fifo:
        fifo.write("go")


def test_second_run_fails_or_waits_while_the_first_holds_the_lock(
    both: Project, tmp_path: Path
) -> None:
    release = _blocking_migration(both, tmp_path)
    first = both.spawn()
    try:
        _wait_inside(first)
        refused = both.run("--lock-timeout", "0", code=1)
        if both.mode == "online":
            assert f"another migrate run holds the migration lock (process {first.pid}" in (
                refused.stderr
            )
        else:
            assert "is in use by another process" in refused.stderr
            assert "--url" in refused.stderr
        waiting = both.spawn("--lock-timeout", str(DEADLINE))
        assert "waiting for" in _line(waiting.stderr)
        _release(release)
        assert first.wait(DEADLINE) == 0, first.stderr.read() if first.stderr else ""
        out, err = waiting.communicate(timeout=DEADLINE)
        assert waiting.returncode == 0, err
        assert out.strip() == "nothing to apply: up to date"
    finally:
        for process in (first,):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert both.history() == [("1", "slow", "py")]


def test_killed_run_leaves_no_lock_and_nothing_applied(both: Project, tmp_path: Path) -> None:
    _blocking_migration(both, tmp_path)
    first = both.spawn()
    try:
        _wait_inside(first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(DEADLINE)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    both.write("V1__slow.py", """
        def up(conn):
            conn.execute("CREATE TABLE slow (x INT)")
    """)
    assert both.history() == []
    # No waiting: the lock of a dead process on this machine is taken over at once.
    assert "applied V1__slow.py" in both.run("--lock-timeout", "0").stdout
    assert both.history() == [("1", "slow", "py")]
