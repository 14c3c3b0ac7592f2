"""The supervisor of ``forge-sql serve`` (PostgreSQL's postmaster, "restart_after_crash"):
it binds the listening sockets, starts the server process with them inherited, and starts
it again on the same sockets when it dies by a signal or a fatal exit, so a native crash
in DuckDB or an extension costs the sessions open at the time, not the service."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import FrameType

log = logging.getLogger(__name__)

# A server process that crashes this often is not restarted again: something is wrong that
# a restart does not cure (PostgreSQL restarts without limit; a loop would only spin).
CRASH_LIMIT = 5
CRASH_WINDOW = 60.0  # seconds
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


def listen(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Bound and listening sockets for ``host`` (each address it names) and ``port``; with
    port 0 the first socket's port is used for the others, as one port is announced."""
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.listen(backlog)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def describe_exit(pid: int, returncode: int) -> str:
    """PostgreSQL's words for how a server process ended (LogChildExit)."""
    if returncode < 0:
        number = -returncode
        name = signal.strsignal(number) or f"signal {number}"
        return f"server process (PID {pid}) was terminated by signal {number}: {name}"
    return f"server process (PID {pid}) exited with exit code {returncode}"


class Postmaster:
    """Starts the server process with ``command`` plus the options naming the inherited
    sockets and the pipe on which it says it is ready, and restarts it after a crash."""

    def __init__(self, command: Sequence[str], sockets: Sequence[socket.socket]) -> None:
        self._command = list(command)
        self._sockets = list(sockets)
        self._child: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self._crashes: deque[float] = deque()

    def run(self) -> int:
        """Serve until the server process exits normally (its exit code), fails to start
        (its exit code), or crashes CRASH_LIMIT times within CRASH_WINDOW (1)."""
        previous = {sig: signal.signal(sig, self._forward) for sig in _FORWARDED}
        try:
            while True:
                child, ready = self._start()
                returncode = child.wait()
                if self._stopping or returncode == 0:
                    return _exit_status(returncode)
                if not ready:
                    log.error("%s before it was ready; not restarting",
                              describe_exit(child.pid, returncode))
                    return _exit_status(returncode)
                log.error("%s", describe_exit(child.pid, returncode))
                now = time.monotonic()
                self._crashes.append(now)
                while self._crashes and now - self._crashes[0] > CRASH_WINDOW:
                    self._crashes.popleft()
                if len(self._crashes) >= CRASH_LIMIT:
                    log.error(
                        "the server process crashed %d times within %g seconds; not "
                        "restarting it (restart_after_crash)", len(self._crashes), CRASH_WINDOW)
                    return 1
                log.info("all server processes terminated; reinitializing")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self) -> tuple[subprocess.Popen[bytes], bool]:
        """Start the server process and wait until it says it is ready or ends; whether it
        said so."""
        read_end, write_end = os.pipe()
        fds = [s.fileno() for s in self._sockets]
        try:
            child = subprocess.Popen(
                [*self._command, "--listen-fds", ",".join(map(str, fds)),
                 "--ready-fd", str(write_end)],
                pass_fds=(*fds, write_end),
                preexec_fn=_die_with(os.getpid()),  # no threads in this process
            )
        finally:
            os.close(write_end)
        self._child = child
        try:
            while True:
                try:
                    readable, _, _ = select.select([read_end], [], [], 1.0)
                except InterruptedError:  # a signal, forwarded
                    continue
                if readable:
                    # A line when ready; nothing (end of file) when it ended first.
                    return child, bool(os.read(read_end, 64))
                if child.poll() is not None:
                    return child, False
        finally:
            os.close(read_end)

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        """Shutdown signals (and SIGHUP, reload) go to the server process, as PostgreSQL's
        postmaster passes them on; after a shutdown signal, no restart."""
        if signum != signal.SIGHUP:
            self._stopping = True
        child = self._child
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)


def _exit_status(returncode: int) -> int:
    """The supervisor's own exit status for the server process's: a signal as a shell
    shows it (128 + the signal's number)."""
    return 128 - returncode if returncode < 0 else returncode


def _die_with(supervisor: int) -> Callable[[], None]:
    def arrange() -> None:
        """In the server process before it runs: a SIGKILL when the supervisor dies, so a
        killed supervisor leaves no server holding the data directory (Linux prctl)."""
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != supervisor:
            os._exit(1)  # the supervisor died before the line above

    return arrange


def serve(command: Sequence[str], host: str, port: int, backlog: int) -> int:
    """Bind ``host``:``port`` and supervise the server process ``command``."""
    try:
        sockets = listen(host, port, backlog)
    except OSError as exc:
        log.error("could not listen on %s:%s: %s", host, port, exc)
        return 1
    try:
        return Postmaster(command, sockets).run()
    finally:
        for sock in sockets:
            sock.close()


def server_command() -> list[str]:
    """This invocation of ``forge-sql serve``, as a command for the server process."""
    return [sys.executable, "-m", "forge_sql", *sys.argv[1:]]
