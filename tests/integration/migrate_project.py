"""A migrations directory and a database to run `forge-sql migrate` against, offline
(``--data-dir``, in process) or through a real server (``--url``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from server import RunningServer, start_server

from forge_sql.cli import main


@dataclass
class Project:
    root: Path
    mode: str  # offline or online
    server: RunningServer | None = None
    runner: CliRunner = field(default_factory=CliRunner)

    @property
    def migrations(self) -> Path:
        return self.root / "migrations"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def target(self) -> list[str]:
        if self.server is not None:
            return ["--url", self.server.url()]
        return ["--data-dir", str(self.data_dir)]

    def write(self, name: str, text: str) -> Path:
        self.migrations.mkdir(parents=True, exist_ok=True)
        path = self.migrations / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def run(self, *args: str, code: int | None = 0) -> Result:
        """``forge-sql migrate ARGS`` in process; asserts the exit code unless None."""
        command, rest = (list(args[:1]), list(args[1:])) if args and not args[0].startswith(
            "-") else ([], list(args))
        target = [] if command in (["new"], ["lint"]) else self.target
        result = self.runner.invoke(
            main, ["migrate", *command, "--dir", str(self.migrations), *target, *rest]
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        if code is not None:
            assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    def json(self, *args: str, code: int | None = 0) -> Any:
        return json.loads(self.run(*args, "--json", code=code).stdout)

    def command(self, *args: str) -> list[str]:
        """The same as a separate process (for concurrent runs)."""
        command = args[:1] if args and not args[0].startswith("-") else ()
        rest = args[len(command):]
        return [sys.executable, "-m", "forge_sql", "migrate", *command, "--dir",
                str(self.migrations), *self.target, *rest]

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a query, through the server, or by opening the data directory."""
        if self.server is not None:
            with psycopg.connect(self.server.dsn(), autocommit=True) as conn:
                return list(conn.execute(sql).fetchall())
        from forge_sql.config import Settings
        from forge_sql.engine.database import Database
        from forge_sql.migrate.connection import EngineConnection

        database = Database(Settings(data_dir=self.data_dir))
        conn = EngineConnection(database, "test")
        try:
            return conn.execute(sql)
        finally:
            conn.close()
            database.close()

    def history(self) -> list[tuple[Any, ...]]:
        return self.query("SELECT version, name, kind FROM forge_meta.migrations "
                          "ORDER BY installed_rank")

    def stop(self) -> None:
        if self.server is not None:
            log = self.server.stop()
            assert "Traceback" not in log, log


def project(root: Path, mode: str) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    server = start_server(root / "data") if mode == "online" else None
    return Project(root, mode, server)


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[Project]:
    yield project(tmp_path, "offline")


@pytest.fixture
def online(tmp_path: Path) -> Iterator[Project]:
    made = project(tmp_path, "online")
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture(params=["offline", "online"])
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Project]:
    made = project(tmp_path, request.param)
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture(params=[pytest.param("offline", marks=pytest.mark.slow), "online"])
def both_slow_offline(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Project]:
    """Both modes, the offline one in the slow suite (it opens the database per command)."""
    made = project(tmp_path, request.param)
    try:
        yield made
    finally:
        made.stop()
