"""[connections.NAME]: a real PostgreSQL attached read-only; clients read
NAME.schema.table, writes are 25006, ATTACH and DETACH stay refused, and the password
(a secret) shows nowhere."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from postgres import PostgresServer, postgres  # noqa: F401  (the session's PostgreSQL)
from server import RunningServer, start_server

from forge_sql.cli import main
from forge_sql.wire.auth import make_verifier

PASSWORD = "crm-pa55word-s3cret"


@pytest.fixture(scope="module")
def crm(postgres: PostgresServer) -> str:  # noqa: F811
    name = f"crm_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(postgres.dsn.replace("dbname=postgres", f"dbname={name}"),
                         autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace')")
    return f"host=127.0.0.1 port={postgres.port} dbname={name} user=postgres"


@pytest.fixture(scope="module")
def lake(crm: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root: Path = tmp_path_factory.mktemp("connections")
    users = "".join(
        f'[users.{n}]\npassword = "{make_verifier("pw")}"\nsuperuser = {str(a).lower()}\n'
        for n, a in (("alice", True), ("bob", False), ("carol", False))
    )
    config = users + textwrap.dedent(f'''
        [secrets]
        crm_password = "{PASSWORD}"
        [connections.crm]
        dsn = "{crm}"
        password_secret = "crm_password"
        readers = ["carol"]
    ''')
    running = start_server(root / "data", config=config, cwd=root)
    yield running
    running.stop()


def connect(lake: RunningServer, user: str) -> psycopg.Connection:
    return psycopg.connect(lake.dsn(user=user, password="pw"), autocommit=True)


def test_clients_read_the_connection(lake: RunningServer) -> None:
    with connect(lake, "alice") as alice:
        rows = alice.execute("SELECT id, name FROM crm.public.customers ORDER BY id").fetchall()
        assert rows == [(1, "Ada"), (2, "Grace")]
        joined = alice.execute(
            "SELECT c.name FROM crm.public.customers c JOIN (VALUES (2)) v(id) USING (id)"
        ).fetchall()
        assert joined == [("Grace",)]
    with connect(lake, "carol") as carol:  # listed under readers
        assert carol.execute("SELECT count(*) FROM crm.public.customers").fetchone() == (2,)


def test_roles_not_listed_as_readers_are_refused(lake: RunningServer) -> None:
    with connect(lake, "bob") as bob:
        for sql in ("SELECT count(*) FROM crm.public.customers",
                    "SELECT * FROM (SELECT name FROM crm.public.customers) s",
                    "WITH c AS (SELECT * FROM crm.public.customers) SELECT * FROM c",
                    "EXPLAIN ANALYZE SELECT * FROM crm.public.customers",
                    'SELECT * FROM "crm"."public"."customers"'):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bob.execute(sql)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT name FROM crm.public.customers WHERE id = %s", (1,),
                        prepare=True)
        assert bob.execute("SELECT 1").fetchone() == (1,)  # the session stays usable


def test_writes_are_read_only_and_attach_stays_refused(lake: RunningServer) -> None:
    with connect(lake, "alice") as alice:
        for sql in ("INSERT INTO crm.public.customers VALUES (3, 'Linus')",
                    "UPDATE crm.public.customers SET name = 'x'",
                    "DELETE FROM crm.public.customers"):
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                alice.execute(sql)
        with pytest.raises(psycopg.Error) as caught:
            alice.execute("DETACH crm")
        assert caught.value.sqlstate in ("42501", "0A000")
        assert alice.execute("SELECT count(*) FROM crm.public.customers").fetchone() == (2,)
    with connect(lake, "bob") as bob:
        with pytest.raises(psycopg.Error) as caught:
            bob.execute("ATTACH 'dbname=x' AS other (TYPE postgres)")
        assert caught.value.sqlstate in ("42501", "0A000")
        with pytest.raises(psycopg.Error):
            bob.execute("INSERT INTO crm.public.customers VALUES (3, 'Linus')")


def test_the_password_shows_nowhere(lake: RunningServer) -> None:
    with connect(lake, "alice") as alice:
        found = alice.execute(
            "SELECT count(*) FROM duckdb_databases() WHERE path LIKE '%' || 'pa55word' || '%'"
        ).fetchone()
        assert found == (0,)
        texts = alice.execute("SELECT query FROM pg_stat_activity").fetchall()
        assert all(PASSWORD not in str(t) for t in texts)
    assert PASSWORD not in lake.log_file.read_text(errors="replace")


def test_a_sync_reads_a_connection_query(lake: RunningServer, crm: str,
                                         postgres: PostgresServer) -> None:  # noqa: F811
    directory = lake.data_dir.parent / "migrations"
    directory.mkdir(exist_ok=True)
    (directory / "V1__crm.yaml").write_text(textwrap.dedent('''
        syncs:
          - name: crm_customers
            connection: crm
            query: SELECT id, name FROM crm.public.customers
            into: crm_copy
            primary_key: [id]
            cursor: id
    '''))
    url = f"postgresql://alice:pw@{lake.host}:{lake.port}/{lake.database}"
    applied = CliRunner().invoke(main, ["migrate", "--dir", str(directory), "--url", url])
    assert applied.exit_code == 0, applied.output
    with connect(lake, "alice") as alice:
        alice.execute("CALL forge_sync('crm_customers')")
        assert alice.execute("SELECT * FROM crm_copy ORDER BY id").fetchall() == [
            (1, "Ada"), (2, "Grace")]
    dbname = crm.split("dbname=")[1].split()[0]
    with psycopg.connect(postgres.dsn.replace("dbname=postgres", f"dbname={dbname}"),
                         autocommit=True) as conn:
        conn.execute("INSERT INTO customers VALUES (3, 'Linus')")
        conn.execute("UPDATE customers SET name = 'Ada L.' WHERE id = 2")
    with connect(lake, "alice") as alice:
        rows = dict((a, c) for a, c, _ in alice.execute(
            "CALL forge_sync('crm_customers')").fetchall())
        # From the last cursor value (2) on: rows 2 and 3.
        assert (rows["read"], rows["inserted"], rows["updated"]) == (2, 1, 1)
        assert alice.execute("SELECT * FROM crm_copy ORDER BY id").fetchall() == [
            (1, "Ada"), (2, "Ada L."), (3, "Linus")]


def test_the_sync_views_answer_superusers_only(lake: RunningServer) -> None:
    # After the run above: the views show it to superusers and nothing to others.
    with connect(lake, "alice") as alice:
        assert alice.execute("SELECT count(*) > 0 FROM forge_sync_runs").fetchone() == (True,)
        assert alice.execute("SELECT name FROM forge_syncs").fetchall() == [("crm_customers",)]
    with connect(lake, "bob") as bob:
        assert bob.execute("SELECT count(*) FROM forge_sync_runs").fetchone() == (0,)
        assert bob.execute("SELECT count(*) FROM forge_syncs").fetchone() == (0,)
