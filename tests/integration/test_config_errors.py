"""`forge-sql serve` with a bad config file or setting: exit code 1, one line naming the
file or flag and the reason, no traceback, nothing created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(("args", "config", "expected"), [
    ([], b"\x00\xff garbage = [", "not valid UTF-8"),
    ([], b'[users.bob]\npassword = "SCRAM-SHA-256$x"\n', "users.bob.password"),
    (["--memory-limit", "lots"], b"", "memory_limit"),
    (["--log-level", "LOUD"], b"", "log_level"),
])
def test_serve_exits_with_one_line(tmp_path: Path, args: list[str], config: bytes,
                                   expected: str) -> None:
    path = tmp_path / "forge.toml"
    path.write_bytes(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_SQL_")}
    result = subprocess.run(
        [sys.executable, "-m", "forge_sql", "serve", "--port", "0", "--config", str(path),
         "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], lines
    assert not (tmp_path / "data").exists()  # refused before anything was created
