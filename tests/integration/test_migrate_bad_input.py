"""`forge-sql migrate` on files that are not what they claim (invalid UTF-8, a YAML alias
bomb): one error line with the file and the reason, exit code 1, no traceback, quickly."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

BOMB = ("table: t\n" + "\n".join(
    [f'a: &a [{", ".join(["lol"] * 9)}]']
    + [f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 9)}]"
       for i in range(1, 9)]
)).encode()  # nine lines that expand to 9**9 strings


def _migrate(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forge_sql", "migrate", *args, "--dir", str(directory)],
        capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("V1__bad.sql", b"CREATE TABLE t (a TEXT);\nINSERT INTO t VALUES ('\xe9t\xe9');\n",
     "V1__bad.sql:2:24: not valid UTF-8 (byte 0xe9): migration files are UTF-8 text"),
    ("V1__bad.yaml", b"table: t\ncolumns:\n  - {name: a, type: \xff}\n",
     "V1__bad.yaml:3:21: not valid UTF-8 (byte 0xff)"),
    ("V1__bomb.yaml", BOMB, "V1__bomb.yaml:7:4: YAML aliases expand to more than 100000 values"),
])
def test_bad_migration_file(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / name).write_bytes(data)
    for args in (("lint",), ("plan", "--data-dir", str(tmp_path / "data"))):
        started = time.monotonic()
        result = _migrate(directory, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
        assert time.monotonic() - started < 60
