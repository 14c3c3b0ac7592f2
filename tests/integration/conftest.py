"""Fixtures: one real server per test session, fresh connections and tables per test."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from clients.programs import require_program
from server import RunningServer, start_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("forge") / "data")
    yield running
    err = running.stop()
    assert "Traceback" not in err, err


@pytest.fixture
def conn(server: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        yield connection


@pytest.fixture
def other(server: RunningServer) -> Iterator[psycopg.Connection]:
    """A second session, to look at what the first one committed or holds."""
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        yield connection


@pytest.fixture
def table_name() -> str:
    """A table name no other test uses (the server is shared)."""
    return f"t_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def psql_installed() -> str:
    """psql's path. CI installs it (make system-deps): a missing psql fails, never skips."""
    return require_program("psql", "postgresql-client")
