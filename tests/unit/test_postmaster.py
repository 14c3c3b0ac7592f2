"""The supervisor of serve (forge_sql.postmaster) with stand-in server processes: a few
lines of Python that say they are ready, then crash, exit, or wait, as told."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from forge_sql import postmaster

# argv: behaviour, then the options the supervisor adds (--listen-fds N --ready-fd N).
STAND_IN = """
import os, signal, socket, sys, time
behaviour = sys.argv[1]
fds = sys.argv[sys.argv.index("--listen-fds") + 1]
ready = int(sys.argv[sys.argv.index("--ready-fd") + 1])
listening = socket.socket(fileno=int(fds.split(",")[0]))
with open(sys.argv[2], "a") as starts:
    starts.write(f"{os.getpid()} {listening.getsockname()[1]}\\n")
if behaviour == "fail at start":
    sys.exit(3)
os.write(ready, b"ready\\n")
if behaviour == "crash":
    os.kill(os.getpid(), signal.SIGSEGV)
if behaviour == "exit":
    sys.exit(0)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(0.1)
"""


@pytest.fixture
def listening() -> socket.socket:
    [sock] = postmaster.listen("127.0.0.1", 0, 16)
    yield sock
    sock.close()


def command(tmp_path: Path, behaviour: str) -> tuple[list[str], Path]:
    script = tmp_path / "server.py"
    script.write_text(STAND_IN)
    starts = tmp_path / "starts"
    return [sys.executable, str(script), behaviour, str(starts)], starts


def test_a_crash_loop_stops_with_a_clear_error(
    tmp_path: Path, listening: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "forge_sql.postmaster")
    argv, starts = command(tmp_path, "crash")
    assert postmaster.Postmaster(argv, [listening]).run() == 1
    started = starts.read_text().split("\n")[:-1]
    assert len(started) == postmaster.CRASH_LIMIT
    port = listening.getsockname()[1]
    assert {line.split()[1] for line in started} == {str(port)}  # the same socket each time
    first = started[0].split()[0]
    assert (f"server process (PID {first}) was terminated by signal 11: Segmentation fault"
            in caplog.text)
    assert "all server processes terminated; reinitializing" in caplog.text
    assert f"crashed {postmaster.CRASH_LIMIT} times within 60 seconds; not restarting" in (
        caplog.text)


def test_a_normal_exit_ends_the_supervisor(tmp_path: Path, listening: socket.socket) -> None:
    argv, starts = command(tmp_path, "exit")
    assert postmaster.Postmaster(argv, [listening]).run() == 0
    assert len(starts.read_text().splitlines()) == 1


def test_a_failed_start_is_not_restarted(
    tmp_path: Path, listening: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    argv, starts = command(tmp_path, "fail at start")
    assert postmaster.Postmaster(argv, [listening]).run() == 3
    assert len(starts.read_text().splitlines()) == 1
    assert "exited with exit code 3 before it was ready; not restarting" in caplog.text


def test_sigterm_is_passed_on_and_ends_both(tmp_path: Path, listening: socket.socket) -> None:
    argv, starts = command(tmp_path, "wait")
    supervisor = postmaster.Postmaster(argv, [listening])
    outcome: list[int] = []

    def run() -> None:
        outcome.append(supervisor.run())

    # signal.signal works in the main thread only: run the loop there, signal from here.
    def terminate_when_started() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
                starts.exists() and starts.read_text().endswith("\n")):
            time.sleep(0.05)
        # To the main thread, blocked in waitpid: as a service manager's kill reaches the
        # supervisor, which has no other thread.
        main = threading.main_thread().ident
        assert main is not None
        signal.pthread_kill(main, signal.SIGTERM)

    threading.Thread(target=terminate_when_started, daemon=True).start()
    run()
    assert outcome == [0]
    assert len(starts.read_text().splitlines()) == 1


def test_port_zero_gives_every_address_one_port() -> None:
    sockets = postmaster.listen("localhost", 0, 16)
    try:
        assert len({s.getsockname()[1] for s in sockets}) == 1
    finally:
        for sock in sockets:
            sock.close()
