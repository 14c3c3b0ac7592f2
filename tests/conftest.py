"""Shared pytest configuration: the package is imported from the source tree."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

# The Python processes the tests start (every server, `forge-sql migrate` runs) import
# forge_sql from the source tree. Where the environment turns bytecode writing off
# (PYTHONDONTWRITEBYTECODE), each of them compiled every module again: about 0.3 s of CPU
# a process. They share one bytecode cache outside the source tree instead (Python checks
# each entry against its source file, so worktrees and edits never see a stale one).
if os.environ.get("PYTHONDONTWRITEBYTECODE"):
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "forge-sql-test-pycache")
    )

# One DuckDB worker thread per test server (`threads`, FORGE_SQL_THREADS): `make test` runs
# two workers on two cores, each talking to its own servers, so a second DuckDB thread per
# server only contends for a core the other worker is using. The tests' statements are
# small; their server CPU time was about a fifth lower with one thread (test_returning's
# PostgreSQL comparisons, same run). A test can still pass its own (flag or environment).
os.environ.setdefault("FORGE_SQL_THREADS", "1")


def pytest_report_header() -> list[str]:
    """The client versions the integration tests run against, at the top of every run."""
    sys.path.insert(0, str(Path(__file__).parent / "integration"))
    from clients import versions

    return versions.report()


# The longest files of the default run, started first: with two workers each taking whole
# files (`make test`), a long file collected last would run alone at the end.
LONGEST_FIRST = (
    "test_differential.py",
    "test_concurrent_ddl.py",
    "test_snapshot_waits.py",
    "test_migrate_commands.py",
    "test_migrate_external.py",
    "test_catalog_loss.py",
    "test_concurrent_crash.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the files of LONGEST_FIRST to the front, each kept whole and in its order."""

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: every other file keeps its place
