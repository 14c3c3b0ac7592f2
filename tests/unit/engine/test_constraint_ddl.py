"""Keys, checks and indexes parsed off PostgreSQL DDL: what DuckDB runs, what is recorded."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql import errors
from forge_sql.engine import constraint_ddl as ddl
from forge_sql.engine.constraint_ddl import Declared
from forge_sql.sql.statements import classify


def create(sql: str) -> ddl.CreateTable:
    parsed = ddl.parse_create_table(classify(sql))
    assert parsed is not None
    return parsed


def test_column_keys_are_taken_out_and_the_key_column_becomes_not_null() -> None:
    parsed = create(
        "CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT UNIQUE NOT NULL, "
        "age INT CHECK (age > 0) DEFAULT 1, org INT REFERENCES orgs (id) ON DELETE CASCADE)"
    )
    assert parsed.sql == (
        "CREATE TABLE users (id BIGINT NOT NULL, email TEXT NOT NULL, age INT DEFAULT 1, org INT)"
    )
    assert parsed.table == ("users",)
    assert parsed.declared == (
        Declared("p", ("id",)),
        Declared("u", ("email",)),
        Declared("c", ("age",), None, "CHECK (age > 0)"),
        Declared("f", ("org",), None, "FOREIGN KEY (org) REFERENCES orgs (id) ON DELETE CASCADE"),
    )
    duckdb.sql(parsed.sql.replace("users", "users_parsed_check"))  # DuckDB runs what is left


def test_table_constraints_with_names_and_quoted_identifiers() -> None:
    parsed = create(
        'CREATE TABLE IF NOT EXISTS s."My T" ("Id" INT, b INT, c INT, '
        'CONSTRAINT "My PK" PRIMARY KEY ("Id", b), UNIQUE NULLS NOT DISTINCT (c), '
        "CHECK (b < c), FOREIGN KEY (c) REFERENCES other (x) MATCH FULL)"
    )
    assert parsed.if_not_exists and not parsed.or_replace
    assert parsed.table == ("s", "My T")
    assert (
        parsed.sql
        == 'CREATE TABLE IF NOT EXISTS s."My T" ("Id" INT NOT NULL, b INT NOT NULL, c INT)'
    )
    assert [(d.kind, d.columns, d.name) for d in parsed.declared] == [
        ("p", ("Id", "b"), "My PK"),
        ("u", ("c",), None),
        ("c", ("b", "c"), None),
        ("f", ("c",), None),
    ]
    assert parsed.declared[2].definition == "CHECK (b < c)"


def test_literals_and_comments_are_left_alone() -> None:
    parsed = create(
        "CREATE TABLE t (a TEXT DEFAULT 'primary key, unique' /* check (x) */ PRIMARY KEY)"
    )
    assert parsed.sql == "CREATE TABLE t (a TEXT DEFAULT 'primary key, unique' NOT NULL)"
    assert parsed.declared == (Declared("p", ("a",)),)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (a INT NOT NULL, b TEXT)",
        "CREATE TEMP TABLE t (a INT PRIMARY KEY)",  # DuckDB enforces keys on its own tables
        "CREATE TABLE t AS SELECT 1 AS a",
    ],
)
def test_nothing_to_take_out(sql: str) -> None:
    assert ddl.parse_create_table(classify(sql)) is None


def test_two_primary_keys_are_refused() -> None:
    with pytest.raises(errors.InvalidTableDefinition, match="multiple primary keys"):
        create("CREATE TABLE t (a INT PRIMARY KEY, b INT, PRIMARY KEY (b))")


def test_exclude_is_not_supported() -> None:
    with pytest.raises(errors.FeatureNotSupported):
        create("CREATE TABLE t (a INT, EXCLUDE USING gist (a WITH =))")


def test_create_index_forms() -> None:
    index = ddl.parse_create_index(
        classify(
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix ON ONLY s.t USING hash "
            "(a DESC, lower(b)) WHERE a > 0"
        )
    )
    assert index is not None
    assert index.table == ("s", "t") and index.if_not_exists
    assert index.index == Declared(
        "i", ("a", "lower(b)"), "ix", "UNIQUE INDEX USING hash (a DESC, lower(b)) WHERE a > 0"
    )
    unnamed = ddl.parse_create_index(classify("CREATE INDEX ON t (a)"))
    assert unnamed is not None and unnamed.index.name is None


def test_drop_index_names() -> None:
    assert ddl.parse_drop_index(classify("DROP INDEX IF EXISTS a, s.b CASCADE")) == (
        [("a",), ("s", "b")],
        True,
    )


def test_alter_table_actions() -> None:
    add = ddl.parse_alter_table(
        classify("ALTER TABLE t ADD CONSTRAINT k UNIQUE (a), ADD PRIMARY KEY (b)")
    )
    assert add is not None
    assert [(d.kind, d.columns, d.name) for d in add.add] == [
        ("u", ("a",), "k"),
        ("p", ("b",), None),
    ]
    drop = ddl.parse_alter_table(classify("ALTER TABLE IF EXISTS t DROP CONSTRAINT IF EXISTS k"))
    assert drop is not None and drop.drop == ("k",) and drop.drop_if_exists and drop.if_exists
    renamed = ddl.parse_alter_table(classify("ALTER TABLE t RENAME COLUMN a TO b"))
    assert renamed is not None and renamed.rename_column == ("a", "b")
    assert ddl.parse_alter_table(classify("ALTER TABLE t RENAME TO u")).rename_table == "u"  # type: ignore[union-attr]
    other = ddl.parse_alter_table(classify("ALTER TABLE t ADD COLUMN c INT"))
    assert other is not None and not other.add and not other.drop
    with pytest.raises(errors.FeatureNotSupported):
        ddl.parse_alter_table(classify("ALTER TABLE t ADD UNIQUE (a), ADD COLUMN c INT"))


@pytest.mark.parametrize(
    ("definition", "spelled"),
    [
        # pgbench -I f: the referenced table's primary key filled in, as PostgreSQL does
        ("FOREIGN KEY (bid) references pgbench_branches",
         "FOREIGN KEY (bid) REFERENCES pgbench_branches (bid)"),
        ("FOREIGN KEY (a) REFERENCES s.t (x) ON DELETE CASCADE",
         "FOREIGN KEY (a) REFERENCES s.t (x) ON DELETE CASCADE"),
        ("FOREIGN KEY (a) REFERENCES nokey MATCH FULL",
         "FOREIGN KEY (a) REFERENCES nokey MATCH FULL"),
    ],
)
def test_spelled_references(definition: str, spelled: str) -> None:
    keys = {("pgbench_branches",): ("bid",)}
    assert ddl.spelled_references(definition, lambda table: keys.get(table, ())) == spelled
