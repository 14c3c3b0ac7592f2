"""PostgreSQL value semantics for every statement (issue 16), side by side with a real
PostgreSQL: integer division, NULLs first in descending order, format(), SIMILAR TO; and
``forge.semantics = 'duckdb'`` giving a session (or the server) DuckDB's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

TABLE = "semantics_t"
CREATE = f"CREATE TABLE {TABLE} (id integer, i integer, s text, iv interval)"
FILL = (
    f"INSERT INTO {TABLE} VALUES (1, 7, 'abc', INTERVAL '1 hour'), (2, NULL, NULL, NULL), "
    f"(3, -7, 'a_c', INTERVAL '1 month'), (4, 2, 'a%c', INTERVAL '3 days 5 hours'), "
    f"(5, NULL, 'xyz', INTERVAL '1 year 2 months')"
)

# Each statement's rows must equal PostgreSQL's.
SAME = [
    "SELECT 7 / 2, -7 / 2, 7 / -2, 7.0 / 2, 7 / 2.0, 1 / 3 * 3",
    "SELECT 7::int2 / 2::int2, 7::int8 / 2, 9 / 3 / 2, 10 % 3, -10 % 3",
    f"SELECT id, i / 2, (i / 2)::text, i * 1.0 / 4 FROM {TABLE} ORDER BY id",
    f"SELECT id, iv / 2, iv / 2.5, iv / 7 FROM {TABLE} ORDER BY id",
    f"SELECT sum(i)::int / count(i)::int, count(*)::int / 2 FROM {TABLE}",
    f"SELECT id FROM {TABLE} ORDER BY i DESC, id LIMIT 3",
    f"SELECT id FROM {TABLE} ORDER BY i, id LIMIT 3",
    f"SELECT id FROM {TABLE} ORDER BY i DESC NULLS LAST, id LIMIT 3",
    f"SELECT id, row_number() OVER (ORDER BY i DESC, id) FROM {TABLE} ORDER BY id",
    f"SELECT id, first_value(id) OVER (ORDER BY s DESC) FROM {TABLE} ORDER BY id",
    f"SELECT string_agg(id::text, ',' ORDER BY i DESC, id) FROM {TABLE}",
    f"SELECT id FROM (SELECT id, i FROM {TABLE} ORDER BY i DESC, id LIMIT 2) t ORDER BY id",
    # The server's own macros divide as DuckDB does: their answers must not change.
    "SELECT pg_size_pretty(10240::bigint), pg_size_pretty(123456789::bigint), "
    "pg_size_pretty(1536::bigint), pg_size_pretty(-5000::bigint), pg_size_pretty(0::bigint)",
    "SELECT format('%s-%s', 'a', 1), format('%s|%s|', NULL, 'x'), format('100%%')",
    "SELECT format('%3$s, %2$s, %1$s', 'a', 'b', 'c'), format('%1$s %1$s', 'x')",
    "SELECT format('|%10s|%-10s|%*s|%*s|', 'foo', 'bar', 6, 'ab', -6, 'cd')",
    "SELECT format('%I.%I', 'public', 'My Table'), format('%I', 'select'), format('%I', 'ok')",
    "SELECT format('%L, %L, %L', 'it''s', NULL, 42), format('INSERT INTO %I VALUES (%L)', "
    "'t', 'x')",
    "SELECT format('{}', 1), format('%s', 2.50), format(NULL, 1)",
    f"SELECT id, format('%s:%L', s, i) FROM {TABLE} ORDER BY id",
    f"SELECT id, s SIMILAR TO 'a%' FROM {TABLE} ORDER BY id",
    f"SELECT id, s SIMILAR TO 'a_c', s NOT SIMILAR TO '%(b|y)%' FROM {TABLE} ORDER BY id",
    f"SELECT id, s SIMILAR TO 'a#%c' ESCAPE '#', s SIMILAR TO 'a\\_c' FROM {TABLE} ORDER BY id",
    "SELECT 'abc' SIMILAR TO 'a.c', 'a.c' SIMILAR TO 'a.c', 'abbbc' SIMILAR TO 'ab{2,3}c', "
    "'abc' SIMILAR TO '[a-c]+', 'abc' SIMILAR TO '(a|x)(b|y)c', 'ab' SIMILAR TO 'a?b+'",
]


# Each statement's result types (OIDs) and rows must equal PostgreSQL's.
TYPED = [
    # Lengths, positions, ntile, gcd: integer (int4) as in PostgreSQL, not bigint.
    f"SELECT id, length(s), char_length(s), character_length(s), bit_length(s), "
    f"strpos(s, 'c'), position('c' IN s), octet_length(s) FROM {TABLE} ORDER BY id",
    f"SELECT id, ntile(2) OVER (ORDER BY id), ntile(3) OVER w FROM {TABLE} "
    "WINDOW w AS (ORDER BY id DESC) ORDER BY id",
    f"SELECT id, length(s) + 1, position('c' IN s) * 2, gcd(i, 4), lcm(i, 3) FROM {TABLE} "
    "ORDER BY id",
    "SELECT gcd(12::int8, 18), gcd(2::int2, 4), json_array_length('[1, [2, 3]]'::json), "
    "json_array_length(NULL::json)",
    # avg, stddev, variance of integers and numeric are numeric (of floats float8); sum of
    # integers bigint, of bigint numeric. Compared at 10 decimals: the server's numeric
    # keeps 10 where PostgreSQL's avg keeps 16 or 20.
    f"SELECT round(avg(i), 10), round(avg(id::int2), 10), round(avg(id::int8), 10), "
    f"round(avg(id::numeric), 10), avg(id::float8), round(stddev(i), 10), "
    f"round(variance(id::numeric), 10), round(var_pop(i), 10), stddev_samp(id::float8) "
    f"FROM {TABLE}",
    f"SELECT sum(i), sum(id::int2), sum(id::int8), sum(id::numeric(10, 2)), sum(id::float8), "
    f"sum(id::real), sum(DISTINCT i), sum(i) FILTER (WHERE id > 2), sum(i * 2) FROM {TABLE}",
    f"SELECT id, sum(i) OVER (ORDER BY id), round(avg(i) OVER (ORDER BY id), 10), "
    f"sum(id::int2) OVER w FROM {TABLE} WINDOW w AS (PARTITION BY id % 2) ORDER BY id",
    f"SELECT id % 2, sum(i), round(avg(i), 10) FROM {TABLE} GROUP BY 1 HAVING sum(i) > -10 "
    "ORDER BY sum(i)",
    # avg of an interval is an interval.
    f"SELECT avg(iv), avg(iv) FILTER (WHERE id > 1) FROM {TABLE}",
    # Casts are named after their type as written.
    "SELECT 'x'::varchar, CAST('x' AS character varying(3)), '{a}'::text[], "
    "CAST('{1}' AS integer[]), '[1]'::json, 1::double precision, '1'::float(3), "
    "DATE '2024-01-15', TIME '01:02:03', true::text, ('1'::int)::text, 1::text::varchar",
]


@pytest.fixture(scope="module")
def both(server: RunningServer, postgres: PostgresServer  # noqa: F811
         ) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, \
            psycopg.connect(postgres.dsn, autocommit=True) as pg:
        for conn in (forge, pg):
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
            conn.execute(CREATE)
            conn.execute(FILL)
        yield forge, pg
        for conn in (forge, pg):
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")


def rows(conn: psycopg.Connection, sql: str) -> list[tuple[object, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


@pytest.mark.parametrize("sql", SAME)
def test_values_as_postgresql(
    both: tuple[psycopg.Connection, psycopg.Connection], sql: str
) -> None:
    forge, pg = both
    assert rows(forge, sql) == rows(pg, sql)


@pytest.mark.parametrize("sql", TYPED)
def test_types_as_postgresql(
    both: tuple[psycopg.Connection, psycopg.Connection], sql: str
) -> None:
    """Column names, type OIDs and values equal PostgreSQL's, in text and in binary."""
    forge, pg = both
    for binary in (False, True):
        answers = []
        for conn in (forge, pg):
            with conn.cursor(binary=binary) as cur:
                cur.execute(sql)
                answers.append(([(c.name, c.type_code) for c in cur.description or ()],
                                cur.fetchall()))
        assert answers[0] == answers[1]


@pytest.mark.parametrize(
    "sql",
    ["SELECT 7 / 2, -7 / 2, 7 / -2, 1 / 3 * 3", SAME[1],
     f"SELECT id, i / 2, i % 3 FROM {TABLE} ORDER BY id"],
)
def test_prepared_as_postgresql(
    both: tuple[psycopg.Connection, psycopg.Connection], sql: str
) -> None:
    """The extended protocol (binary results) gives the same values and types."""
    forge, pg = both
    with forge.cursor(binary=True) as one, pg.cursor(binary=True) as two:
        one.execute(sql, prepare=True)
        two.execute(sql, prepare=True)
        assert [c.type_code for c in one.description or ()] == [
            c.type_code for c in two.description or ()]
        assert one.fetchall() == two.fetchall()


@pytest.mark.parametrize("pattern", ["a%", "a_c", "%(b|y)%", "a.c", "[a-c]+%"])
def test_similar_to_a_parameter(
    both: tuple[psycopg.Connection, psycopg.Connection], pattern: str
) -> None:
    """A pattern known only when the statement runs is translated then."""
    forge, pg = both
    sql = f"SELECT id, s SIMILAR TO %s FROM {TABLE} ORDER BY id"
    answers = []
    for conn in (forge, pg):
        with conn.cursor() as cur:
            cur.execute(sql, (pattern,))
            answers.append(cur.fetchall())
    assert answers[0] == answers[1]


@pytest.mark.parametrize(
    ("sql", "sqlstate"),
    [
        ("SELECT 1 / 0", "22012"),
        ("SELECT INTERVAL '1 hour' / 0", "22012"),
        ("SELECT format('%I', NULL)", "22004"),
        ("SELECT format('%s %s', 1)", "22023"),
        ("SELECT format('%d', 1)", "22023"),
        ("SELECT sqrt(-1::float8)", "2201F"),
        ("SELECT ln(0::float8)", "2201E"),
        ("SELECT log(-1::float8)", "2201E"),
        ("SELECT s::date FROM semantics_t WHERE id = 1", "22007"),
        ("SELECT s::time FROM semantics_t WHERE id = 1", "22007"),
        ("SELECT (s || ' 1')::timestamp FROM semantics_t WHERE id = 1", "22007"),
        ("SELECT s::interval FROM semantics_t WHERE id = 1", "22007"),
        ("SELECT ('2024-13-' || id)::date FROM semantics_t WHERE id = 1", "22008"),
        ("SELECT ('25:00:0' || id)::time FROM semantics_t WHERE id = 1", "22008"),
        ("SELECT (1e11 * id)::numeric(20, 0)::int FROM semantics_t WHERE id = 1", "22003"),
        ("SELECT to_timestamp(1e300 * id) FROM semantics_t WHERE id = 1", "22008"),
        ("SELECT position('c' IN s) * 2147483647 FROM semantics_t WHERE id = 1", "22003"),
        ("SELECT json_array_length('3'::json)", "22023"),
        ("SELECT json_array_length('{}'::json)", "22023"),
    ],
)
def test_errors_as_postgresql(
    both: tuple[psycopg.Connection, psycopg.Connection], sql: str, sqlstate: str
) -> None:
    forge, pg = both
    codes = []
    for conn in (forge, pg):
        with pytest.raises(psycopg.Error) as caught:
            rows(conn, sql)
        codes.append(caught.value.sqlstate)
    assert codes == [sqlstate, sqlstate]


def test_session_asks_for_duckdb_semantics(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        nulls = "SELECT x FROM (VALUES (1), (NULL), (3)) t(x) ORDER BY x DESC"
        assert rows(conn, "SHOW forge.semantics") == [("postgres",)]
        assert rows(conn, "SELECT 7 / 2") == [(3,)]
        conn.execute("SET forge.semantics = 'duckdb'")
        assert rows(conn, "SHOW forge.semantics") == [("duckdb",)]
        assert rows(conn, "SELECT 7 / 2") == [(3.5,)]
        assert rows(conn, nulls) == [(3,), (1,), (None,)]
        assert rows(conn, "SELECT format('{}-{}', 'a', 1)") == [("a-1",)]
        assert rows(conn, "SELECT 'abc' SIMILAR TO 'a.c'") == [(True,)]
        conn.execute("RESET forge.semantics")
        assert rows(conn, "SELECT 7 / 2") == [(3,)]
        assert rows(conn, nulls) == [(None,), (3,), (1,)]
        # Inside a transaction, as other SETs: ROLLBACK undoes it, SET LOCAL ends with it.
        conn.execute("BEGIN")
        conn.execute("SET forge.semantics = duckdb")
        assert rows(conn, nulls) == [(3,), (1,), (None,)]
        conn.execute("ROLLBACK")
        assert rows(conn, nulls) == [(None,), (3,), (1,)]
        assert rows(conn, "SELECT 7 / 2") == [(3,)]
        conn.execute("BEGIN")
        conn.execute("SET LOCAL forge.semantics = 'duckdb'")
        assert rows(conn, "SELECT 7 / 2") == [(3.5,)]
        conn.execute("COMMIT")
        assert rows(conn, "SELECT 7 / 2") == [(3,)]
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SET forge.semantics = 'oracle'")
        assert rows(conn, "SELECT setting FROM pg_settings WHERE name = 'forge.semantics'") == [
            ("postgres",)]


def test_cursors_and_copy_follow_the_session(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        copy = "COPY (SELECT x FROM (VALUES (1), (NULL)) t(x) ORDER BY x DESC) TO STDOUT"
        for semantics, half, first in (("postgres", 3, "\\N"), ("duckdb", 3.5, "1")):
            conn.execute(f"SET forge.semantics = {semantics}")
            with conn.transaction():
                conn.execute("DECLARE c CURSOR FOR SELECT 7 / 2")
                assert rows(conn, "FETCH c") == [(half,)]
            with conn.cursor().copy(copy) as out:
                text = b"".join(bytes(block) for block in out).decode()
            assert text.split("\n")[0] == first


def test_one_session_does_not_change_another(server: RunningServer) -> None:
    """DuckDB's plain SET of default_null_order is global: sessions set their own."""
    nulls = "SELECT x FROM (VALUES (1), (NULL)) t(x) ORDER BY x DESC"
    with psycopg.connect(server.dsn(), autocommit=True) as one, \
            psycopg.connect(server.dsn(), autocommit=True) as two:
        one.execute("SET forge.semantics = 'duckdb'")
        assert rows(one, nulls) == [(1,), (None,)]
        assert rows(two, nulls) == [(None,), (1,)]


def test_views_keep_the_semantics_they_were_created_with(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE OR REPLACE VIEW semantics_half AS SELECT 7 / 2 AS half")
        conn.execute("SET forge.semantics = 'duckdb'")
        assert rows(conn, "SELECT half FROM semantics_half") == [(3,)]
        conn.execute("DROP VIEW semantics_half")


@pytest.mark.slow
def test_server_configured_for_duckdb_semantics(tmp_path: Path) -> None:
    """The configuration file gives the server's default; a role that is not a superuser
    may use what the rewrites call (forge_divisor, forge_similar_to_regex, quote_ident)."""
    config = f'semantics = "duckdb"\n\n[users.bob]\npassword = "{make_verifier("pw")}"\n'
    running = start_server(tmp_path / "data", config=config)
    try:
        with psycopg.connect(running.dsn(user="bob", password="pw"), autocommit=True) as conn:
            assert rows(conn, "SELECT 7 / 2") == [(3.5,)]
            conn.execute("SET forge.semantics = 'postgres'")
            assert rows(conn, "SELECT x / 2, x % 4 FROM (VALUES (7)) t(x)") == [(3, 3)]
            with pytest.raises(psycopg.errors.DivisionByZero):
                conn.execute("SELECT x / (x - 7) FROM (VALUES (7)) t(x)")
            assert rows(conn, "SELECT format('%I.%L', 'a b', 'c')") == [('"a b".\'c\'',)]
            with conn.cursor() as cur:
                cur.execute("SELECT 'a.c' SIMILAR TO %s", ("a_c",))
                assert cur.fetchall() == [(True,)]
            conn.execute("RESET forge.semantics")  # the server's default
            assert rows(conn, "SHOW forge.semantics") == [("duckdb",)]
            assert rows(conn, "SELECT 7 / 2") == [(3.5,)]
    finally:
        log = running.stop()
    assert "Traceback" not in log, log
