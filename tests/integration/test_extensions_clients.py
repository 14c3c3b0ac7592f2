"""Tools list the extensions' functions with argument and result types: pgjdbc's
DatabaseMetaData (DBeaver, Metabase), SQLAlchemy, psql; a schema only an extension names
(``ml``) is a schema to them too (pg_namespace, \\dn, \\df ml.*, information_schema)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from clients.programs import CLIENTS, require_file, require_program, run_checks
from server import RunningServer, start_server
from test_psql import psql

pytestmark = pytest.mark.integration

DRIVER = Path("/usr/share/java/postgresql.jar")  # Debian's libpostgresql-jdbc-java

FUNCTIONS = '''
from forge_sql.ext import scalar, table

@scalar
def tag(s: str, prefix: str = "#") -> str:
    """Prefix a word with a tag sign."""
    return prefix + s

@scalar(schema="ml")
def score(x: float, weight: int = 1) -> float:
    """A score, in schema ml."""
    return x * weight

@table(columns={"n": "BIGINT", "label": "VARCHAR"}, schema="ml")
def ranked(count: int):
    """The numbers 1 to count with a label."""
    for n in range(1, count + 1):
        yield {"n": n, "label": f"#{n}"}
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("clients")
    (root / "extensions").mkdir()
    (root / "extensions" / "scoring.py").write_text(textwrap.dedent(FUNCTIONS))
    running = start_server(root / "data", cwd=root,
                           env={"FORGE_SQL_SHIPPED_EXTENSIONS": "none",
                                "FORGE_SQL_EXTENSIONS": ""})
    yield running
    running.stop()


def test_a_schema_only_an_extension_names_is_listed(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT ml.score(2.0, weight => 3)").fetchone() == (6.0,)
        (oid,) = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = 'ml'").fetchone()
        assert oid >= 16384
        assert conn.execute(
            "SELECT count(*) FROM pg_proc WHERE pronamespace = %s", (oid,)
        ).fetchone() == (2,)
        assert conn.execute(
            "SELECT routine_name FROM information_schema.routines "
            "WHERE routine_schema = 'ml' ORDER BY 1"
        ).fetchall() == [("ranked",), ("score",)]
        assert conn.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = 'ml'"
        ).fetchall() == [("ml",)]
        assert conn.execute("SELECT 'ml'::regnamespace::oid").fetchone() == (oid,)
        # A lake schema of the same name is listed once.
        conn.execute("CREATE SCHEMA ml")
        try:
            assert conn.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'ml'").fetchone() == (1,)
        finally:
            conn.execute("DROP SCHEMA ml")
        assert conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'ml'").fetchone() == (1,)


def test_psql_dn_and_df_in_the_schema(server: RunningServer, psql_installed: str) -> None:
    done = psql(server, "-v", "ON_ERROR_STOP=1", "-c", "\\dn")
    assert done.returncode == 0, done.stderr
    assert " ml " in done.stdout or "\n ml" in done.stdout
    done = psql(server, "-v", "ON_ERROR_STOP=1", "-c", "\\df ml.*")
    assert done.returncode == 0, done.stderr
    assert "score" in done.stdout and "x double precision, weight bigint DEFAULT 1" \
        in done.stdout
    assert "TABLE(n bigint, label character varying)" in done.stdout
    assert "tag" not in done.stdout


@pytest.mark.parametrize("dialect", ["psycopg", "psycopg2"])
def test_sqlalchemy_lists_them_with_types(server: RunningServer, dialect: str) -> None:
    url = sa.URL.create(f"postgresql+{dialect}", username="forge", host=server.host,
                        port=server.port, database=server.database)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        assert "ml" in sa.inspect(engine).get_schema_names()
        # SQLAlchemy has no function reflection: tools ask pg_proc, as here.
        proc = sa.table("pg_proc", sa.column("oid"), sa.column("proname"),
                        sa.column("pronamespace"), sa.column("prorettype"),
                        sa.column("proretset"), schema="pg_catalog")
        nsp = sa.table("pg_namespace", sa.column("oid"), sa.column("nspname"),
                       schema="pg_catalog")
        query = (
            sa.select(nsp.c.nspname, proc.c.proname,
                      sa.func.pg_get_function_arguments(proc.c.oid),
                      sa.func.pg_get_function_result(proc.c.oid),
                      sa.func.format_type(proc.c.prorettype, None), proc.c.proretset,
                      sa.func.obj_description(proc.c.oid, "pg_proc"))
            .select_from(proc.join(nsp, nsp.c.oid == proc.c.pronamespace))
            .where(nsp.c.nspname.in_(["ml", "public"]),
                   proc.c.proname.in_(["tag", "score", "ranked"]))
            .order_by(nsp.c.nspname, proc.c.proname)
        )
        with engine.connect() as conn:
            rows: list[Any] = [tuple(r) for r in conn.execute(query)]
    finally:
        engine.dispose()
    assert rows == [
        ("ml", "ranked", "count bigint", "TABLE(n bigint, label character varying)",
         "record", True, "The numbers 1 to count with a label."),
        ("ml", "score", "x double precision, weight bigint DEFAULT 1", "double precision",
         "double precision", False, "A score, in schema ml."),
        ("public", "tag", "s character varying, prefix character varying DEFAULT '#'",
         "character varying", "character varying", False, "Prefix a word with a tag sign."),
    ]


@pytest.fixture(scope="module")
def jdbc(server: RunningServer, tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, dict[str, Any]]:
    javac = require_program("javac", "default-jdk-headless")
    java = require_program("java", "default-jdk-headless")
    driver = require_file(DRIVER, "libpostgresql-jdbc-java")
    classes = tmp_path_factory.mktemp("jdbc_functions")
    assert run_checks([javac, "-d", str(classes), "-cp", str(driver),
                       str(CLIENTS / "java" / "JdbcFunctions.java")]) == {}
    url = f"jdbc:postgresql://{server.host}:{server.port}/{server.database}?user=forge"
    return run_checks([java, "-cp", f"{classes}:{driver}", "JdbcFunctions", url, "ml"])


def rows(checks: dict[str, dict[str, Any]], name: str) -> list[list[str | None]]:
    line = checks[name]
    assert "error" not in line, f"{name} failed: {line}"
    return list(line["result"])


def test_pgjdbc_get_functions(jdbc: dict[str, dict[str, Any]]) -> None:
    found = rows(jdbc, "functions")
    assert [r[:4] for r in found] == [
        ["ml", "ranked", "The numbers 1 to count with a label.", "2"],  # returns a table
        ["ml", "score", "A score, in schema ml.", "1"],  # functionNoTable
    ]
    # As from PostgreSQL 11: getProcedures lists procedures (prokind 'p') only.
    assert rows(jdbc, "procedures") == []


def test_pgjdbc_function_and_procedure_columns(jdbc: dict[str, dict[str, Any]]) -> None:
    # pgjdbc reads RETURNS TABLE's columns from proallargtypes/proargmodes ('t'), as
    # from PostgreSQL: function COLUMN_TYPE 1 = in, 4 = returned (a scalar's returnValue
    # and each table column); procedure COLUMN_TYPE 1 = in, 5 = returned.
    columns = [r[:6] for r in rows(jdbc, "function_columns")]
    assert columns == [
        ["ranked", "count", "1", "-5", "int8", "1"],
        ["ranked", "n", "4", "-5", "int8", "2"],
        ["ranked", "label", "4", "12", "varchar", "3"],
        ["score", "returnValue", "4", "8", "float8", "0"],
        ["score", "x", "1", "8", "float8", "1"],
        ["score", "weight", "1", "-5", "int8", "2"],
    ]
    procedure = [r[:5] for r in rows(jdbc, "procedure_columns")]
    assert procedure == [
        ["ranked", "count", "1", "-5", "int8"],
        ["ranked", "n", "5", "-5", "int8"],
        ["ranked", "label", "5", "12", "varchar"],
        ["score", "returnValue", "5", "8", "float8"],
        ["score", "x", "1", "8", "float8"],
        ["score", "weight", "1", "-5", "int8"],
    ]
