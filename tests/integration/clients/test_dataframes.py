"""DataFrame libraries: pandas.read_sql and DataFrame.to_sql through SQLAlchemy; polars
through SQLAlchemy and through the ADBC PostgreSQL driver."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import polars as pl
import psycopg
import sqlalchemy as sa
from polars.testing import assert_frame_equal
from server import RunningServer


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": pd.Series([1, 2, 3], dtype="int64"),
        "name": pd.Series(["a", None, "c'"], dtype="object"),
        "amount": pd.Series([0.5, None, -2.25], dtype="float64"),
        "at_time": pd.Series(pd.to_datetime(["2024-01-02 03:04:05", None, "2024-02-29 00:00:00"])),
        "flag": pd.Series([True, False, True], dtype="bool"),
    })


def rows_of(data: pd.DataFrame) -> list[tuple[object, ...]]:
    """Rows as Python values, with NULL as None whatever the dtype made of it (NaN, NaT)."""
    return [tuple(None if pd.isna(v) else v for v in row)
            for row in data.itertuples(index=False, name=None)]


def column_types(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_name = %s ORDER BY ordinal_position", [table]).fetchall()


def test_pandas_read_sql(engine: sa.Engine, conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, name VARCHAR, amount DOUBLE,"
                 f" at_time TIMESTAMP, flag BOOLEAN)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'a', 0.5, '2024-01-02 03:04:05', true),"
                 f" (2, NULL, NULL, NULL, false), (3, 'c''', -2.25, '2024-02-29', true)")
    read = pd.read_sql(sa.text(f"SELECT * FROM {table_name} WHERE id >= :low ORDER BY id"),
                       engine, params={"low": 1})
    assert list(read.columns) == ["id", "name", "amount", "at_time", "flag"]
    assert [str(read[c].dtype) for c in ("id", "amount", "at_time", "flag")] == [
        "int64", "float64", "datetime64[us]", "bool"]
    assert pd.api.types.is_string_dtype(read["name"])
    assert rows_of(read) == rows_of(frame())


def test_pandas_to_sql_replace_then_append(engine: sa.Engine, conn: psycopg.Connection,
                                           table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (other VARCHAR)")  # replaced below
    # to_sql returns the driver's rowcount: -1 through psycopg 3's executemany, as with
    # PostgreSQL; what was written is read back below.
    frame().to_sql(table_name, engine, if_exists="replace", index=False)
    # PostgreSQL's names for pandas' BIGINT, TEXT, FLOAT(53), TIMESTAMP WITHOUT TIME ZONE and
    # BOOLEAN (a declared TEXT is recorded, so it reads back as text).
    assert column_types(conn, table_name) == [
        ("id", "bigint"), ("name", "text"), ("amount", "double precision"),
        ("at_time", "timestamp without time zone"), ("flag", "boolean")]
    more = frame().assign(id=[4, 5, 6])
    more.to_sql(table_name, engine, if_exists="append", index=False)
    back = pd.read_sql(f"SELECT * FROM {table_name} ORDER BY id", engine)
    assert list(back.columns) == list(frame().columns)
    assert rows_of(back) == rows_of(frame()) + rows_of(more)


def test_polars_through_sqlalchemy(engine: sa.Engine, table_name: str) -> None:
    data = pl.DataFrame({"id": [1, 2], "name": ["p", None], "amount": [1.25, None],
                         "day": [dt.date(2024, 2, 29), None]})
    data.write_database(table_name, engine, if_table_exists="replace", engine="sqlalchemy")
    data.write_database(table_name, engine, if_table_exists="append", engine="sqlalchemy")
    with engine.connect() as connection:
        back = pl.read_database(f"SELECT * FROM {table_name} ORDER BY id, name", connection)
    assert_frame_equal(back, pl.concat([data, data]).sort("id", "name", nulls_last=True))


def test_polars_adbc_replace(server: RunningServer, table_name: str) -> None:
    """if_table_exists="replace": ADBC drops the table, creates it and ingests (binary COPY)."""
    first = pl.DataFrame({"id": [1], "name": ["gone"]})
    first.write_database(table_name, server.url(), engine="adbc")
    data = pl.DataFrame({"id": [2, 3], "ratio": [0.5, None]})
    assert data.write_database(table_name, server.url(), engine="adbc",
                               if_table_exists="replace") == 2
    back = pl.read_database_uri(f"SELECT * FROM {table_name} ORDER BY id", server.url(),
                                engine="adbc")
    assert_frame_equal(back, data)
