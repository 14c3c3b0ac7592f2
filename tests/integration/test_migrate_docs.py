"""docs/migrations.md's external datasets example runs as written: sample files, the YAML
migration, `migrate plan` and `migrate` offline, then the server and the psql queries."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from server import start_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "migrations.md"

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")


def section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"### {title}\n")
    return text[start : text.index("\n### ", start + 1)]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def commands(block: str) -> list[list[str]]:
    return [shlex.split(line, comments=True) for line in block.splitlines()
            if line.strip() and not line.startswith("#")]


def run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_external_datasets_example_runs(tmp_path: Path) -> None:
    text = section("YAML external datasets")
    setup, steps = blocks(text, "sh")
    (yaml_block,) = blocks(text, "yaml")
    made = subprocess.run(setup.replace("python -c", f"{sys.executable} -c", 1), shell=True,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    name = yaml_block.splitlines()[0].removeprefix("# ")
    (tmp_path / name).write_text(yaml_block)
    plan, apply, serve, query = commands(steps)
    forge = [sys.executable, "-m", "forge_sql"]
    assert plan[:3] == ["forge-sql", "migrate", "plan"] and apply[:2] == ["forge-sql", "migrate"]
    planned = run(forge + plan[1:], tmp_path)
    assert 'CREATE OR REPLACE VIEW "ref"."rates" AS SELECT * FROM read_csv(' in planned
    assert f"read_parquet('{tmp_path}/data/events/**/*.parquet'" in planned
    run(forge + apply[1:], tmp_path)
    assert serve[:2] == ["forge-sql", "serve"] and serve[-1] == "&"
    server = start_server(tmp_path / serve[serve.index("--data-dir") + 1], cwd=tmp_path)
    try:
        assert query[0] == "psql"
        out = run(["psql", server.dsn(), "-X", "-w", "-v", "ON_ERROR_STOP=1", *query[2:]],
                  tmp_path)
    finally:
        log = server.stop()
    assert "Traceback" not in log, log
    assert re.search(r"^ region \| events $", out, re.M)
    assert re.search(r"^ eu +\| +500$", out, re.M)
    assert re.search(r"^ EUR +\| +1$", out, re.M)
    assert re.search(r"^ USD +\| +0\.92$", out, re.M)
