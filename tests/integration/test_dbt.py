"""dbt (dbt-core with dbt-postgres, installed by ``make install-test`` in .venv-dbt) over
forge-sql: the project in dbt_project/ builds, tests, snapshots and documents the same
tables as on PostgreSQL (issue 16), and ``dbt run --threads 4`` over independent table
models, again and again, keeps every run whole (issue 14's table-swap workload)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from clients.programs import require_file
from postgres import PostgresServer, postgres  # noqa: F401
from psycopg import sql
from server import RunningServer

ROOT = Path(__file__).resolve().parents[2]
DBT = ROOT / ".venv-dbt" / "bin" / "dbt"
PROJECT = Path(__file__).parent / "dbt_project"
# Columns a check-strategy snapshot fills from the time it ran (now()): the servers ran at
# other times, so only whether each is set is compared.
SNAPSHOT_TIMES = {"dbt_valid_from", "dbt_valid_to", "dbt_updated_at", "dbt_scd_id"}
# DuckDB has one string type, VARCHAR, which the catalog shows as character varying where
# PostgreSQL has text (dbt's seeds and string expressions): the known difference "text
# announced as varchar" (docs/compatibility.md), compared here as one type.
SAME_TYPE = {"character varying": "text"}


@dataclass(frozen=True)
class Target:
    """A database and schema dbt builds into."""

    host: str
    port: int
    user: str
    dbname: str
    schema: str

    def dsn(self) -> str:
        return f"host={self.host} port={self.port} dbname={self.dbname} user={self.user}"


class Project:
    """A copy of a dbt project with a profiles.yml for ``target``, run with the dbt CLI."""

    def __init__(self, directory: Path, target: Target, source: Path = PROJECT,
                 threads: int = 1) -> None:
        shutil.copytree(source, directory)
        self.directory = directory
        self.target = target
        (directory / "profiles.yml").write_text(
            "forge_check:\n"
            "  target: check\n"
            "  outputs:\n"
            "    check:\n"
            "      type: postgres\n"
            f"      host: {target.host}\n"
            f"      port: {target.port}\n"
            f"      user: {target.user}\n"
            "      password: ''\n"
            f"      dbname: {target.dbname}\n"
            f"      schema: {target.schema}\n"
            f"      threads: {threads}\n"
            "      connect_timeout: 10\n"
        )

    def dbt(self, *args: str, timeout: float = 600) -> list[dict[str, Any]]:
        """Run ``dbt args``; it must exit 0. The results of run_results.json."""
        results = self.directory / "target" / "run_results.json"
        results.unlink(missing_ok=True)
        done = subprocess.run(
            [str(DBT), *args, "--profiles-dir", str(self.directory),
             "--project-dir", str(self.directory)],
            capture_output=True, text=True, timeout=timeout, cwd=self.directory,
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                 "DBT_VERSION_CHECK": "false", "DBT_USE_COLORS": "false"},
        )
        assert done.returncode == 0, (
            f"dbt {' '.join(args)} exited {done.returncode}:\n{done.stdout[-6000:]}"
            f"\n{done.stderr[-2000:]}"
        )
        if not results.exists():
            return []
        found: list[dict[str, Any]] = json.loads(results.read_text())["results"]
        return found

    def replace_seeds(self) -> None:
        """The source changes: rows updated and added (dbt_project/changed_seeds)."""
        for csv in (self.directory / "changed_seeds").glob("*.csv"):
            shutil.copy(csv, self.directory / "seeds" / csv.name)


def _dbt() -> Path:
    return require_file(DBT, "dbt (tests/integration/dbt_project/requirements.txt)")


def _statuses(results: list[dict[str, Any]]) -> dict[str, str]:
    return {r["unique_id"]: r["status"] for r in results}


@pytest.fixture
def forge_target(server: RunningServer) -> Target:
    return Target(server.host, server.port, "forge", server.database,
                  f"dbt_{uuid.uuid4().hex[:8]}")


@pytest.fixture
def postgres_target(postgres: PostgresServer) -> Iterator[Target]:  # noqa: F811
    name = f"dbt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield Target("127.0.0.1", postgres.port, "postgres", name, name)
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_build_seeds_models_tests_and_snapshots(forge_target: Target, tmp_path: Path) -> None:
    """One ``dbt build``: seeds, a view, a table, a view over the table, incremental models
    of each strategy, generic tests and both kinds of snapshot, all on forge-sql."""
    _dbt()
    project = Project(tmp_path / "project", forge_target)
    statuses = _statuses(project.dbt("build"))
    kinds = {uid.split(".")[0] for uid in statuses}
    assert kinds == {"seed", "model", "test", "snapshot"}, statuses
    assert len(statuses) == 2 + 6 + 9 + 2, statuses
    assert set(statuses.values()) <= {"success", "pass"}, statuses
    with psycopg.connect(forge_target.dsn()) as conn:
        totals = conn.execute(sql.SQL(
            "SELECT customer_id, order_count, total_cents FROM {}.customer_totals "
            "ORDER BY customer_id"
        ).format(sql.Identifier(forge_target.schema))).fetchall()
    assert totals == [(1, 2, 1649), (2, 1, 10000), (3, 1, 725), (4, 1, 50), (5, 1, 123456)]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_step_builds_what_postgresql_builds(
        forge_target: Target, postgres_target: Target, tmp_path: Path) -> None:
    """seed, run, test, snapshot, a changed source, seed, run (incremental), snapshot again,
    run --full-refresh and docs generate, on both servers: the same results, relations,
    column types, rows and documented columns."""
    _dbt()
    outcomes: dict[str, list[dict[str, str]]] = {}
    tables: dict[str, dict[str, Any]] = {}
    catalogs: dict[str, dict[str, Any]] = {}
    for label, target in (("forge-sql", forge_target), ("postgresql", postgres_target)):
        project = Project(tmp_path / label, target)
        steps: list[dict[str, str]] = []
        for step in (("seed",), ("run",), ("test",), ("snapshot",), None, ("seed",),
                     ("run",), ("snapshot",), ("run", "--full-refresh"),
                     ("docs", "generate")):
            if step is None:
                project.replace_seeds()
                continue
            statuses = _statuses(project.dbt(*step))
            if step != ("docs", "generate"):
                assert statuses, step
                assert set(statuses.values()) <= {"success", "pass"}, (label, step, statuses)
            steps.append(statuses)
        outcomes[label] = steps
        tables[label] = _relations(target)
        catalogs[label] = _catalog_columns(project.directory / "target" / "catalog.json")
    assert outcomes["forge-sql"] == outcomes["postgresql"]
    assert sorted(tables["forge-sql"]) == sorted(tables["postgresql"])
    differences = [
        f"{name}:\n  forge-sql  {tables['forge-sql'][name]}\n  postgresql {expected}"
        for name, expected in tables["postgresql"].items()
        if tables["forge-sql"][name] != expected
    ]
    differences += [
        f"catalog.json {uid}:\n  forge-sql  {catalogs['forge-sql'].get(uid)}\n"
        f"  postgresql {expected}"
        for uid, expected in catalogs["postgresql"].items()
        if catalogs["forge-sql"].get(uid) != expected
    ]
    assert not differences, "\n".join(differences)


def _relations(target: Target) -> dict[str, Any]:
    """Every relation of the target schema: its kind, columns with their types, rows in
    order (check snapshot times as set or not)."""
    found: dict[str, Any] = {}
    with psycopg.connect(target.dsn()) as conn:
        listed = conn.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = %s ORDER BY table_name", [target.schema]
        ).fetchall()
        for name, kind in listed:
            columns = [(column, SAME_TYPE.get(kind, kind)) for column, kind in conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                [target.schema, name],
            ).fetchall()]
            order = sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(columns)))
            rows = conn.execute(sql.SQL("SELECT * FROM {}.{} ORDER BY {}").format(
                sql.Identifier(target.schema), sql.Identifier(name), order
            )).fetchall()
            if name == "customers_snapshot":
                timed = [i for i, (column, _) in enumerate(columns) if column in SNAPSHOT_TIMES]
                rows = [tuple(v is not None if i in timed else v for i, v in enumerate(row))
                        for row in rows]
            found[name] = (kind, columns, rows)
    return found


def _catalog_columns(path: Path) -> dict[str, Any]:
    """catalog.json's nodes: each relation's columns (name, type, index, comment)."""
    catalog = json.loads(path.read_text())
    assert not catalog.get("errors"), catalog["errors"]
    return {
        uid: {
            name: (SAME_TYPE.get(c["type"], c["type"]), c["index"], c["comment"])
            for name, c in node["columns"].items()
        }
        for uid, node in catalog["nodes"].items()
    }


# -- issue 14: the table-swap workload as dbt runs it ----------------------------------------
MODELS = 6
RUNS = 20


def _swap_project(directory: Path) -> Path:
    """Independent table models: dbt builds each as x__dbt_tmp, renames x away, renames
    the new one in and drops the old, up to four at once."""
    (directory / "models").mkdir(parents=True)
    (directory / "dbt_project.yml").write_text(
        "name: forge_check\nversion: '1.0'\nconfig-version: 2\nprofile: forge_check\n"
        "models:\n  forge_check:\n    +materialized: table\n"
    )
    for n in range(1, MODELS + 1):
        (directory / "models" / f"swap_{n}.sql").write_text(
            f"select {n} as model, g.i as position, g.i * {n} as product "
            "from generate_series(1, 100) as g(i)\n"
        )
    return directory


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_issue_14_table_swap_workload_as_dbt_run_threads_4(
        server: RunningServer, forge_target: Target, tmp_path: Path) -> None:
    """Issue 14's workload: ``dbt run --threads 4`` over six table models, twenty times.
    Every run succeeds, the server stays up and each table holds its model's rows."""
    _dbt()
    source = _swap_project(tmp_path / "source")
    project = Project(tmp_path / "project", forge_target, source=source, threads=4)
    for run in range(RUNS):
        statuses = _statuses(project.dbt("run", "--threads", "4"))
        assert len(statuses) == MODELS, (run, statuses)
        assert set(statuses.values()) == {"success"}, (run, statuses)
    assert server.process.poll() is None
    with psycopg.connect(forge_target.dsn()) as conn:
        for n in range(1, MODELS + 1):
            count, total, models = conn.execute(sql.SQL(
                "SELECT count(*), sum(product), count(DISTINCT model) FROM {}.{}"
            ).format(sql.Identifier(forge_target.schema), sql.Identifier(f"swap_{n}"))
            ).fetchone() or (None, None, None)
            assert (count, total, models) == (100, n * 5050, 1), n
        left = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name LIKE '%%dbt%%'", [forge_target.schema]
        ).fetchall()
    assert left == []  # no __dbt_tmp or __dbt_backup relation stays behind
