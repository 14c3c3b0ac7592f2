"""`forge-sql migrate` guarantees: atomic migrations, checksums, ordering, destructive
changes, rollback, and catalog-only schema changes, offline and through a server."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from migrate_project import Project, both, both_slow_offline, online

__all__ = ["both", "both_slow_offline", "online"]

CUSTOMERS = """
    table: customers
    columns:
      - name: id
        type: BIGINT
      - name: name
        type: VARCHAR
    primary_key: [id]
"""


def test_failure_in_the_middle_leaves_nothing_of_the_migration(both_slow_offline: Project) -> None:
    both = both_slow_offline
    both.write("V1__customers.yaml", CUSTOMERS)
    both.write("V2__orders.sql", """
        CREATE TABLE orders (id BIGINT, customer_id BIGINT);
        INSERT INTO orders VALUES (1, 1);
        INSERT INTO orders VALUES (2, 'not a number');
        CREATE TABLE after_failure (x INT);
    """)
    result = both.run(code=1)
    # The error names the file, the line and the statement that failed.
    assert "V2__orders.sql:3:" in result.stderr
    assert "INSERT INTO orders VALUES (2, 'not a number')" in result.stderr
    assert "nothing of V2__orders.sql was applied" in result.stderr
    assert both.history() == [("1", "customers", "yaml")]
    tables = both.query("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'public' "
                        "ORDER BY 1")
    assert tables == [("customers",)]
    # No dirty state: fix the file and run again.
    both.write("V2__orders.sql", """
        CREATE TABLE orders (id BIGINT, customer_id BIGINT);
        INSERT INTO orders VALUES (1, 1), (2, 2);
    """)
    assert "applied V2__orders.sql" in both.run().stdout
    assert both.query("SELECT count(*) FROM orders") == [(2,)]
    assert [r[1] for r in both.history()] == ["customers", "orders"]


def test_python_migration_failure_rolls_back_its_rows(both_slow_offline: Project) -> None:
    both = both_slow_offline
    both.write("V1__customers.yaml", CUSTOMERS)
    both.write("V2__seed.py", """
        def up(conn):
            conn.executemany("INSERT INTO customers VALUES ($1, $2)", [(1, "a"), (2, "b")])
            conn.execute("INSERT INTO customers VALUES ($1, $2)", [3, "c"])
            raise RuntimeError("seed data is wrong")
    """)
    result = both.run(code=1)
    assert "V2__seed.py:4: up() failed: RuntimeError: seed data is wrong" in result.stderr
    assert both.query("SELECT count(*) FROM customers") == [(0,)]
    assert [r[1] for r in both.history()] == ["customers"]


def test_edited_applied_file_fails_until_repair(online: Project) -> None:
    path = online.write("V1__t.sql", "CREATE TABLE t (a INT);\n")
    online.run()
    path.write_text("CREATE TABLE t (a INT, b INT);\n")
    online.write("V2__u.sql", "CREATE TABLE u (a INT);\n")
    refused = online.run(code=1)
    assert "V1__t.sql was changed after it was applied" in refused.stderr
    problems = online.json("validate", code=1)["problems"]
    assert {"kind": "checksum", "message": problems[0]["message"]} == problems[0]
    assert "V1__t.sql" in problems[0]["message"]
    assert online.json("status", code=0)["migrations"][0]["state"] == "changed"
    assert online.run("status", "--exit-code", code=2)
    # V2 was not applied while V1 was in doubt.
    assert [r[1] for r in online.history()] == ["t"]
    assert "accepted the new checksum of V1__t.sql" in online.run("repair").stdout
    online.run("validate")
    assert "applied V2__u.sql" in online.run().stdout


def test_missing_applied_file_is_reported_and_repair_forgets_it(online: Project) -> None:
    path = online.write("V1__t.sql", "CREATE TABLE t (a INT);\n")
    online.run()
    path.unlink()
    assert online.json("status")["migrations"][0]["state"] == "missing"
    assert "missing" in online.run(code=1).stderr
    assert "forgot V1__t.sql" in online.run("repair").stdout
    assert online.history() == []


def test_out_of_order_file_fails_unless_allowed(online: Project) -> None:
    online.write("V1__a.sql", "CREATE TABLE a (x INT);\n")
    online.write("V3__c.sql", "CREATE TABLE c (x INT);\n")
    online.run()
    online.write("V2__b.sql", "CREATE TABLE b (x INT);\n")
    refused = online.run(code=1)
    assert "V2__b.sql is pending but its version is lower than an applied one" in refused.stderr
    assert online.json("status")["migrations"][1]["state"] == "out-of-order"
    online.run("--out-of-order")
    assert [r[0] for r in online.history()] == ["1", "3", "2"]


def test_destructive_changes_need_allow_destructive(online: Project) -> None:
    online.write("V1__customers.yaml", CUSTOMERS)
    online.run()
    online.write("V2__customers.yaml", """
        table: customers
        columns:
          - name: id
            type: BIGINT
        primary_key: [id]
    """)
    refused = online.run(code=1)
    assert "refusing destructive changes" in refused.stderr
    assert "drop column public.customers.name" in refused.stderr
    assert [r[1] for r in online.history()] == ["customers"]
    online.run("--allow-destructive")
    columns = online.query("SELECT column_name FROM duckdb_columns() "
                            "WHERE table_name = 'customers'")
    assert columns == [("id",)]


def test_destructive_sql_is_refused_before_anything_runs(online: Project) -> None:
    online.write("V1__t.sql", "CREATE TABLE t (a INT);\n")
    online.run()
    online.write("V2__x.sql", "CREATE TABLE x (a INT);\n")
    online.write("V3__drop.sql", "DROP TABLE t;\n")
    refused = online.run(code=1)
    assert "V3__drop.sql:1: drops data: DROP TABLE t" in refused.stderr
    assert [r[1] for r in online.history()] == ["t"]  # V2 did not run either


def test_narrowing_type_change_is_destructive_and_rewrites(online: Project) -> None:
    online.write("V1__t.yaml", """
        table: t
        columns:
          - {name: n, type: BIGINT}
    """)
    online.write("V2__rows.sql", "INSERT INTO t VALUES (1), (2);\n")
    online.run()
    online.write("V3__t.yaml", """
        table: t
        columns:
          - {name: n, type: INTEGER}
    """)
    plan = online.json("plan")["pending"][0]
    assert plan["findings"][0]["risk"] == "destructive"
    assert "type of public.t.n: BIGINT -> INTEGER (rewrite)" in online.run(code=1).stderr
    online.run("--allow-destructive")
    assert online.query("SELECT typeof(n), sum(n) FROM t GROUP BY 1") == [("INTEGER", 3)]


def test_down_rolls_back_sql_yaml_and_python(both_slow_offline: Project) -> None:
    both = both_slow_offline
    both.write("V1__customers.yaml", CUSTOMERS)
    both.write("V2__more.yaml", """
        table: customers
        columns:
          - name: id
            type: BIGINT
          - name: full_name
            type: VARCHAR
            renamed_from: name
          - name: score
            type: INTEGER
        primary_key: [id]
    """)
    both.write("V3__seed.py", """
        def up(conn):
            conn.execute("INSERT INTO customers (id, full_name) VALUES (1, 'a'), (2, 'b')")

        def down(conn):
            conn.execute("DELETE FROM customers WHERE id IN (1, 2)")
    """)
    both.write("V4__orders.sql", """
        CREATE TABLE orders (id INT);
        -- migrate:down
        DROP TABLE orders;
    """)
    both.run()
    # V4's down drops a table, V2's drops column score: both need the flag.
    refused = both.run("down", "--to", "1", code=1)
    assert "refusing to roll back" in refused.stderr
    assert "V4__orders.sql" in refused.stderr and "V2__more.yaml" in refused.stderr
    assert len(both.history()) == 4
    result = both.run("down", "--to", "1", "--allow-destructive")
    assert result.stdout.split("\n")[:3] == [
        "rolled back V4__orders.sql", "rolled back V3__seed.py", "rolled back V2__more.yaml"
    ]
    assert both.history() == [("1", "customers", "yaml")]
    columns = both.query("SELECT column_name FROM duckdb_columns() "
                         "WHERE table_name = 'customers' ORDER BY column_index")
    assert columns == [("id",), ("name",)]
    assert both.query("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'orders'") == [
        (0,)
    ]
    # Applying again brings the same schema back.
    both.run()
    assert len(both.history()) == 4


def test_down_refuses_sql_without_down_section(online: Project) -> None:
    online.write("V1__t.sql", "CREATE TABLE t (a INT);\n")
    online.run()
    result = online.run("down", "--to", "0", "--allow-destructive", code=1)
    assert "V1__t.sql: it has no `-- migrate:down` section" in result.stderr


def _parquet(data_dir: Path) -> dict[str, int]:
    """The events table's data files (forge_meta's own bookkeeping writes files too)."""
    return {
        str(p.relative_to(data_dir)): p.stat().st_mtime_ns
        for p in (data_dir / "lake" / "public" / "events").rglob("*.parquet")
    }


def test_column_changes_are_catalog_only(online: Project) -> None:
    online.write("V1__events.yaml", """
        table: events
        columns:
          - {name: id, type: INTEGER}
          - {name: kind, type: VARCHAR}
          - {name: price, type: FLOAT}
          - {name: note, type: VARCHAR}
    """)
    online.write("V2__rows.sql", """
        INSERT INTO events SELECT i, 'k' || (i % 3), i / 2, 'n' FROM range(5000) t(i);
    """)
    online.run()
    files = _parquet(online.data_dir)
    assert files, "the rows were written as Parquet"
    online.write("V3__events.yaml", """
        table: events
        columns:
          - {name: id, type: BIGINT}
          - {name: category, type: VARCHAR, renamed_from: kind}
          - {name: price, type: DOUBLE}
          - {name: source, type: VARCHAR, default: "'web'"}
    """)
    plan = online.run("plan").stdout
    assert 'ALTER TABLE "public"."events" RENAME COLUMN "kind" TO "category"' in plan
    assert 'ALTER TABLE "public"."events" DROP COLUMN "note"' in plan
    assert 'ALTER COLUMN "id" SET DATA TYPE BIGINT' in plan
    online.run("--allow-destructive")
    assert _parquet(online.data_dir) == files  # no data file written or rewritten
    rows = online.query("SELECT typeof(id), category, typeof(price), source, count(*) "
                         "FROM events GROUP BY ALL ORDER BY category")
    assert rows == [("BIGINT", "k0", "DOUBLE", "web", 1667),
                    ("BIGINT", "k1", "DOUBLE", "web", 1667),
                    ("BIGINT", "k2", "DOUBLE", "web", 1666)]


def test_repeatable_runs_again_only_when_changed(online: Project) -> None:
    online.write("V1__t.sql", "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1), (2);\n")
    view = online.write("R__v.sql", "CREATE OR REPLACE VIEW v AS SELECT count(*) AS n FROM t;\n")
    assert "applied R__v.sql" in online.run().stdout
    assert "nothing to apply" in online.run().stdout
    view.write_text("CREATE OR REPLACE VIEW v AS SELECT sum(a) AS n FROM t;\n")
    assert online.json("status")["migrations"][1]["state"] == "pending"
    assert "applied R__v.sql" in online.run().stdout
    assert online.query("SELECT n FROM v") == [(3,)]
    kinds = [r[2] for r in online.history()]
    assert kinds == ["sql", "repeatable"]  # one row per repeatable: its latest run


def test_not_null_on_an_existing_column_and_its_rollback(online: Project) -> None:
    online.write("V1__t.yaml", """
        table: t
        columns:
          - {name: a, type: INTEGER}
          - {name: b, type: VARCHAR}
    """)
    online.write("V2__rows.sql", "INSERT INTO t VALUES (1, 'x'), (2, 'y');\n")
    online.write("V3__t.yaml", """
        table: t
        columns:
          - {name: a, type: BIGINT, nullable: false}
          - {name: c, type: VARCHAR, renamed_from: b}
          - {name: d, type: INTEGER, default: 0}
    """)
    online.run()
    nullable = ("SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
                "WHERE table_name = 't' ORDER BY column_index")
    assert online.query(nullable) == [("a", "BIGINT", False), ("c", "VARCHAR", True),
                                      ("d", "INTEGER", True)]
    with pytest.raises(psycopg.errors.NotNullViolation):
        online.query("INSERT INTO t (a, c) VALUES (NULL, 'z')")
    online.run("down", "--to", "2", "--allow-destructive")
    assert online.query(nullable) == [("b", "VARCHAR", True), ("a", "INTEGER", True)]
    assert online.query("SELECT a, b FROM t ORDER BY a") == [(1, "x"), (2, "y")]
