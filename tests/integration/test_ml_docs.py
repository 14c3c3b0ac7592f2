"""docs/ml.md's worked example runs as written on the demo project (its migrations, with
the demo model of V6, and the shipped extensions), and does what the page says."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from server import start_server

pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ml.md"


def statements() -> list[str]:
    block = re.findall(r"^```sql\n(.*?)^```", DOC.read_text(), re.S | re.M)[0]
    text = "\n".join(line for line in block.splitlines() if not line.startswith("--"))
    return [s.strip() for s in text.split(";\n") if s.strip()]


@pytest.mark.slow  # the demo migrations and five trainings: about a minute, loaded
def test_the_worked_example_runs_on_the_demo_project(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "migrations", tmp_path / "migrations")
    shutil.copytree(ROOT / "extensions", tmp_path / "extensions")
    done = subprocess.run(
        [sys.executable, "-m", "forge_sql", "migrate", "--dir", "migrations",
         "--data-dir", "data"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "applied V6__order_size_model.sql" in done.stdout + done.stderr
    server = start_server(tmp_path / "data", cwd=tmp_path)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            results = []
            for sql in statements():
                cursor = conn.execute(sql)
                results.append(cursor.fetchall() if cursor.description else [])
            classifier, regressor, evaluated, explained = results[:4]
            assert {r[3] for r in classifier} >= {"accuracy", "f1", "roc_auc", "log_loss"}
            assert {r[3] for r in regressor} == {"r2", "mae", "rmse"}
            assert {r[0] for r in evaluated} == {"r2", "mae", "rmse"}
            assert {r[0] for r in explained} == {"category", "price", "city", "signed_up"}
            forecast = results[5]
            assert len(forecast) == 5 and all(r[1] is not None for r in forecast)
            worse = results[6]
            assert {r[3] for r in worse} == {False}  # scored worse: not deployed
            first = regressor[0][1]
            deployed, rolled_back = results[7][0][0], results[8][0][0]
            assert deployed == worse[0][0] != first
            assert rolled_back == first
            listed = results[9]
            assert ("order_size", True) in {(r[0], r[3]) for r in listed}  # the demo model
            assert {(r[0], r[1]) for r in listed if r[3]} >= {("line_revenue", first)}
    finally:
        server.stop()
