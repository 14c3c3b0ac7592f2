"""A real forge-sql server process on a free port, for the integration tests."""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncpg

# A loaded machine (several test runs on two cores) has taken over 60 s to start one.
START_TIMEOUT = 180.0


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    host: str
    port: int
    data_dir: Path
    log_file: Path
    database: str = "forge"

    def dsn(self, user: str = "forge", password: str | None = None, **extra: str) -> str:
        parts = [f"host={self.host}", f"port={self.port}", f"dbname={self.database}",
                 f"user={user}"]
        if password is not None:
            parts.append(f"password={password}")
        parts += [f"{k}={v}" for k, v in extra.items()]
        return " ".join(parts)

    @property
    def pid(self) -> int:
        """The server process serving the clients: the one ``serve``'s supervisor started
        (forge_sql.postmaster), or the started process itself without a supervisor."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            return next(int(c) for c in children  # not a process the server started
                        if b"--listen-fds" in Path(f"/proc/{c}/cmdline").read_bytes())
        except (OSError, StopIteration):
            return pid

    def url(self, user: str = "forge") -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{self.database}"

    def stop(self) -> str:
        """Stop the server and return what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log_file.read_text(errors="replace")


def start_server(data_dir: Path, *args: str, config: str | None = None,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> RunningServer:
    """Start ``forge-sql serve --port 0`` (in ``cwd``, default the current directory) and
    wait for its ``listening on`` line."""
    command = [sys.executable, "-m", "forge_sql", "serve", "--port", "0",
               "--data-dir", str(data_dir), *args]
    if config is not None:
        config_file = data_dir.parent / f"{data_dir.name}.toml"
        config_file.write_text(config)
        command += ["--config", str(config_file)]
    log_file = data_dir.parent / f"{data_dir.name}.log"
    with open(log_file, "w") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True,
            env={**os.environ, **(env or {})}, cwd=cwd,
        )
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith("listening on "):
                host, _, port = line.split()[-1].rpartition(":")
                return RunningServer(process, host, int(port), data_dir, log_file)
            if not line and process.poll() is not None:
                break
        elif process.poll() is not None:
            break
    process.kill()
    process.wait()
    raise RuntimeError(f"forge-sql did not start: {log_file.read_text(errors='replace')}")


T = TypeVar("T")


def run_asyncpg(
    server: RunningServer, body: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """Run ``body`` with a fresh asyncpg connection, with a deadline."""

    async def main() -> T:
        con = await asyncpg.connect(host=server.host, port=server.port, user="forge",
                                    database=server.database, timeout=10)
        try:
            return await asyncio.wait_for(body(con), timeout=60)
        finally:
            await con.close(timeout=10)

    return asyncio.run(main())
