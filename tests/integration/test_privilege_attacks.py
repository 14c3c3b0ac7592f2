"""A hostile but ordinary role over the wire: every way found to reach the server's own state,
files, settings or logs is refused with 42501 and leaves the data directory unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors as pgerrors
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

CONFIG = "inline_rows = 0\n[maintenance]\ninterval = 0\nat_startup = false\n" + "".join(
    f'[users.{name}]\npassword = "{make_verifier("pw")}"\nsuperuser = {str(admin).lower()}\n'
    for name, admin in (("alice", True), ("bob", False))
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("attacks") / "data", config=CONFIG)
    with psycopg.connect(running.dsn(user="alice", password="pw"), autocommit=True) as alice:
        alice.execute("CREATE TABLE victim AS SELECT range AS id FROM range(100)")
        alice.execute("CREATE TABLE bobs (id INTEGER, note VARCHAR)")
        alice.execute("INSERT INTO bobs VALUES (1, 'one'), (2, 'two')")
        alice.execute("GRANT SELECT ON bobs TO bob")
    yield running
    assert "Traceback" not in running.stop()


@pytest.fixture
def bob(lake: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(lake.dsn(user="bob", password="pw"), autocommit=True) as conn:
        yield conn


def state(server: RunningServer) -> tuple[list[str], str]:
    """The data directory's files (outside tmp/) and the catalog's checksum."""
    data = server.data_dir
    files = sorted(
        str(p.relative_to(data)) for p in data.rglob("*")
        if p.is_file() and p.relative_to(data).parts[0] != "tmp"
        and not p.name.startswith("server.duckdb")
    )
    digest = hashlib.sha256()
    for name in ("catalog.ducklake", "catalog.ducklake.wal"):
        path = data / name
        if path.exists():
            digest.update(path.read_bytes())
    return files, digest.hexdigest()


def attack(server: RunningServer, conn: psycopg.Connection, sql: str,
           prepare: bool | None = None) -> None:
    before = state(server)
    with pytest.raises(pgerrors.InsufficientPrivilege) as refused:
        conn.execute(sql, prepare=prepare)
    assert refused.value.sqlstate == "42501"
    assert conn.execute("SELECT 'still usable'").fetchone() == ("still usable",)
    assert state(server) == before, sql


def attacks(data: str) -> list[str]:
    meta = "__ducklake_metadata_forge"
    return [
        # Files through COPY wrapped in PREPARE and EXPLAIN, and a column named stdout.
        f"PREPARE p AS COPY (SELECT 'x') TO '{data}/catalog.ducklake' (FORMAT csv)",
        f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{data}/lake/planted.csv'",
        f"EXPLAIN COPY (SELECT 1) TO '{data}/lake/planted.csv'",
        f"EXPLAIN (ANALYZE) COPY (SELECT 1) TO '{data}/lake/planted.csv'",
        f"COPY (SELECT 1 AS stdout) TO '{data}/lake/planted.csv'",
        f"COPY victim TO '{data}/victim.csv'",
        # The DuckLake metadata, whatever the spelling.
        f"SELECT * FROM {meta}.ducklake_table",
        f'SELECT * FROM "{meta.upper()}".main.ducklake_data_file',
        f'SELECT * FROM "{meta}"."main"."ducklake_snapshot"',
        f"INSERT INTO {meta}.ducklake_snapshot SELECT * FROM {meta}.ducklake_snapshot",
        f"UPDATE {meta}.ducklake_table SET table_name = 'x'",
        f"DELETE FROM {meta}.ducklake_data_file",
        f"WITH c AS (SELECT * FROM {meta}.ducklake_data_file) SELECT * FROM c",
        f"SELECT (SELECT count(*) FROM {meta}.ducklake_data_file)",
        f"CREATE VIEW peek AS SELECT * FROM {meta}.ducklake_data_file",
        f"CREATE TABLE stolen AS SELECT * FROM {meta}.ducklake_data_file",
        f"USE {meta}",
        # The server's bookkeeping in the lake.
        "SELECT * FROM forge_meta.migrations",
        'SELECT * FROM "FORGE_META"."MIGRATIONS"',
        "SELECT * FROM forge.forge_meta.constraints",
        "INSERT INTO forge_meta.migration_lock VALUES ('x', 'y', now(), now())",
        "DELETE FROM forge_meta.migrations",
        "UPDATE forge_meta.constraints SET name = 'x'",
        "INSERT INTO forge_meta.external_datasets SELECT * FROM forge_meta.external_datasets",
        "CREATE TABLE forge_meta.planted (a INTEGER)",
        "DROP SCHEMA forge_meta CASCADE",
        "CREATE SCHEMA forge_meta",
        "ALTER TABLE forge_meta.migrations RENAME TO m",
        "SELECT * FROM bobs UNION ALL SELECT 1, name FROM forge_meta.constraints",
        # The server's own database and the catalog emulation.
        "DROP VIEW server.pgc.pg_stat_activity",
        "DROP VIEW pg_stat_activity",
        'DROP VIEW "PG_STAT_ACTIVITY"',
        "CREATE OR REPLACE VIEW pg_class AS SELECT 1 AS oid",
        "CREATE VIEW public.pg_type AS SELECT 1 AS oid",
        "CREATE TABLE pg_namespace (oid INTEGER)",
        "ALTER VIEW pg_roles RENAME TO r",
        "ALTER TABLE bobs RENAME TO pg_attribute",
        "COMMENT ON VIEW pg_class IS 'x'",
        "INSERT INTO declared_keys SELECT * FROM declared_keys",
        "DELETE FROM catalog_relations",
        "CREATE TABLE server.main.planted (a INTEGER)",
        "CREATE TABLE server.planted (a INTEGER)",
        "CREATE TABLE pgc.planted (a INTEGER)",
        "SELECT * FROM server.pgc.declared_keys",
        "USE server.pgc",
        "SELECT * FROM system.main.duckdb_logs",
        # Macros and views in public that every session would find before the built-ins.
        "CREATE MACRO lower(x) AS 'pwned'",
        "CREATE OR REPLACE MACRO public.has_table_privilege(a, b, c) AS true",
        "CREATE FUNCTION current_user() AS 'alice'",
        "CREATE MACRO version() AS 'PostgreSQL 99'",
        "CREATE VIEW duckdb_tables AS SELECT 1 AS x",
        # Logging, profiling, checkpoints, settings.
        "CALL enable_logging()",
        "SELECT * FROM enable_logging()",
        "SELECT * FROM duckdb_logs",
        "SELECT * FROM duckdb_logs()",
        "SELECT * FROM duckdb_logs_parsed('QueryLog')",
        "SELECT write_log('x')",
        "PRAGMA enable_profiling",
        "PRAGMA force_checkpoint",
        "SELECT * FROM force_checkpoint()",
        "SELECT * FROM checkpoint()",
        "CHECKPOINT",
        "FORCE CHECKPOINT",
        "VACUUM",
        "VACUUM bobs",
        "SELECT * FROM duckdb_secrets()",
        "SELECT * FROM which_secret('s3://bucket/x', 's3')",
        "SELECT * FROM duckdb_memory()",
        "SELECT * FROM pragma_storage_info('bobs')",
        "SET threads = 1",
        # Files inside the data directory: the catalog and the lake's raw Parquet.
        f"SELECT * FROM '{data}/catalog.ducklake'",
        f"SELECT * FROM read_text('{data}/catalog.ducklake')",
        f"SELECT * FROM read_blob('{data}/catalog.ducklake')",
        f"SELECT * FROM read_parquet('{data}/lake/**/*.parquet')",
        f"SELECT * FROM parquet_metadata('{data}/lake/**/*.parquet')",
        f"SELECT * FROM glob('{data}/*')",
        f"SELECT * FROM bobs, '{data}/lake/x.parquet'",
        f"SELECT * FROM bobs JOIN '{data}/lake/x.parquet' ON true",
        f'SELECT * FROM "{data}/lake/x.parquet"',
        f"SELECT * FROM sniff_csv('{data}/catalog.ducklake')",
        # DuckLake's functions that list files or read changes past the catalog.
        "SELECT * FROM ducklake_list_files('forge', 'victim')",
        "SELECT * FROM ducklake_table_changes('forge', 'public', 'victim', 0, 10)",
        "SELECT * FROM ducklake_snapshots('forge')",
        # SQL run from strings.
        "SELECT * FROM query('SELECT * FROM forge_meta.migrations')",
        "SELECT * FROM query_table('forge_meta.migrations')",
        "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
    ]


ATTACKS = attacks("{data}")


@pytest.mark.parametrize("template", ATTACKS)
def test_refused(lake: RunningServer, bob: psycopg.Connection, template: str) -> None:
    attack(lake, bob, template.format(data=lake.data_dir))


@pytest.mark.parametrize("template", [
    "SELECT * FROM forge_meta.migrations WHERE version = %s",
    "SELECT * FROM read_text(%s::VARCHAR)",
    "PREPARE q AS SELECT * FROM __ducklake_metadata_forge.ducklake_table",
    "DECLARE c CURSOR FOR SELECT * FROM forge_meta.migrations",
])
def test_refused_prepared(lake: RunningServer, bob: psycopg.Connection, template: str) -> None:
    """The extended protocol, SQL-level PREPARE and cursors are checked the same way."""
    before = state(lake)
    with pytest.raises(pgerrors.InsufficientPrivilege):
        if "%s" in template:
            bob.execute(template, ("x",), prepare=True)
        else:
            with bob.transaction():
                bob.execute(template)
    with pytest.raises(pgerrors.InsufficientPrivilege):
        bob.cursor(binary=True).execute(template.replace("%s", "'x'"), prepare=True)
    assert state(lake) == before


def test_execute_of_a_refused_prepare_finds_nothing(lake: RunningServer,
                                                    bob: psycopg.Connection) -> None:
    target = lake.data_dir / "catalog.ducklake"
    attack(lake, bob, f"PREPARE p AS COPY (SELECT 'x') TO '{target}' (FORMAT csv)")
    with pytest.raises(psycopg.Error):
        bob.execute("EXECUTE p")
    assert not target.read_bytes().startswith(b"x")


ALLOWED = [
    ("SELECT 1", [(1,)]),
    ("SELECT count(*) FROM range(3)", [(3,)]),
    ("CREATE OR REPLACE MACRO bobs_double(x) AS x * 2", None),
    ("SELECT bobs_double(21)", [(42,)]),
    ("SELECT count(*) FROM generate_series(1, 4)", [(4,)]),
    ("SELECT unnest([1, 2])", [(1,), (2,)]),
    ("SELECT count(*) > 0 FROM pg_class", [(True,)]),
    ("SELECT count(*) > 0 FROM pg_catalog.pg_namespace", [(True,)]),
    ("SELECT count(*) > 0 FROM information_schema.columns", [(True,)]),
    ("SELECT count(*) > 0 FROM duckdb_tables()", [(True,)]),
    ("SELECT version() LIKE 'PostgreSQL%'", [(True,)]),
    ("SELECT count(*) > 0 FROM forge_snapshots()", [(True,)]),
    ("SELECT 'forge_meta.migrations', '__ducklake_metadata_forge' AS x", None),
    ("SELECT 'read_text(' AS server", None),
    ("ANALYZE", None),
]


@pytest.mark.parametrize(("sql", "rows"), ALLOWED)
def test_allowed(bob: psycopg.Connection, sql: str, rows: list[tuple[object, ...]] | None
                 ) -> None:
    cursor = bob.execute(sql)
    if rows is not None:
        assert cursor.fetchall() == rows


def test_catalog_browsing_still_works(lake: RunningServer, bob: psycopg.Connection) -> None:
    """What psql's \\d and SQLAlchemy send goes through the emulation, not the internals."""
    rows = bob.execute(
        "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1"
    ).fetchall()
    assert ("victim",) in rows
    assert ("migrations",) not in rows


# -- generated statements --------------------------------------------------------------------
FORBIDDEN_RELATIONS = [
    "forge_meta.migrations",
    '"forge_meta"."constraints"',
    "FORGE_META.Migration_Lock",
    "__ducklake_metadata_forge.ducklake_table",
    '"__DUCKLAKE_METADATA_FORGE"."main"."ducklake_data_file"',
    "server.pgc.declared_keys",
    "read_text('/etc/passwd')",
    "read_parquet('lake/*.parquet')",
    "duckdb_logs()",
    "main.read_blob('x')",
]
ALLOWED_RELATIONS = [
    "bobs",
    "public.bobs",
    '"bobs"',
    "pg_catalog.pg_class",
    "pg_type",
    "information_schema.tables",
    "range(3)",
    "generate_series(1, 2)",
    "(SELECT 1 AS one)",
]
SHAPES = [
    "SELECT count(*) FROM {a} x, {b} y",
    "SELECT count(*) FROM {a} x JOIN {b} y ON true",
    "WITH w AS (SELECT * FROM {b}) SELECT count(*) FROM {a} x, w",
    "SELECT (SELECT count(*) FROM {a} x) + (SELECT count(*) FROM {b} y)",
    "SELECT count(*) FROM (SELECT 1 AS k FROM {a} x UNION ALL SELECT 1 FROM {b} y) u",
    "EXPLAIN SELECT count(*) FROM {a} x, {b} y",
    "SELECT count(*) FROM {a} x WHERE EXISTS (SELECT 1 FROM {b} y)",
]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shape=st.sampled_from(SHAPES),
    first=st.sampled_from(ALLOWED_RELATIONS + FORBIDDEN_RELATIONS),
    second=st.sampled_from(ALLOWED_RELATIONS + FORBIDDEN_RELATIONS),
    prepared=st.booleans(),
)
def test_generated_statements_never_reach_a_forbidden_object(
    lake: RunningServer, bob: psycopg.Connection, shape: str, first: str, second: str,
    prepared: bool,
) -> None:
    sql = shape.format(a=first, b=second)
    forbidden = first in FORBIDDEN_RELATIONS or second in FORBIDDEN_RELATIONS
    if forbidden:
        with pytest.raises(pgerrors.InsufficientPrivilege):
            bob.execute(sql, prepare=prepared)
    else:
        bob.execute(sql, prepare=prepared).fetchall()


def test_tools_catalog_statements_pass_for_a_role(lake: RunningServer,
                                                  bob: psycopg.Connection) -> None:
    """What psql, DBeaver, Metabase, Grafana, pgAdmin, pgcli and ADBC send to browse is
    never refused to an ordinary role (shared/corpus)."""
    from test_catalog_corpus import _catalog_statements, _tool_statements

    statements = [sql for _, _, sql in _tool_statements()]
    statements += [item["sql"] for item in _catalog_statements()]
    assert len(statements) > 100
    refused = []
    for sql in statements:
        try:
            bob.execute(sql)
        except pgerrors.InsufficientPrivilege:
            refused.append(sql)
        except psycopg.Error:
            pass  # objects the corpus server has and this one lacks; test_catalog_corpus
    assert refused == []


@pytest.fixture
def secret_schema(lake: RunningServer) -> Iterator[psycopg.Connection]:
    """Schema sp_secret with its own ``bobs`` and ``victim``, which bob may not read."""
    with psycopg.connect(lake.dsn(user="alice", password="pw"), autocommit=True) as alice:
        alice.execute("DROP SCHEMA IF EXISTS sp_secret CASCADE")
        alice.execute("CREATE SCHEMA sp_secret")
        alice.execute("CREATE TABLE sp_secret.bobs (id INTEGER, note VARCHAR)")
        alice.execute("INSERT INTO sp_secret.bobs VALUES (7, 'secret')")
        alice.execute("CREATE TABLE sp_secret.victim AS SELECT 42 AS id")
        yield alice
        alice.execute("DROP SCHEMA IF EXISTS sp_secret CASCADE")


def test_search_path_skips_a_schema_without_usage(
        lake: RunningServer, bob: psycopg.Connection, secret_schema: psycopg.Connection
) -> None:
    """PostgreSQL leaves a schema the role has no USAGE on out of its search path: the
    unqualified name reaches public's table, never the schema's."""
    bob.execute("SET search_path = sp_secret, public")
    assert bob.execute("SELECT current_schemas(false)").fetchone() == (["public"],)
    assert bob.execute("SELECT note FROM bobs ORDER BY id").fetchall() == [("one",), ("two",)]
    assert bob.execute("SELECT note FROM bobs WHERE id = %s", [1],
                       prepare=True).fetchall() == [("one",)]
    attack(lake, bob, "SELECT * FROM victim")  # public.victim: alice's, not granted


@pytest.mark.parametrize("sql", [
    "SELECT note FROM bobs", "SELECT * FROM victim", "INSERT INTO bobs VALUES (3, 'x')",
    "UPDATE bobs SET note = 'x'", "DELETE FROM bobs", "TRUNCATE bobs",
    "EXPLAIN SELECT * FROM bobs", "WITH c AS (SELECT * FROM bobs) SELECT * FROM c",
    "SELECT * FROM (SELECT note FROM bobs) AS s", "DECLARE c CURSOR FOR SELECT * FROM bobs",
    "COPY bobs TO STDOUT",
])
@pytest.mark.parametrize("prepared", [False, True], ids=["simple", "prepared"])
def test_search_path_to_a_readable_schema_checks_what_it_resolves(
        lake: RunningServer, bob: psycopg.Connection, secret_schema: psycopg.Connection,
        sql: str, prepared: bool,
) -> None:
    """With USAGE on sp_secret, ``bobs`` resolves to sp_secret.bobs, which bob may not
    read or write, though he may read public.bobs: refused, as PostgreSQL refuses it."""
    secret_schema.execute("GRANT USAGE ON SCHEMA sp_secret TO bob")
    bob.execute("SET search_path = sp_secret, public")
    assert bob.execute("SELECT has_table_privilege('bobs', 'SELECT')").fetchone() == (False,)
    if sql.startswith("DECLARE"):
        with bob.transaction():
            with pytest.raises(pgerrors.InsufficientPrivilege):
                bob.execute(sql)
            raise psycopg.Rollback
        return
    if sql.startswith("COPY"):
        with pytest.raises(pgerrors.InsufficientPrivilege), bob.cursor().copy(sql):
            pass
        return
    attack(lake, bob, sql, prepare=prepared)
    assert secret_schema.execute("SELECT note FROM sp_secret.bobs").fetchall() == [("secret",)]


def test_search_path_set_after_prepare_is_checked_again(
        lake: RunningServer, bob: psycopg.Connection, secret_schema: psycopg.Connection
) -> None:
    """A statement prepared while ``bobs`` meant public.bobs is checked again when the
    path makes it mean sp_secret.bobs."""
    secret_schema.execute("GRANT USAGE ON SCHEMA sp_secret TO bob")
    query = "SELECT note FROM bobs WHERE id > %s ORDER BY id"
    assert bob.execute(query, [0], prepare=True).fetchall() == [("one",), ("two",)]
    bob.execute("SET search_path = sp_secret, public")
    with pytest.raises(pgerrors.InsufficientPrivilege):
        bob.execute(query, [0], prepare=True)
    bob.execute("RESET search_path")
    assert bob.execute(query, [0], prepare=True).fetchall() == [("one",), ("two",)]


def test_search_path_cannot_create_in_or_reach_a_foreign_schema(
        lake: RunningServer, bob: psycopg.Connection, secret_schema: psycopg.Connection
) -> None:
    """An unqualified CREATE goes to the path's first schema: without CREATE there, 42501;
    with no schema on the path at all, 3F000; nothing is created."""
    secret_schema.execute("GRANT USAGE ON SCHEMA sp_secret TO bob")
    bob.execute("SET search_path = sp_secret, public")
    attack(lake, bob, "CREATE TABLE sp_planted (i INTEGER)")
    attack(lake, bob, "CREATE VIEW bobs2 AS SELECT 1 AS i")
    bob.execute("SET search_path = sp_nothing_here")
    with pytest.raises(pgerrors.InvalidSchemaName):
        bob.execute("CREATE TABLE sp_planted (i INTEGER)")
    assert secret_schema.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'sp_planted'"
    ).fetchone() == (0,)
