"""SQLAlchemy reflection (psycopg 3 dialect) and pandas over the catalog: schemas, tables,
views, columns with types, defaults and comments, declared keys and indexes."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import psycopg
import pytest
from server import RunningServer
from sqlalchemy import ARRAY, BIGINT, NUMERIC, TIMESTAMP, VARCHAR, Engine, create_engine, inspect


@pytest.fixture(scope="module")
def engine(server: RunningServer) -> Iterator[Engine]:
    created = create_engine(
        f"postgresql+psycopg://forge@{server.host}:{server.port}/{server.database}"
    )
    yield created
    created.dispose()


@pytest.fixture
def table(conn: psycopg.Connection, table_name: str) -> str:
    conn.execute(f"CREATE TABLE {table_name}_team (id BIGINT PRIMARY KEY)")
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT PRIMARY KEY, name VARCHAR DEFAULT 'x' "
                 f"UNIQUE, price DECIMAL(10,2) CHECK (price >= 0), tags VARCHAR[], "
                 f"seen TIMESTAMPTZ, team BIGINT REFERENCES {table_name}_team (id))")
    conn.execute(f"COMMENT ON TABLE {table_name} IS 'things we sell'")
    conn.execute(f"COMMENT ON COLUMN {table_name}.price IS 'in euros'")
    conn.execute(f"CREATE VIEW {table_name}_v AS SELECT id FROM {table_name}")
    conn.execute(f"CREATE INDEX {table_name}_seen_idx ON {table_name} (seen, price)")
    conn.execute(f"INSERT INTO {table_name}_team VALUES (7)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'a', 2.50, ['x'], NULL, 7), "
                 f"(2, 'b', NULL, NULL, NULL, NULL)")
    return table_name


def test_names(engine: Engine, table: str) -> None:
    inspector = inspect(engine)
    schemas = inspector.get_schema_names()
    assert "public" in schemas and "forge_meta" not in schemas
    assert table in inspector.get_table_names()
    assert "constraints" not in inspector.get_table_names()
    assert f"{table}_v" in inspector.get_view_names()
    assert f"{table}_v" not in inspector.get_table_names()
    assert inspector.has_table(table)
    assert inspector.get_table_comment(table) == {"text": "things we sell"}


def test_columns(engine: Engine, table: str) -> None:
    columns = inspect(engine).get_columns(table)
    assert [c["name"] for c in columns] == ["id", "name", "price", "tags", "seen", "team"]
    kinds = [BIGINT, VARCHAR, NUMERIC, ARRAY, TIMESTAMP, BIGINT]
    for column, kind in zip(columns, kinds, strict=True):
        assert isinstance(column["type"], kind)
    assert isinstance(columns[3]["type"].item_type, VARCHAR)
    assert (columns[2]["type"].precision, columns[2]["type"].scale) == (10, 2)
    assert columns[4]["type"].timezone is True
    assert [c["nullable"] for c in columns] == [False, True, True, True, True, True]
    assert [c["default"] for c in columns] == [
        None, "'x'::character varying", None, None, None, None]
    assert [c["comment"] for c in columns] == [None, None, "in euros", None, None, None]


def test_keys_and_indexes(engine: Engine, table: str) -> None:
    inspector = inspect(engine)
    assert inspector.get_pk_constraint(table)["constrained_columns"] == ["id"]
    assert inspector.get_pk_constraint(table)["name"] == f"{table}_pkey"
    unique = inspector.get_unique_constraints(table)
    assert [(u["name"], u["column_names"]) for u in unique] == [(f"{table}_name_key", ["name"])]
    indexes = {i["name"]: i for i in inspector.get_indexes(table)}
    assert indexes[f"{table}_seen_idx"]["column_names"] == ["seen", "price"]
    assert indexes[f"{table}_seen_idx"]["unique"] is False
    assert indexes[f"{table}_name_key"]["unique"] is True
    foreign = inspector.get_foreign_keys(table)
    assert [(f["name"], f["constrained_columns"], f["referred_table"], f["referred_columns"])
            for f in foreign] == [(f"{table}_team_fkey", ["team"], f"{table}_team", ["id"])]
    checks = inspector.get_check_constraints(table)
    assert [(c["name"], c["sqltext"]) for c in checks] == [(f"{table}_price_check", "price >= 0")]


def test_pandas_read_sql(engine: Engine, table: str) -> None:
    frame = pd.read_sql(f"SELECT id, name, price FROM {table} ORDER BY id", engine)
    assert list(frame.columns) == ["id", "name", "price"]
    assert frame["name"].tolist() == ["a", "b"]
    assert frame["price"].iloc[0] == pytest.approx(2.5)
