"""The versions of the clients the tests drive, printed in the test run's header."""

from __future__ import annotations

import json
import subprocess
import zipfile
from importlib import metadata
from pathlib import Path

PYTHON_CLIENTS = ["psycopg", "psycopg2-binary", "asyncpg", "pg8000", "SQLAlchemy", "pandas",
                  "polars", "adbc-driver-postgresql"]
PGJDBC = Path("/usr/share/java/postgresql.jar")
NODE_PG = Path(__file__).resolve().parents[2] / "clients" / "node" / "node_modules" / "pg"


def _program(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except OSError:
        return "not installed"
    return (done.stdout or done.stderr).strip().splitlines()[0]


def _pgjdbc() -> str:
    try:
        with zipfile.ZipFile(PGJDBC) as jar:
            manifest = jar.read("META-INF/MANIFEST.MF").decode()
    except OSError:
        return "not installed"
    for line in manifest.splitlines():
        if line.startswith("Implementation-Version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _node_pg() -> str:
    try:
        return str(json.loads((NODE_PG / "package.json").read_text())["version"])
    except OSError:
        return "not installed"


def report() -> list[str]:
    """One line per client: Python packages, then the programs and their drivers."""
    python = []
    for name in PYTHON_CLIENTS:
        try:
            python.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            python.append(f"{name} not installed")
    return [
        "clients: " + ", ".join(python),
        f"clients: pgjdbc {_pgjdbc()} on {_program('javac', '-version')}, node-postgres"
        f" {_node_pg()} on node {_program('node', '--version')}, {_program('psql', '--version')}",
    ]
