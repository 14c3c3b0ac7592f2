"""A throwaway PostgreSQL server for the benchmark.

Finds the server binaries (``/usr/lib/postgresql/*/bin``), installs the Debian
``postgresql`` package when they are missing (needs root), runs ``initdb`` into a
temporary directory as the ``postgres`` system user (initdb refuses root), starts
``postgres`` on a free loopback port and stops it again, also on errors.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

import psycopg

PG_USER = "postgres"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
INSTALL_TIMEOUT = 900.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _version_key(bindir: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/bin", bindir)
    return tuple(int(p) for p in match.group(1).split(".")) if match else (0,)


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL ``bin`` directory, or None."""
    found = [os.path.dirname(p) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    if found:
        return Path(max(found, key=_version_key))
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def install_postgresql(log: Callable[[str], object] = print) -> Path:
    """``apt-get install -y postgresql`` (root only) and return the bin directory."""
    if os.geteuid() != 0:
        raise RuntimeError("PostgreSQL server binaries not found and not root: "
                           "install the 'postgresql' package or pass --pg-dsn / --no-pg")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        log(f"running: {' '.join(command)}")
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}"
                               f"\n{done.stderr[-2000:]}")
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("apt-get installed postgresql but no initdb was found")
    return bindir


def ensure_system_user() -> pwd.struct_passwd:
    """The ``postgres`` system user, created when missing (root only)."""
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True, timeout=60)
        return pwd.getpwnam(PG_USER)


class ManagedServer:
    """A server process started on entering a ``with`` block and always stopped after."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PostgresServer(ManagedServer):
    """``with PostgresServer() as pg: psycopg.connect(pg.dsn)``."""

    def __init__(
        self, log: Callable[[str], object] = print, settings: Sequence[str] = ()
    ) -> None:
        """``settings``: extra ``name=value`` server settings (``postgres -c``)."""
        self.log = log
        self.settings = list(settings)
        self.tmpdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.version = ""

    @property
    def dsn(self) -> str:
        return (f"host=127.0.0.1 port={self.port} dbname=postgres user={PG_USER} "
                f"connect_timeout=10")


    def _run_as(self) -> dict[str, Any]:
        """Popen arguments that drop root to the postgres user (initdb refuses root)."""
        if os.geteuid() != 0:
            return {}
        user = ensure_system_user()
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [],
                "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                        "HOME": str(self.tmpdir), "LC_ALL": "C.UTF-8"}}

    def start(self) -> None:
        bindir = find_bindir() or install_postgresql(self.log)
        self.tmpdir = Path(tempfile.mkdtemp(prefix="forge-bench-pg-"))
        run_as = self._run_as()
        if "user" in run_as:
            os.chown(self.tmpdir, run_as["user"], run_as["group"])
        data = self.tmpdir / "data"
        initdb = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust",
             "-E", "UTF8", "--no-locale", "--no-sync"],
            cwd=self.tmpdir, capture_output=True, text=True, timeout=120, **run_as)
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
        self.port = free_port()
        with open(self.tmpdir / "postgres.log", "wb") as log_file:
            self.process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                 "-k", str(self.tmpdir), "-c", "listen_addresses=127.0.0.1",
                 *(part for setting in self.settings for part in ("-c", setting))],
                cwd=self.tmpdir, stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT, start_new_session=True, **run_as)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with psycopg.connect(self.dsn.replace("connect_timeout=10",
                                                      "connect_timeout=2")) as conn:
                    row = conn.execute("SHOW server_version").fetchone()
                    self.version = row[0] if row else "?"
                    return
            except psycopg.OperationalError as error:
                last_error = error
                time.sleep(0.2)
        raise RuntimeError(f"postgres did not accept connections in {START_TIMEOUT}s: "
                           f"{last_error}\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        if self.tmpdir is None:
            return ""
        log = self.tmpdir / "postgres.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGQUIT)  # immediate shutdown
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
