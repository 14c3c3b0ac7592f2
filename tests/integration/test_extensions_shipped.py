"""The shipped_extensions setting through a real server: the example loads only when
named, a name that is not shipped stops the start, and `extensions list` says the same."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from server import start_server

pytestmark = pytest.mark.integration


def forge_sql(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "forge_sql", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FORGE_SQL_EXTENSIONS": "", **env})


def test_the_example_loads_only_when_named(tmp_path: Path) -> None:
    # Outside the source tree: no ./extensions, so only the shipped ones can load.
    named = start_server(tmp_path / "named", "--shipped-extensions", "example",
                         cwd=tmp_path, env={"FORGE_SQL_EXTENSIONS": ""})
    try:
        with psycopg.connect(named.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT slugify('Hello, World!')").fetchone() == (
                "hello-world",)
    finally:
        named.stop()
    default = start_server(tmp_path / "default", cwd=tmp_path,
                           env={"FORGE_SQL_EXTENSIONS": ""})
    try:
        with psycopg.connect(default.dsn(), autocommit=True) as conn, pytest.raises(
            psycopg.errors.UndefinedFunction
        ):
            conn.execute("SELECT slugify('x')")
    finally:
        default.stop()


def test_a_name_that_is_not_shipped_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as caught:
        start_server(tmp_path / "data", cwd=tmp_path,
                     env={"FORGE_SQL_EXTENSIONS": "", "FORGE_SQL_SHIPPED_EXTENSIONS": "nope"})
    assert "no shipped extension 'nope'" in str(caught.value)
    assert "example" in str(caught.value)  # the names that are shipped
    done = forge_sql("extensions", "list", cwd=tmp_path,
                     FORGE_SQL_SHIPPED_EXTENSIONS="example")
    assert done.returncode == 0, done.stderr
    assert "public.slugify(" in done.stdout
