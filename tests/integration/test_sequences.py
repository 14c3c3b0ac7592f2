"""Sequences, serial and identity columns over the wire: the same answers as the
PostgreSQL fixture (values, type OIDs, SQLSTATEs), values never handed out twice across
sessions, state kept across a restart, and the privileges a non-superuser needs."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

# {t}: a table, {s}: a sequence, both named for the test; run in order on both servers.
SCRIPT = [
    "CREATE SEQUENCE {s}",
    "SELECT nextval('{s}'), nextval('{s}')",
    "SELECT currval('{s}'), lastval()",
    "SELECT setval('{s}', 100)",
    "SELECT nextval('{s}')",
    "SELECT setval('{s}', 5, false), currval('{s}')",
    "SELECT nextval('{s}')",
    "SELECT nextval('{s}'::regclass)",
    "ALTER SEQUENCE {s} RESTART WITH 42",
    "SELECT nextval('{s}')",
    "ALTER SEQUENCE {s} RESTART",
    "SELECT nextval('{s}')",
    # ALTER SEQUENCE is transactional: a ROLLBACK puts back its options, its RESTART and
    # its new name.
    "BEGIN",
    "ALTER SEQUENCE {s} INCREMENT BY 10 RESTART WITH 500",
    "SELECT nextval('{s}'), nextval('{s}')",
    "ALTER SEQUENCE {s} MAXVALUE 1000",
    "ROLLBACK",
    "SELECT nextval('{s}')",
    "SELECT increment_by, max_value FROM pg_sequences WHERE sequencename = '{s}'",
    "BEGIN",
    "ALTER SEQUENCE {s} RENAME TO {s}_r",
    "ROLLBACK",
    "SELECT nextval('{s}')",
    "SELECT count(*) FROM pg_class WHERE relname = '{s}_r'",
    "BEGIN",
    "ALTER SEQUENCE {s} INCREMENT BY 3",
    "COMMIT",
    "SELECT nextval('{s}')",
    "CREATE SEQUENCE {s}",
    "CREATE SEQUENCE IF NOT EXISTS {s}",
    "CREATE SEQUENCE {s}_c AS integer INCREMENT BY 2 MINVALUE 1 MAXVALUE 6 START 3 CACHE 10 "
    "CYCLE",
    "SELECT nextval('{s}_c') FROM generate_series(1, 5) ORDER BY 1",
    "SELECT seqtypid, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle "
    "FROM pg_sequence WHERE seqrelid = '{s}_c'::regclass",
    "SELECT schemaname, sequencename, data_type, start_value, min_value, max_value, "
    "increment_by, cycle, cache_size FROM pg_sequences WHERE sequencename = '{s}_c'",
    "SELECT sequence_schema, sequence_name, data_type, numeric_precision, start_value, "
    "minimum_value, maximum_value, increment, cycle_option FROM information_schema.sequences "
    "WHERE sequence_name = '{s}_c'",
    "SELECT relname, relkind FROM pg_class WHERE relname = '{s}_c'",
    "CREATE SEQUENCE {s}_d INCREMENT -1",
    "SELECT nextval('{s}_d'), nextval('{s}_d')",
    "CREATE SEQUENCE {s}_m MAXVALUE 2",
    "SELECT nextval('{s}_m'), nextval('{s}_m')",
    "SELECT nextval('{s}_m')",
    "SELECT setval('{s}_m', 0)",
    "CREATE SEQUENCE {s}_e INCREMENT 0",
    "CREATE SEQUENCE {s}_e MINVALUE 10 MAXVALUE 1",
    "CREATE SEQUENCE {s}_e AS integer MAXVALUE 9999999999",
    "CREATE SEQUENCE {s}_e START 0",
    "CREATE SEQUENCE {s}_e AS text",
    "SELECT currval('{s}_d')",
    "SELECT nextval('{s}_missing')",
    "DROP SEQUENCE {s}_d, {s}_m",
    "DROP SEQUENCE {s}_d",
    "DROP SEQUENCE IF EXISTS {s}_d",
    "SELECT nextval('{s}_d')",
    # serial columns
    "CREATE TABLE {t} (id serial PRIMARY KEY, a varchar)",
    "INSERT INTO {t} (a) VALUES ('x'), ('y')",
    "INSERT INTO {t} (a) SELECT 'z'",
    "INSERT INTO {t} (id, a) VALUES (100, 'explicit')",
    "SELECT id, a FROM {t} ORDER BY id",
    "SELECT pg_get_serial_sequence('{t}', 'id')",
    "SELECT pg_get_serial_sequence('{t}', 'a')",
    "SELECT currval(pg_get_serial_sequence('{t}', 'id'))",
    "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = '{t}'::regclass",
    "SELECT column_name, column_default, is_nullable, data_type, is_identity "
    "FROM information_schema.columns WHERE table_name = '{t}' ORDER BY ordinal_position",
    "SELECT attname, atttypid, attnotnull, atthasdef, attidentity FROM pg_attribute "
    "WHERE attrelid = '{t}'::regclass AND attnum > 0 ORDER BY attnum",
    "SELECT data_type, start_value, max_value FROM pg_sequences "
    "WHERE sequencename = '{t}_id_seq'",
    "CREATE TABLE {t}_big (id bigserial, b smallserial, c int)",
    "INSERT INTO {t}_big (c) VALUES (1), (2)",
    "SELECT id, b, c FROM {t}_big ORDER BY id",
    "SELECT sequencename, data_type FROM pg_sequences WHERE sequencename LIKE '{t}_big%' "
    "ORDER BY 1",
    # identity columns
    "CREATE TABLE {t}_a (id int GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5), "
    "b int)",
    "INSERT INTO {t}_a (b) VALUES (1), (2)",
    "INSERT INTO {t}_a (id, b) VALUES (1, 3)",
    "INSERT INTO {t}_a (id, b) OVERRIDING SYSTEM VALUE VALUES (1, 3)",
    "UPDATE {t}_a SET id = 7 WHERE b = 1",
    "UPDATE {t}_a SET b = 9 WHERE b = 1",
    "SELECT id, b FROM {t}_a ORDER BY id",
    "SELECT column_name, column_default, is_identity, identity_generation, identity_start, "
    "identity_increment FROM information_schema.columns WHERE table_name = '{t}_a' "
    "ORDER BY ordinal_position",
    "SELECT attname, attidentity, atthasdef FROM pg_attribute "
    "WHERE attrelid = '{t}_a'::regclass AND attnum > 0 ORDER BY attnum",
    "SELECT count(*) FROM pg_attrdef WHERE adrelid = '{t}_a'::regclass",
    "SELECT pg_get_serial_sequence('{t}_a', 'id')",
    "CREATE TABLE {t}_d (id bigint GENERATED BY DEFAULT AS IDENTITY, b int)",
    "INSERT INTO {t}_d (id, b) VALUES (50, 1)",
    "INSERT INTO {t}_d (b) VALUES (2)",
    "SELECT id, b FROM {t}_d ORDER BY id",
    # DEFAULT nextval('s')
    "CREATE SEQUENCE {s}_n START 7",
    "CREATE TABLE {t}_n (id int DEFAULT nextval('{s}_n'), b int)",
    "INSERT INTO {t}_n (b) VALUES (1), (2)",
    "SELECT id, b FROM {t}_n ORDER BY id",
    "SELECT column_default FROM information_schema.columns WHERE table_name = '{t}_n' "
    "AND column_name = 'id'",
    # renames and drops
    "ALTER TABLE {t}_n RENAME TO {t}_r",
    "ALTER TABLE {t} RENAME TO {t}_s",
    "INSERT INTO {t}_s (a) VALUES ('after rename')",
    "TRUNCATE {t}_d RESTART IDENTITY",
    "INSERT INTO {t}_d (b) VALUES (3)",
    "SELECT id, b FROM {t}_d",
    "SELECT id, a FROM {t}_s WHERE a = 'after rename'",
    "SELECT pg_get_serial_sequence('{t}_s', 'id')",
    "DROP TABLE {t}_s",
    "SELECT count(*) FROM pg_class WHERE relname = '{t}_id_seq'",
    "DROP TABLE {t}_big, {t}_a",
    "SELECT count(*) FROM pg_class WHERE relname LIKE '{t}_big%' OR relname = '{t}_a_id_seq'",
]


@pytest.fixture(scope="module")
def both(
    server: RunningServer, postgres: PostgresServer,  # noqa: F811
) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, psycopg.connect(
            postgres.dsn, autocommit=True) as pg:
        yield forge, pg


# Catalog column types compared as one (not a difference of sequences): regtype columns
# are announced as text, information_schema's sql_identifier (name) as varchar
# (docs/compatibility.md); pg_catalog's name, "char" and oid columns as themselves.
_CATALOG_TYPES = {19: 1043, 2206: 25}


def _answer(conn: psycopg.Connection, sql: str) -> object:
    try:
        cursor = conn.execute(sql)
    except psycopg.Error as exc:
        return ("error", exc.sqlstate)
    if cursor.description is None:
        return ("tag", cursor.statusmessage)
    types = [_CATALOG_TYPES.get(d.type_code, d.type_code) for d in cursor.description]
    return ("rows", types, cursor.fetchall())


def test_same_answers_as_postgresql(
    both: tuple[psycopg.Connection, psycopg.Connection],
) -> None:
    forge, pg = both
    name = f"q{uuid.uuid4().hex[:8]}"
    names = {"t": f"{name}_t", "s": f"{name}_s"}
    different = []
    try:
        for template in SCRIPT:
            sql = template.format(**names)
            mine, theirs = _answer(forge, sql), _answer(pg, sql)
            if mine != theirs:
                different.append(f"{sql}\n  forge-sql:  {mine}\n  PostgreSQL: {theirs}")
    finally:
        for conn in (pg,):
            conn.execute(f"DROP TABLE IF EXISTS {names['t']}_r, {names['t']}_d")
            conn.execute(f"DROP SEQUENCE IF EXISTS {names['s']}, {names['s']}_c, "
                         f"{names['s']}_n")
    assert not different, "\n".join(different)


def test_nextval_is_not_rolled_back(conn: psycopg.Connection, other: psycopg.Connection,
                                    table_name: str) -> None:
    conn.execute(f"CREATE SEQUENCE {table_name}")
    with conn.transaction(force_rollback=True):
        assert conn.execute(f"SELECT nextval('{table_name}')").fetchone() == (1,)
    assert other.execute(f"SELECT nextval('{table_name}')").fetchone() == (2,)
    # currval is each session's own
    assert conn.execute(f"SELECT currval('{table_name}')").fetchone() == (1,)
    assert other.execute(f"SELECT currval('{table_name}'), lastval()").fetchone() == (2, 2)


def test_a_rolled_back_create_table_takes_its_sequence_with_it(
        conn: psycopg.Connection, table_name: str) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute(f"CREATE TABLE {table_name} (id serial, a int)")
        conn.execute(f"INSERT INTO {table_name} (a) VALUES (1)")
    assert conn.execute(
        f"SELECT count(*) FROM pg_class WHERE relname = '{table_name}_id_seq'"
    ).fetchone() == (0,)
    conn.execute(f"CREATE TABLE {table_name} (id serial, a int)")  # the name is free again
    conn.execute(f"INSERT INTO {table_name} (a) VALUES (1)")
    assert conn.execute(f"SELECT id FROM {table_name}").fetchall() == [(1,)]


def test_every_way_of_inserting_fills_the_column(
        conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id bigserial, a int, b text)")
    conn.execute(f"INSERT INTO {table_name} (a, b) VALUES (1, 'simple')")
    with conn.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table_name} (a, b) VALUES (%s, %s)", [2, "extended"])
        cursor.executemany(f"INSERT INTO {table_name} (a, b) VALUES (%s, %s)",
                           [(n, "pipelined") for n in range(3, 53)])
        with cursor.copy(f"COPY {table_name} (a, b) FROM STDIN") as copy:
            for n in range(53, 153):
                copy.write_row((n, "copy"))
    conn.execute(f"INSERT INTO {table_name} (a, b) SELECT a + 1000, 'select' "
                 f"FROM {table_name} WHERE a <= 10")
    rows = conn.execute(f"SELECT id, a FROM {table_name}").fetchall()
    ids = [r[0] for r in rows]
    assert len(rows) == 162
    assert None not in ids and len(set(ids)) == len(ids)
    assert sorted(ids) == list(range(1, 163))


def test_concurrent_sessions_never_get_the_same_value(
        server: RunningServer, table_name: str) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE SEQUENCE {table_name}")
        conn.execute(f"CREATE TABLE {table_name}_t (id serial, session int)")
    got: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def draw(number: int) -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                mine = [conn.execute(f"SELECT nextval('{table_name}')").fetchone()[0]
                        for _ in range(40)]
                mine += [v for (v,) in conn.execute(
                    f"SELECT nextval('{table_name}') FROM generate_series(1, 60)").fetchall()]
                for _ in range(10):
                    conn.execute(f"INSERT INTO {table_name}_t (session) VALUES (%s)", [number])
            with lock:
                got.extend(mine)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=draw, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert len(got) == 800 and len(set(got)) == 800
    assert sorted(got) == list(range(1, 801))  # one server: no gaps either
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        ids = [i for (i,) in conn.execute(f"SELECT id FROM {table_name}_t").fetchall()]
    assert sorted(ids) == list(range(1, 81))


def test_state_survives_a_restart(tmp_path: Path) -> None:
    running = start_server(tmp_path / "data")
    try:
        with psycopg.connect(running.dsn(), autocommit=True) as conn:
            conn.execute("CREATE SEQUENCE kept START 10")
            conn.execute("CREATE TABLE kept_t (id serial, a int)")
            assert conn.execute("SELECT nextval('kept'), nextval('kept')").fetchone() == (
                10, 11)
            conn.execute("INSERT INTO kept_t (a) VALUES (1), (2)")
    finally:
        running.stop()
    running = start_server(tmp_path / "data")
    try:
        with psycopg.connect(running.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT nextval('kept')").fetchone() == (12,)
            conn.execute("INSERT INTO kept_t (a) VALUES (3)")
            assert conn.execute("SELECT id FROM kept_t ORDER BY id").fetchall() == [
                (1,), (2,), (3,)]
            assert conn.execute(
                "SELECT last_value FROM pg_sequences WHERE sequencename = 'kept'"
            ).fetchone() == (12,)
    finally:
        log = running.stop()
    assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    verifier = make_verifier("pw")
    config = (
        f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n\n'
        f'[users.bob]\npassword = "{verifier}"\n'
    )
    running = start_server(tmp_path_factory.mktemp("sequences") / "data", config=config)
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


def test_a_role_without_privileges_on_the_sequence_is_refused(users: RunningServer) -> None:
    with psycopg.connect(users.dsn(user="admin", password="pw"), autocommit=True) as admin, \
            psycopg.connect(users.dsn(user="bob", password="pw"), autocommit=True) as bob:
        admin.execute("CREATE SEQUENCE guarded")
        admin.execute("CREATE TABLE guarded_t (id serial, a int)")
        admin.execute("GRANT INSERT, SELECT ON guarded_t TO bob")
        for sql in ("SELECT nextval('guarded')", "SELECT setval('guarded', 5)",
                    "SELECT currval('guarded')", "INSERT INTO guarded_t (a) VALUES (1)",
                    "ALTER SEQUENCE guarded RESTART", "DROP SEQUENCE guarded"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bob.execute(sql)
        assert admin.execute("SELECT nextval('guarded')").fetchone() == (1,)
        admin.execute("GRANT USAGE ON SEQUENCE guarded_t_id_seq TO bob")
        bob.execute("INSERT INTO guarded_t (a) VALUES (1)")
        assert admin.execute("SELECT id FROM guarded_t").fetchall() == [(1,)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT setval('guarded_t_id_seq', 5)")  # USAGE is not UPDATE
        admin.execute("GRANT SELECT ON SEQUENCE guarded TO bob")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            bob.execute("SELECT currval('guarded')")  # allowed, but not drawn yet
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT nextval('guarded')")
        # A sequence bob creates is his own.
        bob.execute("CREATE SEQUENCE bobs")
        assert bob.execute("SELECT nextval('bobs'), setval('bobs', 9)").fetchone() == (1, 9)
        bob.execute("DROP SEQUENCE bobs")


def test_psql_lists_sequences(server: RunningServer, psql_installed: str,
                              table_name: str) -> None:
    import subprocess

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE SEQUENCE {table_name}")
    out = subprocess.run(
        [psql_installed, server.url(), "-X", "-c", r"\ds"], capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert f"{table_name}" in out.stdout and "sequence" in out.stdout



DECLARED = [
    "CREATE TABLE {t} (a varchar(5), b char(3), c text, d varchar, e character varying(2)[])",
    "SELECT attname, atttypid, atttypmod FROM pg_attribute WHERE attrelid = '{t}'::regclass "
    "AND attnum > 0 ORDER BY attnum",
    "SELECT column_name, data_type, character_maximum_length, udt_name "
    "FROM information_schema.columns WHERE table_name = '{t}' ORDER BY ordinal_position",
    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '{t}'::regclass "
    "AND attnum = 1",
    "INSERT INTO {t} (a, b, c, d) VALUES ('abc', 'ab', 'x', 'y')",
    "INSERT INTO {t} (a) VALUES ('abcdef')",
    "INSERT INTO {t} (a) VALUES ('abcd    ')",
    "INSERT INTO {t} (b) VALUES ('abcd')",
    "INSERT INTO {t} VALUES ('toolong', 'x')",
    "INSERT INTO {t} (a, c) SELECT 'much too long', 'z'",
    "INSERT INTO {t} (a, c) SELECT 'fits', 'w'",
    "UPDATE {t} SET a = a || 'xyz' WHERE c = 'x'",
    "UPDATE {t} SET a = 'q' WHERE c = 'x'",
    "UPDATE {t} SET a = 'qqqqqqq' WHERE c = 'x'",
    "SELECT a, d FROM {t} ORDER BY a",
    "ALTER TABLE {t} ADD COLUMN f varchar(3)",
    "INSERT INTO {t} (f) VALUES ('four')",
    "SELECT atttypmod FROM pg_attribute WHERE attrelid = '{t}'::regclass AND attname = 'f'",
]


def test_declared_types_and_lengths_as_postgresql(
    both: tuple[psycopg.Connection, psycopg.Connection],
) -> None:
    forge, pg = both
    table = f"v{uuid.uuid4().hex[:8]}"
    different = []
    try:
        for template in DECLARED:
            sql = template.format(t=table)
            mine, theirs = _answer(forge, sql), _answer(pg, sql)
            if mine != theirs:
                different.append(f"{sql}\n  forge-sql:  {mine}\n  PostgreSQL: {theirs}")
        for conn in (forge, pg):  # a parameter, and COPY
            with pytest.raises(psycopg.errors.StringDataRightTruncation):
                conn.execute(f"INSERT INTO {table} (a) VALUES (%s)", ["sixsix"])
            conn.execute(f"INSERT INTO {table} (a, c) VALUES (%s, 'param')", ["ab   "])
            with pytest.raises(psycopg.errors.StringDataRightTruncation), \
                    conn.cursor().copy(f"COPY {table} (a) FROM STDIN") as copy:
                copy.write_row(["sixsix"])
        rows = [c.execute(f"SELECT a FROM {table} WHERE c = 'param'").fetchall()
                for c in (forge, pg)]
        assert rows[0] == rows[1] == [("ab   ",)]
    finally:
        pg.execute(f"DROP TABLE IF EXISTS {table}")
    assert not different, "\n".join(different)


@pytest.mark.timeout(600)
def test_migrations_declare_serial_and_varchar_n(tmp_path: Path) -> None:
    """A YAML table with serial and varchar(n) columns plans, applies, and plans nothing
    more the second time (through a server; offline runs the same engine code, and opening
    the data directory for each command takes long on a loaded machine)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from migrate_project import project

    for mode in ("online",):
        p = project(tmp_path / mode, mode)
        try:
            p.write("V1__accounts.yaml", """
                table: accounts
                columns:
                  - {name: id, type: serial}
                  - {name: code, type: varchar(4)}
                  - {name: note, type: TEXT}
            """)
            p.run()
            p.write("V2__rows.sql", "INSERT INTO accounts (code) VALUES ('ab'), ('cd');")
            p.run()
            assert p.query("SELECT id, code FROM accounts ORDER BY id") == [
                (1, "ab"), (2, "cd")]
            assert p.query(
                "SELECT pg_get_serial_sequence('accounts', 'id'), format_type(atttypid, "
                "atttypmod) FROM pg_attribute WHERE attrelid = 'accounts'::regclass "
                "AND attname = 'code'") == [("public.accounts_id_seq", "character varying(4)")]
            plan = p.json("plan")
            assert not any(m.get("changes") for m in plan.get("migrations", [])), plan
            p.write("V3__long.sql", "INSERT INTO accounts (code) VALUES ('toolong');")
            failed = p.run(code=None)
            assert failed.exit_code != 0
            assert "value too long" in (failed.stdout + failed.stderr)
        finally:
            p.stop()
