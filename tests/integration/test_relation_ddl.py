"""Relation DDL dbt sends, on forge-sql and on PostgreSQL: ALTER TABLE on a view, DROP ...
CASCADE with dependent views, ``"db".pg_catalog.X`` / ``"db".information_schema.X``, and
temporary tables in information_schema (forge_sql.engine.relation_ddl, catalog.rewrite)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer


def _outcomes(dsn: str, statements: Sequence[str]) -> list[object]:
    """What each statement gave: its rows (or tag) and notices, or its SQLSTATE."""
    found: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        for statement in statements:
            notices.clear()
            try:
                cursor = conn.execute(statement)
            except psycopg.Error as exc:
                found.append(("error", exc.sqlstate))
                continue
            rows = cursor.fetchall() if cursor.description else cursor.statusmessage
            found.append((rows, list(notices)))
    return found


def _same(server: RunningServer, pg: PostgresServer, statements: Sequence[str]) -> list[object]:
    forge = _outcomes(server.dsn(), statements)
    assert forge == _outcomes(pg.dsn, statements)
    return forge


def test_alter_table_renames_a_view_and_cascade_drops_dependents(
        server: RunningServer, postgres: PostgresServer, table_name: str) -> None:  # noqa: F811
    t = table_name
    found = _same(server, postgres, [
        f"CREATE TABLE {t} (a int)",
        f"INSERT INTO {t} VALUES (1), (2)",
        f"CREATE VIEW {t}_tmp AS SELECT a FROM {t}",
        f"ALTER TABLE {t}_tmp RENAME TO {t}_v",  # dbt's view models end so
        f"CREATE VIEW {t}_w AS SELECT a * 10 AS b FROM {t}_v",
        f"ALTER VIEW {t}_w RENAME TO {t}_w2",
        f"SELECT b FROM {t}_w2 ORDER BY b",
        f"DROP TABLE {t}",  # views depend on it: PostgreSQL refuses (2BP01)
        f"DROP TABLE IF EXISTS {t} CASCADE",
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_name LIKE '{t}%' ORDER BY 1",
        f"DROP VIEW IF EXISTS {t}_v CASCADE",
    ])
    assert found[6] == ([(10,), (20,)], [])
    assert found[8] == ("DROP TABLE", ["drop cascades to 2 other objects"])
    assert found[9] == ([], [])


def test_cascade_of_a_view_drops_the_views_on_it(
        server: RunningServer, postgres: PostgresServer, table_name: str) -> None:  # noqa: F811
    t = table_name
    found = _same(server, postgres, [
        f"CREATE TABLE {t} (a int)",
        f"CREATE VIEW {t}_v AS SELECT a FROM {t}",
        f"CREATE VIEW {t}_w AS SELECT a FROM {t}_v",
        f"DROP VIEW {t}_v CASCADE",
        f"SELECT count(*) FROM {t}",
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_name LIKE '{t}%' ORDER BY 1",
        f"DROP TABLE {t}",
    ])
    assert found[3] == ("DROP VIEW", [f"drop cascades to view {t}_w"])
    assert found[5] == ([(t,)], [])


def test_database_qualified_catalogs(
        server: RunningServer, postgres: PostgresServer, table_name: str) -> None:  # noqa: F811
    t = table_name
    statements = [
        f"CREATE TABLE {t} (a int, b text)",
        'SELECT column_name FROM "{db}".INFORMATION_SCHEMA.columns '
        f"WHERE table_name = '{t}' ORDER BY ordinal_position",
        f"SELECT relname FROM \"{{db}}\".pg_catalog.pg_class WHERE relname = '{t}'",
        'SELECT count(*) > 0 FROM "not_this_one".pg_catalog.pg_class',
        f"DROP TABLE {t}",
    ]
    forge = _outcomes(server.dsn(), [s.replace("{db}", server.database) for s in statements])
    pg = _outcomes(postgres.dsn, [s.replace("{db}", "postgres") for s in statements])
    assert forge == pg
    assert forge[1] == ([("a",), ("b",)], [])
    assert forge[3] == ("error", "0A000")


def test_temporary_tables_in_information_schema(
        server: RunningServer, postgres: PostgresServer, table_name: str) -> None:  # noqa: F811
    t = table_name
    found = _same(server, postgres, [
        f"CREATE TEMPORARY TABLE {t} (x int, y bigint)",
        "SELECT table_schema LIKE 'pg_temp_%', table_type FROM information_schema.tables "
        f"WHERE table_name = '{t}'",
        "SELECT table_schema LIKE 'pg_temp_%', column_name, data_type "
        f"FROM information_schema.columns WHERE table_name = '{t}' ORDER BY ordinal_position",
    ])
    assert found[1] == ([(True, "LOCAL TEMPORARY")], [])
    assert found[2] == ([(True, "x", "integer"), (True, "y", "bigint")], [])
