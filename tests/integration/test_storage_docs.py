"""docs/storage.md runs as written: its sql blocks, in order, in one psql session on a
server started with the page's config and sample files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from server import start_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "storage.md"

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.S | re.M)


def test_storage_page_examples_run(tmp_path: Path) -> None:
    sample = next(
        line for line in blocks("sh")[0].splitlines() if line.startswith("python -c")
    )
    made = subprocess.run(sample.replace("python", sys.executable, 1), shell=True,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    server = start_server(tmp_path / "forge-data", config=blocks("toml")[0], cwd=tmp_path)
    try:
        done = subprocess.run(
            ["psql", server.dsn(), "-X", "-w", "-v", "ON_ERROR_STOP=1", "-f", "-"],
            input="\n".join(blocks("sql")), capture_output=True, text=True, timeout=120,
        )
    finally:
        log = server.stop()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "Traceback" not in log, log
    out = done.stdout
    assert re.search(r"^ +3000$", out, re.M)  # the rolled-back transaction left no trace
    assert "Total Files Read: 2" in out  # partition pruning in the lake
    assert "Scanning Files: 1/2" in out  # and in the external dataset
    assert re.search(r"^ compact +\| +\d+ \| \d+ small files merged", out, re.M)
    assert re.search(r"^ eu +\| +500 \|", out, re.M)
    # Time travel: the sum before the UPDATE, by version and by time, is the same.
    sums = re.findall(r"^ +(\d+\.\d+)$", out, re.M)
    assert len(sums) >= 3 and sums[1] == sums[2] != sums[0]
