"""SQLAlchemy 2 Core with the psycopg (3) and psycopg2 dialects: connecting (the dialect's
version, schema and setting probes), DDL, inserts of many rows, selects with bound
parameters, text(), and reflection of what it created."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa


def items_table(name: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        name, metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2)),
        sa.Column("created", sa.DateTime),
        sa.Column("flag", sa.Boolean),
    )


ROWS = [
    {"id": 1, "name": "one", "amount": Decimal("1.50"), "created": dt.datetime(2024, 1, 2, 3, 4),
     "flag": True},
    {"id": 2, "name": "two", "amount": None, "created": None, "flag": False},
    {"id": 3, "name": "it's", "amount": Decimal("-3.25"), "created": dt.datetime(2024, 5, 6),
     "flag": None},
]


def test_connect_probes(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert conn.dialect.server_version_info[:1] == (16,)
        assert conn.dialect.default_schema_name == "public"
        assert conn.execute(sa.text("SELECT 1 + :n"), {"n": 1}).scalar() == 2


def test_core_round_trip(engine: sa.Engine, table_name: str) -> None:
    metadata = sa.MetaData()
    items = items_table(table_name, metadata)
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(items.insert(), ROWS)
    with engine.connect() as conn:
        query = (sa.select(items.c.id, items.c.name, items.c.amount)
                 .where(items.c.id >= sa.bindparam("low")).order_by(items.c.id))
        assert conn.execute(query, {"low": 2}).all() == [(2, "two", None),
                                                         (3, "it's", Decimal("-3.25"))]
        assert [dict(row._mapping) for row in conn.execute(
            sa.select(items).order_by(items.c.id))] == ROWS
        found = conn.execute(sa.text(f"SELECT name FROM {table_name} WHERE flag = :flag"
                                     f" AND created < :before"),
                             {"flag": True, "before": dt.datetime(2025, 1, 1)}).scalars().all()
        assert found == ["one"]
    with engine.begin() as conn:
        conn.execute(items.update().where(items.c.id == 2).values(amount=Decimal("7")))
        conn.execute(items.delete().where(items.c.flag.is_(None)))
    with engine.connect() as conn:
        assert conn.execute(sa.select(items.c.id, items.c.amount).order_by(items.c.id)).all() == [
            (1, Decimal("1.50")), (2, Decimal("7.00"))]
    with engine.begin() as conn:
        metadata.drop_all(conn)
        assert not sa.inspect(conn).has_table(table_name)


def test_reflection(engine: sa.Engine, table_name: str) -> None:
    """What a schema browser built on SQLAlchemy (Superset, pandas) lists."""
    metadata = sa.MetaData()
    items_table(table_name, metadata)
    with engine.begin() as conn:
        metadata.create_all(conn)
    inspector = sa.inspect(engine)
    assert table_name in inspector.get_table_names()
    assert "public" in inspector.get_schema_names()
    columns = inspector.get_columns(table_name)
    # String(40) reads back with its declared length, as from PostgreSQL.
    assert [(c["name"], str(c["type"]), c["nullable"]) for c in columns] == [
        ("id", "INTEGER", False), ("name", "VARCHAR(40)", False),
        ("amount", "NUMERIC(10, 2)", True), ("created", "TIMESTAMP", True),
        ("flag", "BOOLEAN", True)]
    assert inspector.get_pk_constraint(table_name)["constrained_columns"] == ["id"]
    reflected = sa.Table(table_name, sa.MetaData(), autoload_with=engine)
    assert [c.name for c in reflected.primary_key] == ["id"]
    assert isinstance(reflected.c.amount.type, sa.Numeric)
