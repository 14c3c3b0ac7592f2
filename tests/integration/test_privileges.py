"""Roles and privileges over the wire: GRANT/REVOKE seen through psycopg (allowed, and
refused with 42501 leaving the data unchanged), ownership, default privileges, a read-only
role, roles created over the wire logging in with SCRAM, and what the catalog tells."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from clients.programs import CLIENTS, require_file, require_program, result, run_checks
from psycopg import errors as pgerrors
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

PASSWORD = "pw"


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    verifier = make_verifier(PASSWORD)
    config = (
        f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n\n'
        f'[users.bob]\npassword = "{verifier}"\n\n'
        f'[users.carol]\npassword = "{verifier}"\n\n'
        f'[users.bi]\npassword = "{verifier}"\nroles = ["pg_read_all_data"]\n'
    )
    running = start_server(tmp_path_factory.mktemp("privileges") / "data", config=config)
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


Connect = Callable[[str], psycopg.Connection]


@pytest.fixture
def connect(users: RunningServer) -> Iterator[Connect]:
    opened: list[psycopg.Connection] = []

    def open_as(user: str) -> psycopg.Connection:
        conn = psycopg.connect(users.dsn(user=user, password=PASSWORD), autocommit=True)
        opened.append(conn)
        return conn

    yield open_as
    for conn in opened:
        conn.close()


@pytest.fixture
def name() -> str:
    return f"p_{uuid.uuid4().hex[:8]}"


def refused(conn: psycopg.Connection, sql: str, match: str = "permission denied") -> None:
    with pytest.raises(pgerrors.InsufficientPrivilege, match=match):
        conn.execute(sql)


def test_grant_and_revoke_round_trip(connect: Connect, name: str) -> None:
    admin, bob = connect("admin"), connect("bob")
    admin.execute(f"CREATE TABLE {name} (id INTEGER, v VARCHAR)")
    admin.execute(f"INSERT INTO {name} VALUES (1, 'a'), (2, 'b')")
    for sql in (f"SELECT * FROM {name}", f"INSERT INTO {name} VALUES (3, 'c')",
                f"UPDATE {name} SET v = 'x'", f"DELETE FROM {name}", f"TRUNCATE {name}"):
        refused(bob, sql, f"permission denied for table {name}")
    admin.execute(f"GRANT SELECT, INSERT ON TABLE {name} TO bob")
    assert bob.execute(f"SELECT count(*) FROM {name}").fetchone() == (2,)
    bob.execute(f"INSERT INTO {name} VALUES (%s, %s)", (3, "c"))  # extended protocol
    refused(bob, f"UPDATE {name} SET v = 'x' WHERE id = 1")
    refused(bob, f"DELETE FROM {name} WHERE id = 1")
    admin.execute(f"REVOKE INSERT ON {name} FROM bob")
    refused(bob, f"INSERT INTO {name} VALUES (4, 'd')")
    admin.execute(f"GRANT ALL PRIVILEGES ON {name} TO bob")
    bob.execute(f"UPDATE {name} SET v = 'z' WHERE id = 3")
    admin.execute(f"REVOKE ALL ON {name} FROM bob")
    refused(bob, f"SELECT * FROM {name}")
    # What was refused changed nothing.
    assert admin.execute(f"SELECT id, v FROM {name} ORDER BY id").fetchall() == [
        (1, "a"), (2, "b"), (3, "z")]


def test_every_way_of_naming_a_table_is_checked(connect: Connect, name: str) -> None:
    admin, bob = connect("admin"), connect("bob")
    admin.execute(f"CREATE TABLE {name} (id INTEGER, secret VARCHAR)")
    admin.execute(f"INSERT INTO {name} VALUES (1, 'hunter2')")
    bob.execute(f"CREATE TABLE {name}_mine (id INTEGER, secret VARCHAR)")
    for sql in (
        f'SELECT * FROM "{name}"',
        f"SELECT * FROM public.{name}",
        f"SELECT * FROM forge.public.{name}",
        f"WITH x AS (SELECT * FROM {name}) SELECT * FROM x",
        f"WITH {name} AS (SELECT * FROM {name}) SELECT * FROM {name}",
        f"SELECT (SELECT max(secret) FROM {name})",
        f"SELECT * FROM {name}_mine WHERE id IN (SELECT id FROM {name})",
        f"SELECT id FROM {name}_mine UNION SELECT id FROM {name}",
        f"INSERT INTO {name}_mine SELECT * FROM {name}",
        f"UPDATE {name}_mine SET secret = s.secret FROM {name} s",
        f"DELETE FROM {name}_mine USING {name} s WHERE {name}_mine.id = s.id",
        f"MERGE INTO {name}_mine m USING {name} s ON m.id = s.id "
        "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.secret)",
        f"CREATE TABLE {name}_copy AS SELECT * FROM {name}",
        f"CREATE VIEW {name}_v AS SELECT * FROM {name}",
        f"EXPLAIN SELECT * FROM {name}",
        f"EXPLAIN ANALYZE SELECT * FROM {name}",
        f"PREPARE {name}_p AS SELECT * FROM {name}",
        f"COPY {name} TO STDOUT",
        f"COPY (SELECT * FROM {name}) TO STDOUT",
        f"DROP TABLE {name}",
        f"ALTER TABLE {name} ADD COLUMN c INTEGER",
        f"COMMENT ON TABLE {name} IS 'mine now'",
        f"PIVOT {name} ON secret USING count(*)",
        f"SUMMARIZE {name}",
        f"SET VARIABLE {name}_v = (SELECT max(secret) FROM {name})",
        f"SELECT * FROM ducklake_table_insertions('forge', 'public', '{name}', 0, 1000)",
        f"CALL ducklake_table_insertions('forge', 'public', '{name}', 0, 1000)",
    ):
        with pytest.raises(pgerrors.InsufficientPrivilege):
            bob.execute(sql)
    with pytest.raises(pgerrors.InsufficientPrivilege), bob.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {name} WHERE id = %s", (1,), prepare=True)
    with pytest.raises(pgerrors.InsufficientPrivilege), bob.transaction():
        bob.execute(f"DECLARE c CURSOR FOR SELECT * FROM {name}")
    with pytest.raises(pgerrors.InsufficientPrivilege), bob.cursor().copy(
            f"COPY {name} FROM STDIN") as copy:
        copy.write_row((2, "planted"))
    # A statement prepared while allowed is checked again when it runs.
    admin.execute(f"GRANT SELECT ON {name} TO bob")
    bob.execute(f"PREPARE {name}_q AS SELECT secret FROM {name}")
    assert bob.execute(f"EXECUTE {name}_q").fetchall() == [("hunter2",)]
    admin.execute(f"REVOKE SELECT ON {name} FROM bob")
    refused(bob, f"EXECUTE {name}_q")
    assert admin.execute(f"SELECT * FROM {name}").fetchall() == [(1, "hunter2")]
    assert bob.execute(f"SELECT count(*) FROM {name}_mine").fetchone() == (0,)
    # Catalog relations stay readable by everyone, as in PostgreSQL.
    assert bob.execute(
        "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = %s", (name,)
    ).fetchone() == (1,)
    refused(bob, "SELECT * FROM forge_meta.roles")
    # ... but not writable, however named.
    for sql in ("DROP VIEW pg_stat_activity", "DROP VIEW server.pgc.pg_stat_activity",
                "DROP MACRO has_table_privilege", "DELETE FROM relation_acl"):
        refused(bob, sql)
    assert bob.execute("SELECT count(*) > 0 FROM pg_stat_activity").fetchone() == (True,)


def test_a_view_reads_with_its_owners_privileges(connect: Connect, name: str) -> None:
    admin, bob, carol = connect("admin"), connect("bob"), connect("carol")
    admin.execute(f"CREATE TABLE {name} (id INTEGER, secret VARCHAR)")
    admin.execute(f"INSERT INTO {name} VALUES (1, 'x'), (2, 'y')")
    admin.execute(f"CREATE VIEW {name}_ids AS SELECT id FROM {name}")
    admin.execute(f"GRANT SELECT ON {name}_ids TO bob")
    assert bob.execute(f"SELECT * FROM {name}_ids ORDER BY id").fetchall() == [(1,), (2,)]
    refused(bob, f"SELECT * FROM {name}")
    # bob's own view over a table he may read only while the grant lasts.
    admin.execute(f"GRANT SELECT ON {name} TO bob")
    bob.execute(f"CREATE VIEW {name}_bob AS SELECT * FROM {name}")
    bob.execute(f"GRANT SELECT ON {name}_bob TO carol")
    assert carol.execute(f"SELECT count(*) FROM {name}_bob").fetchone() == (2,)
    admin.execute(f"REVOKE SELECT ON {name} FROM bob")
    refused(carol, f"SELECT * FROM {name}_bob", f"permission denied for table {name}")
    refused(bob, f"SELECT * FROM {name}_bob", f"permission denied for table {name}")


def test_owners_grant_and_only_owners_change(connect: Connect, name: str) -> None:
    admin, bob, carol = connect("admin"), connect("bob"), connect("carol")
    bob.execute(f"CREATE TABLE {name} (id INTEGER)")
    bob.execute(f"INSERT INTO {name} VALUES (1)")
    assert admin.execute(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", (name,)
    ).fetchone() == ("bob",)
    for sql in (f"DROP TABLE {name}", f"ALTER TABLE {name} ADD COLUMN c INTEGER",
                f"COMMENT ON TABLE {name} IS 'x'", f"CREATE INDEX {name}_i ON {name} (id)"):
        refused(carol, sql, f"must be owner of table {name}")
    refused(carol, f"GRANT SELECT ON {name} TO carol", f"permission denied for table {name}")
    bob.execute(f"GRANT SELECT ON {name} TO carol")
    assert carol.execute(f"SELECT * FROM {name}").fetchall() == [(1,)]
    refused(carol, f"GRANT SELECT ON {name} TO bi")  # no grant option
    bob.execute(f"GRANT SELECT ON {name} TO carol WITH GRANT OPTION")
    carol.execute(f"GRANT SELECT ON {name} TO PUBLIC")
    assert admin.execute(
        "SELECT relacl FROM pg_class WHERE relname = %s", (name,)
    ).fetchone() == (["bob=arwdDxt/bob", "carol=r*/bob", "=r/carol"],)
    bob.execute(f"ALTER TABLE {name} RENAME TO {name}_r")
    assert carol.execute(f"SELECT * FROM {name}_r").fetchall() == [(1,)]
    bob.execute(f"DROP TABLE {name}_r")
    # A new table of the same name starts with no grants.
    admin.execute(f"CREATE TABLE {name}_r (id INTEGER)")
    refused(carol, f"SELECT * FROM {name}_r")


def test_default_privileges_and_schemas(connect: Connect, name: str) -> None:
    admin, bob, carol = connect("admin"), connect("bob"), connect("carol")
    bob.execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO carol")
    try:
        bob.execute(f"CREATE TABLE {name} (id INTEGER)")
        assert carol.execute(f"SELECT count(*) FROM {name}").fetchone() == (0,)
        refused(carol, f"INSERT INTO {name} VALUES (1)")
    finally:
        bob.execute("ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM carol")
    bob.execute(f"CREATE TABLE {name}_later (id INTEGER)")
    refused(carol, f"SELECT * FROM {name}_later")
    # Schemas: CREATE SCHEMA is the superuser's; USAGE and CREATE on it are granted.
    refused(bob, f"CREATE SCHEMA {name}", "permission denied for database forge")
    admin.execute(f"CREATE SCHEMA {name}")
    admin.execute(f"CREATE TABLE {name}.t (id INTEGER)")
    admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {name} TO bob")
    refused(bob, f"SELECT * FROM {name}.t", f"permission denied for schema {name}")
    refused(bob, f"CREATE TABLE {name}.mine (id INTEGER)", f"permission denied for schema {name}")
    admin.execute(f"GRANT USAGE, CREATE ON SCHEMA {name} TO bob")
    assert bob.execute(f"SELECT count(*) FROM {name}.t").fetchone() == (0,)
    bob.execute(f"CREATE TABLE {name}.mine (id INTEGER)")
    assert bob.execute(
        "SELECT has_schema_privilege(%s, 'USAGE'), has_schema_privilege(%s, 'CREATE'), "
        "has_schema_privilege('carol', %s, 'USAGE')", (name, name, name)
    ).fetchone() == (True, True, False)


def test_a_read_only_role_for_bi_tools(connect: Connect, name: str) -> None:
    admin, bi = connect("admin"), connect("bi")
    admin.execute(f"CREATE SCHEMA {name}")
    admin.execute(f"CREATE TABLE {name}.facts (id INTEGER)")
    admin.execute(f"INSERT INTO {name}.facts VALUES (1)")
    assert bi.execute(f"SELECT * FROM {name}.facts").fetchall() == [(1,)]
    refused(bi, f"INSERT INTO {name}.facts VALUES (2)")
    refused(bi, f"DELETE FROM {name}.facts")
    refused(bi, f"DROP TABLE {name}.facts", "must be owner")
    # The same through GRANT of the predefined role.
    admin.execute(f"CREATE ROLE {name}_bi LOGIN PASSWORD '{PASSWORD}'")
    admin.execute(f"GRANT pg_read_all_data TO {name}_bi")
    with connect(f"{name}_bi") as other:
        assert other.execute(f"SELECT * FROM {name}.facts").fetchall() == [(1,)]
        refused(other, f"UPDATE {name}.facts SET id = 2")
    assert admin.execute(f"SELECT id FROM {name}.facts").fetchall() == [(1,)]


def test_roles_created_over_the_wire_log_in(users: RunningServer, connect: Connect,
                                            name: str) -> None:
    admin, bob = connect("admin"), connect("bob")
    refused(bob, f"CREATE ROLE {name}", "permission denied to manage roles")
    admin.execute(f"CREATE USER {name} WITH PASSWORD 'first-secret'")
    with psycopg.connect(users.dsn(user=name, password="first-secret")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.info.parameter_status("is_superuser") == "off"
    stored = admin.execute(
        "SELECT password FROM forge_meta.roles WHERE name = %s", (name,)).fetchone()
    assert stored is not None and stored[0].startswith("SCRAM-SHA-256$4096:")
    admin.execute(f"ALTER ROLE {name} PASSWORD 'second-secret'")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(users.dsn(user=name, password="first-secret"))
    psycopg.connect(users.dsn(user=name, password="second-secret")).close()
    # The statement text is redacted where other sessions could read it.
    activity = admin.execute(
        "SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()").fetchone()
    assert activity is not None and "second-secret" not in activity[0]
    with psycopg.connect(users.dsn(user=name, password="second-secret"),
                         autocommit=True) as own:
        own.execute("ALTER ROLE CURRENT_USER PASSWORD 'own-secret'")  # psql's \password
        with pytest.raises(pgerrors.InsufficientPrivilege):
            own.execute(f"ALTER ROLE {name} SUPERUSER")
        with pytest.raises(pgerrors.InsufficientPrivilege):
            own.execute("ALTER ROLE bob PASSWORD 'x'")
    admin.execute(f"ALTER ROLE {name} PASSWORD 'second-secret'")
    admin.execute(f"ALTER ROLE {name} NOLOGIN")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(users.dsn(user=name, password="second-secret"))
    admin.execute(f"CREATE ROLE {name}_hashed LOGIN PASSWORD '{make_verifier('third')}'")
    psycopg.connect(users.dsn(user=f"{name}_hashed", password="third")).close()
    for text in ("first-secret", "second-secret"):
        for path in users.data_dir.rglob("*"):
            if path.is_file():
                assert text.encode() not in path.read_bytes(), path
    with pytest.raises(pgerrors.DuplicateObject):
        admin.execute(f"CREATE ROLE {name}")
    with pytest.raises(pgerrors.ReservedName):
        admin.execute("CREATE ROLE pg_mine")
    admin.execute(f"CREATE TABLE {name}_t (id INTEGER)")
    admin.execute(f"GRANT SELECT ON {name}_t TO {name}")
    with pytest.raises(pgerrors.DependentObjectsStillExist):
        admin.execute(f"DROP ROLE {name}")
    admin.execute(f"REVOKE SELECT ON {name}_t FROM {name}")
    admin.execute(f"DROP ROLE {name}")
    admin.execute(f"DROP ROLE IF EXISTS {name}")
    with pytest.raises(pgerrors.UndefinedObject):
        admin.execute(f"DROP ROLE {name}")


def test_role_commands_are_transactional(connect: Connect, name: str) -> None:
    admin, bob = connect("admin"), connect("bob")
    admin.execute(f"CREATE TABLE {name} (id INTEGER)")
    admin.execute("BEGIN")
    admin.execute(f"GRANT SELECT ON {name} TO bob")
    admin.execute(f"CREATE ROLE {name}_gone")
    admin.execute("ROLLBACK")
    refused(bob, f"SELECT * FROM {name}")
    assert admin.execute(
        "SELECT count(*) FROM pg_roles WHERE rolname = %s", (f"{name}_gone",)
    ).fetchone() == (0,)


def test_the_catalog_tells_the_truth(connect: Connect, name: str) -> None:
    admin, bob, carol = connect("admin"), connect("bob"), connect("carol")
    admin.execute(f"CREATE TABLE {name} (id INTEGER)")
    admin.execute(f"GRANT SELECT, UPDATE ON {name} TO bob")
    assert bob.execute(
        "SELECT has_table_privilege(%s, 'SELECT'), has_table_privilege(%s, 'INSERT'), "
        "has_table_privilege(%s, 'select, insert'), has_any_column_privilege(%s, 'UPDATE'), "
        "has_table_privilege('carol', %s, 'SELECT'), has_table_privilege('bi', %s, 'SELECT')",
        (name,) * 6,
    ).fetchone() == (True, False, True, True, False, True)
    oid = admin.execute("SELECT oid FROM pg_class WHERE relname = %s", (name,)).fetchone()
    assert oid is not None
    assert bob.execute(
        "SELECT has_table_privilege(%s, 'UPDATE')", (oid[0],)).fetchone() == (True,)
    assert bob.execute(
        "SELECT grantor, grantee, privilege_type, is_grantable "
        "FROM information_schema.table_privileges WHERE table_name = %s "
        "ORDER BY privilege_type", (name,)
    ).fetchall() == [("admin", "bob", "SELECT", "NO"), ("admin", "bob", "UPDATE", "NO")]
    assert carol.execute(
        "SELECT count(*) FROM information_schema.table_privileges WHERE table_name = %s",
        (name,)).fetchone() == (0,)
    assert admin.execute(
        "SELECT count(*) FROM information_schema.role_table_grants WHERE table_name = %s",
        (name,)).fetchone() == (9,)  # the owner's seven and bob's two
    roles = dict(admin.execute(
        "SELECT rolname, [rolsuper, rolcanlogin] FROM pg_roles").fetchall())
    assert roles["admin"] == [True, True] and roles["bob"] == [False, True]
    assert roles["pg_read_all_data"] == [False, False]
    assert admin.execute(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'bi'").fetchall() == [
        ("pg_read_all_data",)]


def _psql(users: RunningServer, user: str, command: str) -> str:
    require_program("psql", "postgresql-client")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGPASSWORD=PASSWORD, PGCONNECT_TIMEOUT="10")
    done = subprocess.run(["psql", users.dsn(user=user), "-X", "-w", "-c", command],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def test_psql_dp_and_du(users: RunningServer, connect: Connect, name: str) -> None:
    admin = connect("admin")
    admin.execute(f"CREATE TABLE {name} (id INTEGER)")
    admin.execute(f"GRANT SELECT ON {name} TO bob")
    admin.execute(f"GRANT INSERT ON {name} TO carol WITH GRANT OPTION")
    admin.execute(f"CREATE ROLE {name}_group NOLOGIN")
    admin.execute(f"GRANT {name}_group TO bob")
    dp = _psql(users, "bob", f"\\dp {name}")
    assert f" public | {name} | table | admin=arwdDxt/admin+|" in dp
    assert "bob=r/admin" in dp and "carol=a*/admin" in dp
    du = {line.split("|")[0].strip(): line for line in _psql(users, "bob", "\\du").splitlines()
          if "|" in line}
    assert "Superuser" in du["admin"] and "Superuser" not in du["bob"]
    assert f"{name}_group" in du["bob"].split("|")[2]
    assert "Cannot login" in du[f"{name}_group"]
    assert "pg_read_all_data" in du["bi"].split("|")[2]
    assert "pg_read_all_data" not in du  # \du leaves out pg_* roles


def test_sqlalchemy_reflection_as_an_ordinary_role(users: RunningServer, connect: Connect,
                                                    name: str) -> None:
    sa = pytest.importorskip("sqlalchemy")
    admin = connect("admin")
    admin.execute(f"CREATE TABLE {name}_open (id INTEGER NOT NULL, v VARCHAR)")
    admin.execute(f"CREATE TABLE {name}_closed (id INTEGER)")
    admin.execute(f"GRANT SELECT ON {name}_open TO bob")
    engine = sa.create_engine(
        f"postgresql+psycopg://bob:{PASSWORD}@{users.host}:{users.port}/{users.database}")
    try:
        inspector = sa.inspect(engine)
        tables = inspector.get_table_names()
        assert {f"{name}_open", f"{name}_closed"} <= set(tables)
        assert [c["name"] for c in inspector.get_columns(f"{name}_open")] == ["id", "v"]
        metadata = sa.MetaData()
        table = sa.Table(f"{name}_open", metadata, autoload_with=engine)
        with engine.connect() as conn:
            assert conn.execute(sa.select(table)).all() == []
            closed = sa.Table(f"{name}_closed", metadata, autoload_with=engine)
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.select(closed))
    finally:
        engine.dispose()


def test_pgjdbc_table_privileges(users: RunningServer, connect: Connect, name: str,
                                 tmp_path: Path) -> None:
    javac = require_program("javac", "default-jdk-headless")
    java = require_program("java", "default-jdk-headless")
    driver = require_file(Path("/usr/share/java/postgresql.jar"), "libpostgresql-jdbc-java")
    admin = connect("admin")
    admin.execute(f"CREATE TABLE {name}_priv (id INTEGER)")
    admin.execute(f"GRANT SELECT, UPDATE ON {name}_priv TO bob")
    assert run_checks([javac, "-d", str(tmp_path), "-cp", str(driver),
                       str(CLIENTS / "java" / "JdbcClient.java")]) == {}
    url = (f"jdbc:postgresql://{users.host}:{users.port}/{users.database}"
           f"?user=bob&password={PASSWORD}")
    checks = run_checks([java, "-cp", f"{tmp_path}:{driver}", "JdbcClient", url, name,
                         "table_privileges"])
    found = result(checks, "table_privileges")
    assert found["tables"] == [{"TABLE_NAME": f"{name}_priv", "TABLE_TYPE": "TABLE"}]
    granted = {(row["GRANTEE"], row["PRIVILEGE"]) for row in found["privileges"]}
    assert {("bob", "SELECT"), ("bob", "UPDATE")} <= granted
    assert ("bob", "INSERT") not in granted
    assert {row["GRANTOR"] for row in found["privileges"]} == {"admin"}


def test_role_commands_of_two_transactions_queue(connect: Connect, name: str) -> None:
    first, second = connect("admin"), connect("admin")
    first.execute("BEGIN")
    first.execute(f"CREATE ROLE {name}_one")
    second.execute("SET lock_timeout = '200ms'")
    with pytest.raises(psycopg.errors.LockNotAvailable, match="lock timeout"):
        second.execute(f"CREATE ROLE {name}_two")
    first.execute("COMMIT")
    second.execute(f"CREATE ROLE {name}_two")  # the first transaction ended: no wait
    assert first.execute(
        "SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)", (f"{name}_one", f"{name}_two")
    ).fetchone() == (2,)


def test_lists_of_tables_need_the_privilege_on_each(connect: Connect, name: str) -> None:
    """TRUNCATE a, b and DROP TABLE a, b: refused as a whole when one table is not the
    role's to empty or drop, with nothing emptied or dropped."""
    admin, bob = connect("admin"), connect("bob")
    admin.execute(f"CREATE TABLE {name}_mine (id INTEGER)")
    admin.execute(f"CREATE TABLE {name}_theirs (id INTEGER)")
    admin.execute(f"INSERT INTO {name}_mine VALUES (1)")
    admin.execute(f"INSERT INTO {name}_theirs VALUES (1)")
    admin.execute(f"GRANT TRUNCATE ON {name}_mine TO bob")
    refused(bob, f"TRUNCATE {name}_mine, {name}_theirs",
            f"permission denied for table {name}_theirs")
    refused(bob, f"DROP TABLE {name}_mine, {name}_theirs", "must be owner of table")
    for table in ("mine", "theirs"):
        assert admin.execute(f"SELECT count(*) FROM {name}_{table}").fetchone() == (1,)
    bob.execute(f"TRUNCATE {name}_mine")
    assert admin.execute(f"SELECT count(*) FROM {name}_mine").fetchone() == (0,)


def test_views_a_cascade_drops_lose_their_owner(connect: Connect, name: str) -> None:
    """DROP ... CASCADE removes the views on the table with their owner records: a view of
    the same name made later belongs to its new creator."""
    admin, bob = connect("admin"), connect("bob")
    admin.execute(f"CREATE TABLE {name} (id INTEGER)")
    admin.execute(f"CREATE VIEW {name}_v AS SELECT id FROM {name}")
    admin.execute(f"DROP TABLE {name} CASCADE")
    bob.execute(f"CREATE TABLE {name} (id INTEGER)")
    bob.execute(f"CREATE VIEW {name}_v AS SELECT id FROM {name}")
    assert admin.execute(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", (f"{name}_v",)
    ).fetchone() == ("bob",)
