"""External datasets declared in a YAML migration: applied offline and online, queried through
the server with partition pruning, rolled back, and kept out of reach of ordinary clients."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from external_files import REGIONS, assert_pruned, corrupt_region, write_datasets
from migrate_project import Project, offline, online, project
from psycopg import errors as pgerrors
from server import start_server

from forge_sql.wire.auth import make_verifier

__all__ = ["offline", "online"]

# Relative paths are taken from the migrations directory (<root>/migrations).
DATASETS = """
external:
  - name: events
    path: ../files/events/**/*.parquet
    hive_partitioning: true
  - name: rates
    path: ../files/rates/rates.csv
    format: csv
    options: {delim: ";", header: true}
  - name: logs
    schema: raw
    path: ../files/logs/*.json
    format: json
"""
QUIET = "[maintenance]\ninterval = 0\n"


def files_of(made: Project) -> Path:
    root = made.root / "files"
    if not root.exists():
        write_datasets(root)
    return root


def check_datasets(conn: psycopg.Connection) -> None:
    assert conn.execute(
        "SELECT region, count(*), sum(amount) FROM events GROUP BY region ORDER BY region"
    ).fetchall() == [
        (r, 100, sum(i / 4 for i in range(300) if REGIONS[i % 3] == r)) for r in sorted(REGIONS)
    ]
    assert conn.execute("SELECT code, rate FROM rates ORDER BY code").fetchall() == [
        ("EUR", 1.0), ("USD", 0.92),
    ]
    assert conn.execute("SELECT day, level, n FROM raw.logs ORDER BY day, level").fetchall() == [
        (1, "info", 10), (1, "warn", 11), (2, "info", 20), (2, "warn", 21),
    ]


def test_offline_apply_then_serve_with_partition_pruning(offline: Project) -> None:
    root = files_of(offline)
    offline.write("V1__datasets.yaml", DATASETS)
    plan = offline.run("plan").stdout
    assert "CREATE OR REPLACE VIEW \"public\".\"events\" AS SELECT * FROM read_parquet(" in plan
    assert f"'{root}/events/**/*.parquet', hive_partitioning = true" in plan
    offline.run()
    (root / "secret.csv").write_text("a\n1\n")
    server = start_server(offline.data_dir, config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            check_datasets(conn)
            explained = "\n".join(r[1] for r in conn.execute(
                "EXPLAIN ANALYZE SELECT sum(amount) FROM events "
                "WHERE region = 'eu' AND year = 2025"
            ).fetchall())
            assert "Total Files Read: 1" in explained
            assert "Scanning Files: 1/6" in explained
            # The sandbox opened to the datasets' directories, no wider.
            with pytest.raises(pgerrors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM read_csv('{root}/secret.csv')")
            with pytest.raises(pgerrors.InsufficientPrivilege):
                conn.execute("SELECT * FROM read_csv('/etc/passwd')")
            assert conn.execute(
                "SELECT schema_name, view_name, path, declared_in FROM "
                "forge_meta.external_datasets ORDER BY view_name"
            ).fetchall() == [
                ("public", "events", f"{root}/events/**/*.parquet", "V1__datasets.yaml"),
                ("raw", "logs", f"{root}/logs/*.json", "V1__datasets.yaml"),
                ("public", "rates", f"{root}/rates/rates.csv", "V1__datasets.yaml"),
            ]
    finally:
        assert "Traceback" not in server.stop()
    # Pruning, shown by files that cannot be read: a filter on the partition key never
    # opens them, a query that needs them fails.
    corrupt_region(root, "us")
    server = start_server(offline.data_dir, config=QUIET)
    try:
        assert_pruned(server.dsn(), "SELECT count(*) FROM events")
    finally:
        server.stop()


def test_online_apply_replace_drop_and_down(tmp_path: Path) -> None:
    made = project(tmp_path, "offline")
    root = files_of(made)
    made.server = start_server(made.data_dir, config=f'external_directories = ["{root}"]\n' + QUIET)
    try:
        made.write("V1__datasets.yaml", DATASETS)
        made.write("V2__rates_and_logs.yaml", """
            external:
              - name: rates
                path: ../files/extra/codes.csv
                format: csv
              - name: logs
                schema: raw
                drop: true
        """)
        made.run()
        assert made.query("SELECT code, label FROM rates ORDER BY code") == [
            (1, "one"), (2, "two"),
        ]
        with pytest.raises(psycopg.errors.UndefinedTable):
            made.query("SELECT * FROM raw.logs")
        assert made.json("validate")["problems"] == []
        made.run("down", "--to", "1")
        with psycopg.connect(made.server.dsn(), autocommit=True) as conn:
            check_datasets(conn)
        made.run("down", "--to", "0")
        assert made.query(
            "SELECT count(*) FROM duckdb_views() WHERE view_name IN ('events', 'rates', 'logs')"
        ) == [(0,)]
        assert made.query("SELECT count(*) FROM forge_meta.external_datasets") == [(0,)]
        made.run()
        # Drift: a view dropped by hand is reported.
        with psycopg.connect(made.server.dsn(), autocommit=True) as conn:
            conn.execute("DROP VIEW rates")
        problems = made.json("validate", code=1)["problems"]
        assert [p["message"] for p in problems] == [
            "public.rates: external dataset declared, but the view is missing from the catalog"
        ]
    finally:
        made.stop()
    # The server started afterwards reads the recorded datasets with no config for them.
    server = start_server(made.data_dir, config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM events").fetchone() == (300,)
    finally:
        server.stop()


def test_online_apply_outside_the_servers_sandbox_is_refused_whole(online: Project) -> None:
    files_of(online)
    online.write("V1__datasets.yaml", DATASETS)
    result = online.run(code=1)
    assert "Cannot access file" in result.stderr
    assert "apply this migration offline (--data-dir, server stopped)" in result.stderr
    assert online.history() == []
    assert online.query("SELECT count(*) FROM forge_meta.external_datasets") == [(0,)]
    # Offline, with the server stopped, it applies; the restarted server reads it.
    online.stop()
    online.server = None
    online.run()
    online.server = start_server(online.data_dir, config=QUIET)
    with psycopg.connect(online.server.dsn(), autocommit=True) as conn:
        check_datasets(conn)
    # The restarted server reads the recorded directories: a dataset within one of them
    # can now be declared online.
    online.write("V2__eu.yaml", """
        external:
          - name: events_eu
            path: ../files/events/region=eu/**/*.parquet
            hive_partitioning: true
    """)
    online.run()
    assert online.query("SELECT count(*), min(id) FROM events_eu") == [(100, 0)]


def test_ordinary_clients_cannot_widen_the_sandbox(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "s.csv").write_text("password\nhunter2\n")
    config = QUIET + "".join(
        f'[users.{name}]\npassword = "{make_verifier("pw")}"\nsuperuser = {str(admin).lower()}\n'
        for name, admin in (("alice", True), ("bob", False))
    )
    data_dir = tmp_path / "data"
    server = start_server(data_dir, config=config)
    row = f"('public', 'leak', '{secret}/s.csv', 'x', 'V1__x.yaml')"
    columns = "(schema_name, view_name, path, definition, declared_in)"
    try:
        with psycopg.connect(server.dsn(user="bob", password="pw"), autocommit=True) as bob:
            for sql in (
                f"INSERT INTO forge_meta.external_datasets {columns} VALUES {row}",
                f'INSERT INTO forge.forge_meta."External_Datasets" {columns} VALUES {row}',
                f"UPDATE forge_meta.external_datasets SET path = '{secret}/s.csv'",
                "DELETE FROM forge_meta.external_datasets",
                "DROP TABLE forge_meta.external_datasets",
                f"EXPLAIN ANALYZE INSERT INTO forge_meta.external_datasets {columns} "
                f"VALUES {row}",
                "COPY forge_meta.external_datasets FROM STDIN",
            ):
                with pytest.raises(pgerrors.InsufficientPrivilege,
                                   match=r"external datasets are declared by migrations|"
                                   r"forge_meta"):
                    bob.execute(sql)
            # The server's bookkeeping is not readable by other roles either.
            with pytest.raises(pgerrors.InsufficientPrivilege, match="forge_meta"):
                bob.execute("SELECT count(*) FROM forge_meta.external_datasets")
            with pytest.raises(pgerrors.InsufficientPrivilege):
                bob.execute(f"SELECT * FROM read_csv('{secret}/s.csv')")
    finally:
        server.stop()
    server = start_server(data_dir, config=config)
    try:
        with (psycopg.connect(server.dsn(user="bob", password="pw"), autocommit=True) as bob,
              pytest.raises(pgerrors.InsufficientPrivilege)):
            bob.execute(f"SELECT * FROM read_csv('{secret}/s.csv')")
    finally:
        assert "Traceback" not in server.stop()
    # The operator declares it offline (with the same config, users included); from the
    # next start every client reads it through the view.
    made = Project(tmp_path, "offline")
    made.write("V1__secret.yaml", f"""
        external:
          - name: shared
            path: {secret}/s.csv
            format: csv
    """)
    made.run("--config", str(tmp_path / "data.toml"))
    server = start_server(data_dir, config=config)
    try:
        with psycopg.connect(server.dsn(user="bob", password="pw"), autocommit=True) as bob:
            assert bob.execute("SELECT password FROM shared").fetchall() == [("hunter2",)]
            with pytest.raises(pgerrors.InsufficientPrivilege,
                               match=r"declared by migrations run by a superuser|"
                               r"permission denied for schema forge_meta"):
                bob.execute("DELETE FROM forge_meta.external_datasets")
    finally:
        assert "Traceback" not in server.stop()


def test_lint_warns_about_a_path_with_no_file(tmp_path: Path) -> None:
    made = project(tmp_path, "offline")
    made.write("V1__datasets.yaml", DATASETS)
    found = made.json("lint")["findings"]
    assert [f["summary"].split(":")[0] for f in found] == [
        f"external dataset {n}" for n in ("public.events", "public.rates", "raw.logs")
    ]
    assert all(f["risk"] == "data-dependent" for f in found)
    assert made.run("lint", "--strict", code=1)
    files_of(made)
    assert made.json("lint")["findings"] == []
