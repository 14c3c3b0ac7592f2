"""Each `forge-sql migrate` command, and the same results offline and through a server."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from migrate_project import Project, both, offline, online, project

from forge_sql.cli import main

__all__ = ["both", "offline", "online"]

REPO_MIGRATIONS = Path(__file__).parents[2] / "migrations"


def _scenario(p: Project) -> None:
    p.write("V1__customers.yaml", """
        table: customers
        description: People who order.
        columns:
          - {name: id, type: BIGINT}
          - {name: mail, type: VARCHAR}
        primary_key: [id]
        unique: [[mail]]
    """)
    p.write("V2__seed.py", """
        def up(conn):
            conn.executemany("INSERT INTO customers VALUES ($1, $2)",
                             [(i, f"c{i}@x") for i in range(1, 11)])
    """)
    p.write("V3__orders.sql", """
        CREATE TABLE orders (id INT, customer_id BIGINT);
        INSERT INTO orders SELECT i, i % 10 + 1 FROM range(100) t(i);
    """)
    p.write("R__report.sql", """
        CREATE OR REPLACE VIEW report AS
        SELECT c.mail, count(*) AS n FROM orders o JOIN customers c ON c.id = o.customer_id
        GROUP BY c.mail;
    """)


def _comparable(status: dict[str, list[dict[str, object]]]) -> list[tuple[object, ...]]:
    return [(m["state"], m["version"], m["name"], m["kind"], m["checksum"])
            for m in status["migrations"]]


def test_offline_and_online_give_the_same_results(tmp_path: Path) -> None:
    outcomes = []
    for mode in ("offline", "online"):
        p = project(tmp_path / mode, mode)
        try:
            _scenario(p)
            plan = p.json("plan")
            applied = p.json()
            after = p.json("status")
            rows = p.query("SELECT * FROM report ORDER BY mail")
            valid = p.json("validate")
        finally:
            p.stop()
        outcomes.append((plan, [a["script"] for a in applied["applied"]], _comparable(after),
                         rows, valid))
    assert outcomes[0] == outcomes[1]
    plan, applied, after, rows, valid = outcomes[0]
    assert [s["script"] for s in plan["pending"]] == [
        "V1__customers.yaml", "V2__seed.py", "V3__orders.sql", "R__report.sql"
    ]
    assert applied == ["V1__customers.yaml", "V2__seed.py", "V3__orders.sql", "R__report.sql"]
    assert {s[0] for s in after} == {"applied"}
    assert ("c1@x", 10) in rows and len(rows) == 10
    assert valid == {"valid": True, "problems": []}


def test_plan_changes_nothing(online: Project) -> None:
    _scenario(online)
    plan = online.json("plan")["pending"]
    yaml_step = plan[0]
    assert yaml_step["statements"][1] == (
        'CREATE TABLE "public"."customers" ("id" BIGINT NOT NULL, "mail" VARCHAR)'
    )
    assert plan[2]["statements"] == [
        "CREATE TABLE orders (id INT, customer_id BIGINT)",
        "INSERT INTO orders SELECT i, i % 10 + 1 FROM range(100) t(i)",
    ]
    text = online.run("plan").stdout
    assert text.startswith("-- V1__customers.yaml\n")
    assert online.history() == []
    assert online.query("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'public'") == [
        (0,)
    ]


def test_status_lists_states_and_exit_code(online: Project) -> None:
    _scenario(online)
    assert online.run("status", "--exit-code", code=1).stdout.startswith("pending")
    online.run()
    status = online.json("status", "--exit-code")
    assert [m["state"] for m in status["migrations"]] == ["applied"] * 4
    entry = status["migrations"][0]
    assert entry["applied_checksum"] == entry["checksum"] and len(entry["checksum"]) == 64
    assert entry["installed_by"] and entry["installed_at"] and entry["duration_ms"] >= 0


def test_json_output_is_quiet_and_parseable(online: Project) -> None:
    _scenario(online)
    result = online.run("--json")
    assert result.stderr == ""
    applied = json.loads(result.stdout)["applied"]
    assert applied[0]["script"] == "V1__customers.yaml" and len(applied) == 4
    failed = online.run("down", "--to", "0", "--json", code=1)
    assert "error" in json.loads(failed.stdout)


def test_validate_reports_drift_and_key_violations(online: Project) -> None:
    _scenario(online)
    online.run()
    online.write("V4__outside.sql", """
        INSERT INTO customers VALUES (1, 'again@x'), (NULL, 'c2@x');
        ALTER TABLE customers ADD COLUMN extra INT;
    """)
    # NULL in the primary key column is refused by the storage (NOT NULL is enforced).
    assert "NOT NULL constraint failed" in online.run(code=1).stderr
    online.write("V4__outside.sql", """
        INSERT INTO customers VALUES (1, 'again@x'), (11, 'c2@x');
        ALTER TABLE customers ADD COLUMN extra INT;
    """)
    online.run()
    problems = online.json("validate", code=1)["problems"]
    messages = sorted(p["message"] for p in problems)
    assert messages == [
        "public.customers.extra: in the catalog, not declared",
        "public.customers: customers_mail_key: 1 duplicated unique key value(s) (mail), "
        "e.g. (c2@x)",
        "public.customers: customers_pkey: 1 duplicated primary key value(s) (id), e.g. (1)",
    ]


def test_validate_reports_failing_checks(online: Project) -> None:
    online.write("V1__p.yaml", """
        table: p
        columns:
          - {name: price, type: INTEGER}
        checks:
          - {name: price_positive, expression: price > 0}
    """)
    online.write("V2__rows.sql", "INSERT INTO p VALUES (1), (-1), (-2), (NULL);\n")
    online.run()
    problems = online.json("validate", code=1)["problems"]
    assert problems == [{"kind": "violation", "message":
                         "public.p: price_positive: 2 row(s) fail CHECK (price > 0)"}]


def test_yaml_errors_point_at_file_line_and_column(offline: Project) -> None:
    offline.write("V1__bad.yaml", """
        table: t
        columns:
          - name: a
            type: INTEGER
          - name: b
            typ: VARCHAR
          - name: c
            type: NOPE
    """)
    result = offline.run(code=1)
    path = offline.migrations / "V1__bad.yaml"
    assert f"{path}:6:5: columns[1].typ: unknown key 'typ'" in result.stderr
    assert f"{path}:5:5: columns[1].type: missing key 'type'" in result.stderr
    assert f"{path}:8:11: columns[2].type: unknown type 'NOPE'" in result.stderr
    assert offline.history() == []


def test_new_creates_the_next_file_of_each_kind(offline: Project) -> None:
    offline.migrations.mkdir()
    made = [offline.run("new", "Add customers", flag).stdout.strip()
            for flag in ("--yaml", "--sql", "--py")]
    assert [Path(m).name for m in made] == [
        "V1__add_customers.yaml", "V2__add_customers.sql", "V3__add_customers.py"
    ]
    stamped = Path(offline.run("new", "later", "--timestamp").stdout.strip()).name
    assert stamped.startswith("V20") and stamped.endswith("__later.sql")
    # The templates are valid migrations.
    offline.run()
    assert [r[2] for r in offline.history()] == ["yaml", "sql", "py", "sql"]
    assert offline.query("SELECT column_name FROM duckdb_columns() "
                         "WHERE table_name = 'add_customers'") == [("id",)]


def test_baseline_skips_what_the_database_already_has(online: Project) -> None:
    online.write("V1__a.sql", "CREATE TABLE a (x INT);\n")
    online.write("V2__b.sql", "CREATE TABLE b (x INT);\n")
    online.write("V3__c.sql", "CREATE TABLE c (x INT);\n")
    assert "baseline at version 2" in online.run("baseline", "--version", "2").stdout
    states = [m["state"] for m in online.json("status")["migrations"]]
    assert states == ["baseline", "below-baseline", "below-baseline", "pending"]
    assert "applied V3__c.sql" in online.run().stdout
    assert "already has versioned" in online.run("baseline", "--version", "5", code=1).stderr


def test_lint_flags_destructive_and_data_dependent_changes(offline: Project) -> None:
    offline.write("V1__t.yaml", """
        table: t
        columns:
          - {name: a, type: INTEGER}
          - {name: b, type: VARCHAR}
    """)
    offline.write("V2__t.yaml", """
        table: t
        columns:
          - {name: a, type: BIGINT, nullable: false}
    """)
    offline.write("V3__cleanup.sql", """
        UPDATE t SET a = 0 WHERE a IS NULL;
        DELETE FROM t;
    """)
    result = offline.run("lint", code=1)
    assert result.stdout.splitlines() == [
        "V2__t.yaml: data-dependent: public.t.a NOT NULL",
        "V2__t.yaml: destructive: drop column public.t.b",
        "V3__cleanup.sql:1: data-dependent: changes existing rows: "
        "UPDATE t SET a = 0 WHERE a IS NULL",
        "V3__cleanup.sql:2: destructive: deletes every row: DELETE FROM t",
    ]
    assert offline.run("lint", "--since", "1", "--json", code=1).stdout.count('"script"') == 4
    offline.write("V3__cleanup.sql", "UPDATE t SET a = 0 WHERE a IS NULL;\n")
    (offline.migrations / "V2__t.yaml").unlink()
    assert offline.run("lint").stdout.startswith("V3__cleanup.sql:1: data-dependent")
    offline.run("lint", "--strict", code=1)


def test_help_explains_each_command() -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["migrate", "--help"]).stdout
    for command in ("plan", "status", "validate", "new", "baseline", "down", "lint", "repair"):
        assert f"  {command} " in text
    assert "--allow-destructive" in text and "--url" in text and "--data-dir" in text
    down = runner.invoke(main, ["migrate", "down", "--help"]).stdout
    assert "--to" in down and "migrate:down" in down


@pytest.mark.timeout(300)  # V6 trains the demo model (scikit-learn's import and a fit)
def test_repo_demo_schema_applies_as_in_the_quickstart(offline: Project) -> None:
    shutil.copytree(REPO_MIGRATIONS, offline.migrations)
    applied = [a["script"] for a in offline.json()["applied"]]
    assert applied[0] == "V1__customers.yaml" and applied[-1] == "R__reporting.sql"
    assert offline.json("validate") == {"valid": True, "problems": []}
    rows = offline.query(
        "SELECT count(*), sum(order_lines), (SELECT list(column_name ORDER BY column_index) "
        "FROM duckdb_columns() WHERE table_name = 'customers') FROM revenue_by_city"
    )
    assert rows == [(8, 5000, ["id", "name", "email", "city", "signed_up", "segment"])]
    # The view calling the example extension's slugify (migrate loads the extensions).
    pages = offline.query("SELECT title, slug FROM product_pages")
    assert pages and all(slug == "-".join(
        "".join(c if c.isalnum() else " " for c in title.lower()).split())
        for title, slug in pages if title.isascii())
    assert offline.run().stdout.strip() == "nothing to apply: up to date"
    # V6 trained the demo model with the shipped ML extension (docs/ml.md).
    assert (offline.data_dir / "lake" / "_forge_extensions" / "ml" / "projects" / "order_size"
            / "project.json").is_file()


def test_progress_on_a_terminal(offline: Project) -> None:
    offline.write("V1__a.sql", "CREATE TABLE a (x INT);\n")
    offline.write("V2__b.sql", "CREATE TABLE b (x INT);\n")
    primary, secondary = pty.openpty()
    process = subprocess.Popen(offline.command(), stdout=subprocess.PIPE, stderr=secondary,
                               text=True)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    lines = seen.decode().replace("\r\n", "\n").splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "[1/2] V1__a.sql ... done", "[2/2] V2__b.sql ... done"
    ]
    assert out.splitlines()[0].startswith("applied V1__a.sql (")
