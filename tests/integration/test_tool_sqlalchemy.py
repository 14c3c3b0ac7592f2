"""SQLAlchemy's PostgreSQL reflection on forge-sql and on a real PostgreSQL, for the same
DDL: the Inspector of the installed SQLAlchemy (2.x) answers alike, and the statements
SQLAlchemy 1.4 sends (Apache Superset's version, which cannot share a virtualenv with 2.x)
are replayed as captured from its dialect (sqlalchemy/dialects/postgresql/base.py, 1.4.54)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer
from sqlalchemy import Engine, create_engine, inspect

SCHEMA = f"shop_{uuid.uuid4().hex[:8]}"

DDL = [
    f"CREATE SCHEMA {SCHEMA}",
    f"CREATE TABLE {SCHEMA}.team (id BIGINT PRIMARY KEY, code VARCHAR, UNIQUE (id, code))",
    f"CREATE TABLE {SCHEMA}.thing (id BIGINT PRIMARY KEY, name VARCHAR DEFAULT 'x' UNIQUE, "
    "price DECIMAL(10,2), tags VARCHAR[], seen TIMESTAMPTZ, "
    f"team BIGINT REFERENCES {SCHEMA}.team (id) ON DELETE CASCADE, qty INTEGER NOT NULL "
    "CHECK (qty > 0), CONSTRAINT qty_small CHECK (qty < 100 AND qty <> 50))",
    f"COMMENT ON TABLE {SCHEMA}.thing IS 'things we sell'",
    f"COMMENT ON COLUMN {SCHEMA}.thing.price IS 'in euros'",
    f"CREATE INDEX thing_seen_idx ON {SCHEMA}.thing (seen, price)",
    f"CREATE VIEW {SCHEMA}.per_team AS SELECT team, count(*) AS n, max(qty) AS top "
    f"FROM {SCHEMA}.thing WHERE qty > 1 GROUP BY team",
]

# SQLAlchemy 1.4.54, PGDialect.get_table_oid / get_indexes / get_foreign_keys (server
# version >= 11), with :name parameters as psycopg's.
TABLE_OID_14 = """
            SELECT c.oid
            FROM pg_catalog.pg_class c
            LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE (n.nspname = %(schema)s)
            AND c.relname = %(table_name)s AND c.relkind in
            ('r', 'v', 'm', 'f', 'p')
        """
INDEXES_14 = """
              SELECT
                  i.relname as relname,
                  ix.indisunique, ix.indexprs,
                  a.attname, a.attnum, c.conrelid, ix.indkey::varchar,
                  ix.indoption::varchar, i.reloptions, am.amname,
                  pg_get_expr(ix.indpred, ix.indrelid),
                  ix.indnkeyatts as indnkeyatts
              FROM
                  pg_class t
                        join pg_index ix on t.oid = ix.indrelid
                        join pg_class i on i.oid = ix.indexrelid
                        left outer join
                            pg_attribute a
                            on t.oid = a.attrelid and a.attnum = ANY(ix.indkey)
                        left outer join
                            pg_constraint c
                            on (ix.indrelid = c.conrelid and
                                ix.indexrelid = c.conindid and
                                c.contype in ('p', 'u', 'x'))
                        left outer join
                            pg_am am
                            on i.relam = am.oid
              WHERE
                  t.relkind IN ('r', 'v', 'f', 'm', 'p')
                  and t.oid = %(table_oid)s
                  and ix.indisprimary = 'f'
              ORDER BY
                  t.relname,
                  i.relname
            """
FOREIGN_KEYS_14 = """
          SELECT r.conname,
                pg_catalog.pg_get_constraintdef(r.oid, true) as condef,
                n.nspname as conschema
          FROM  pg_catalog.pg_constraint r,
                pg_namespace n,
                pg_class c

          WHERE r.conrelid = %(table)s AND
                r.contype = 'f' AND
                c.oid = confrelid AND
                n.oid = c.relnamespace
          ORDER BY 1
        """
FK_REGEX_14 = re.compile(
    r"FOREIGN KEY \((.*?)\) REFERENCES (?:(.*?)\.)?(.*?)\((.*?)\)"
    r"[\s]?(MATCH (FULL|PARTIAL|SIMPLE)+)?"
    r"[\s]?(ON UPDATE "
    r"(CASCADE|RESTRICT|NO ACTION|SET NULL|SET DEFAULT)+)?"
    r"[\s]?(ON DELETE "
    r"(CASCADE|RESTRICT|NO ACTION|SET NULL|SET DEFAULT)+)?"
    r"[\s]?(DEFERRABLE|NOT DEFERRABLE)?"
    r"[\s]?(INITIALLY (DEFERRED|IMMEDIATE)+)?"
)


@dataclass
class Side:
    dsn: str
    engine: Engine


@pytest.fixture(scope="module")
def sides(server: RunningServer, postgres: PostgresServer  # noqa: F811
          ) -> Iterator[dict[str, Side]]:
    database = f"sa_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    pg_dsn = f"host=127.0.0.1 port={postgres.port} dbname={database} user=postgres"
    urls = {
        "forge": (server.dsn(), f"postgresql+psycopg://forge@{server.host}:{server.port}/"
                                f"{server.database}"),
        "postgres": (pg_dsn, f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/"
                             f"{database}"),
    }
    made: dict[str, Side] = {}
    for name, (dsn, url) in urls.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in DDL:
                conn.execute(statement)
        made[name] = Side(dsn, create_engine(url))
    yield made
    for side in made.values():
        side.engine.dispose()
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


def _both(sides: dict[str, Side], method: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    forge, pg = (getattr(inspect(s.engine), method)(*args, **kwargs) for s in sides.values())
    return forge, pg


@pytest.mark.parametrize(
    ("method", "table"),
    [
        ("get_columns", "thing"),
        ("get_columns", "team"),
        ("get_columns", "per_team"),
        ("get_pk_constraint", "thing"),
        ("get_foreign_keys", "thing"),
        ("get_indexes", "thing"),
        ("get_indexes", "team"),
        ("get_unique_constraints", "thing"),
        ("get_unique_constraints", "team"),
        ("get_check_constraints", "thing"),
        ("get_table_comment", "thing"),
        ("get_table_comment", "team"),
    ],
)
def test_reflection_as_on_postgres(sides: dict[str, Side], method: str, table: str) -> None:
    forge, pg = _both(sides, method, table, schema=SCHEMA)
    assert repr(forge) == repr(pg)


def test_names_as_on_postgres(sides: dict[str, Side]) -> None:
    for method in ("get_table_names", "get_view_names"):
        forge, pg = _both(sides, method, schema=SCHEMA)
        assert sorted(forge) == sorted(pg)
    forge, pg = _both(sides, "get_schema_names")
    assert SCHEMA in forge and SCHEMA in pg
    # DuckDB's own default schema is not one PostgreSQL has.
    assert "main" not in forge


def _unqualified(definition: str) -> str:
    """A view's text with whitespace collapsed and column references unqualified:
    PostgreSQL prefixes each column with its table, which forge-sql does not."""
    return re.sub(r"\b\w+\.(?=\w)", "", " ".join(definition.split())).strip()


def test_view_definition_in_postgres_spelling(sides: dict[str, Side]) -> None:
    forge, pg = _both(sides, "get_view_definition", "per_team", schema=SCHEMA)
    assert "count_star" not in forge
    assert _unqualified(forge) == _unqualified(pg)


def _replay(dsn: str, table: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """SQLAlchemy 1.4's get_indexes and get_foreign_keys rows for ``table``, OIDs left out."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(TABLE_OID_14, {"schema": SCHEMA, "table_name": table}).fetchone()
        assert row is not None
        (oid,) = row
        indexes = conn.execute(INDEXES_14, {"table_oid": oid}).fetchall()
        keys = conn.execute(FOREIGN_KEYS_14, {"table": oid}).fetchall()
    # conrelid is an OID: whether the index backs a constraint is what 1.4 reads from it.
    index_rows = sorted((*r[:5], r[5] is not None, *r[6:]) for r in indexes)
    return index_rows, keys


@pytest.mark.parametrize("table", ["thing", "team"])
def test_sqlalchemy_14_statements_as_on_postgres(sides: dict[str, Side], table: str) -> None:
    forge_indexes, forge_keys = _replay(sides["forge"].dsn, table)
    pg_indexes, pg_keys = _replay(sides["postgres"].dsn, table)
    assert forge_indexes == pg_indexes
    assert forge_keys == pg_keys
    for _, definition, _ in forge_keys:
        match = FK_REGEX_14.search(definition)
        assert match is not None, definition
        assert match.group(10) == "CASCADE"  # ON DELETE


def test_constraint_definitions_as_on_postgres(sides: dict[str, Side]) -> None:
    """pg_get_constraintdef, pretty and not, in PostgreSQL's normalised form."""
    sql = (
        "SELECT conname, pg_get_constraintdef(oid), pg_get_constraintdef(oid, true) "
        "FROM pg_constraint WHERE conrelid IN (%s::regclass, %s::regclass) ORDER BY 1"
    )
    answers = []
    for side in sides.values():
        with psycopg.connect(side.dsn, autocommit=True) as conn:
            answers.append(conn.execute(sql, (f"{SCHEMA}.thing", f"{SCHEMA}.team")).fetchall())
    forge, pg = answers
    # PostgreSQL brackets each comparison in the non-pretty form; DuckDB's stored text
    # keeps only the brackets written, so that one form is compared on its pretty twin.
    assert [(name, pretty) for name, _, pretty in forge] == [
        (name, pretty) for name, _, pretty in pg
    ]
    for (_, plain, _), (_, pg_plain, _) in zip(forge, pg, strict=True):
        if not plain.startswith("CHECK"):
            assert plain == pg_plain
