"""Keys, checks and indexes declared on lake tables: accepted, recorded, not enforced.

DuckLake enforces NOT NULL only; ORMs and migration tools declare keys anyway, so the server
records them in forge_meta.constraints (shown by the catalog) and says so in a NOTICE.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pgerrors


def declared(conn: psycopg.Connection, table: str) -> list[tuple[str, str, list[str], str | None]]:
    return conn.execute(
        "SELECT name, kind, columns, definition FROM forge_meta.constraints "
        "WHERE table_name = %s ORDER BY name",
        [table],
    ).fetchall()


def notices(conn: psycopg.Connection) -> list[tuple[str | None, str | None]]:
    seen: list[tuple[str | None, str | None]] = []
    conn.add_notice_handler(lambda d: seen.append((d.severity_nonlocalized, d.message_primary)))
    return seen


def test_create_table_with_keys_records_them(conn: psycopg.Connection, table_name: str) -> None:
    seen = notices(conn)
    conn.execute(
        f"CREATE TABLE {table_name} (id BIGINT PRIMARY KEY, email TEXT UNIQUE NOT NULL, "
        "age INT CHECK (age > 0), org INT REFERENCES orgs (id) ON DELETE CASCADE)"
    )
    assert declared(conn, table_name) == [
        (f"{table_name}_age_check", "c", ["age"], "CHECK (age > 0)"),
        (f"{table_name}_email_key", "u", ["email"], None),
        (
            f"{table_name}_org_fkey",
            "f",
            ["org"],
            "FOREIGN KEY (org) REFERENCES orgs (id) ON DELETE CASCADE",
        ),
        (f"{table_name}_pkey", "p", ["id"], None),
    ]
    assert seen == [
        (
            "NOTICE",
            f"primary key, unique, check and foreign key constraints on "
            f'"{table_name}" recorded but not enforced: forge-sql tables enforce '
            "NOT NULL only",
        )
    ]
    # Key columns are NOT NULL, which the storage does enforce; uniqueness is not.
    with pytest.raises(pgerrors.NotNullViolation):
        conn.execute(f"INSERT INTO {table_name} (email) VALUES ('a')")
    conn.execute(f"INSERT INTO {table_name} (id, email) VALUES (1, 'a'), (1, 'a')")
    assert conn.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (2,)


def test_table_level_keys_and_names(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(
        f'CREATE TABLE {table_name} ("Id" INT, b INT, CONSTRAINT my_pk PRIMARY KEY ("Id", b), '
        'UNIQUE (b, "Id"), CHECK (b < 10))'
    )
    assert declared(conn, table_name) == [
        ("my_pk", "p", ["Id", "b"], None),
        (f"{table_name}_b_Id_key", "u", ["b", "Id"], None),
        (f"{table_name}_b_check", "c", ["b"], "CHECK (b < 10)"),
    ]
    nullable = conn.execute(
        "SELECT column_name, is_nullable FROM information_schema.columns "
        "WHERE table_name = %s ORDER BY ordinal_position",
        [table_name],
    ).fetchall()
    assert nullable == [("Id", "NO"), ("b", "NO")]


@pytest.mark.parametrize(
    ("ddl", "error", "message"),
    [
        (
            "(a INT PRIMARY KEY, b INT, PRIMARY KEY (b))",
            pgerrors.InvalidTableDefinition,
            "multiple primary keys",
        ),
        (
            "(a INT, PRIMARY KEY (zz))",
            pgerrors.UndefinedColumn,
            'column "zz" named in key does not exist',
        ),
        (
            "(a INT, CONSTRAINT k UNIQUE (a), CONSTRAINT k PRIMARY KEY (a))",
            pgerrors.DuplicateTable,
            'relation "k" already exists',
        ),
        ("(a INT, EXCLUDE USING gist (a WITH =))", pgerrors.FeatureNotSupported, "EXCLUDE"),
    ],
)
def test_bad_declarations_leave_nothing(
    conn: psycopg.Connection, table_name: str, ddl: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        conn.execute(f"CREATE TABLE {table_name} {ddl}")
    assert conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = %s", [table_name]
    ).fetchone() == (0,)
    assert declared(conn, table_name) == []


def test_rollback_forgets_the_table_and_its_keys(conn: psycopg.Connection, table_name: str) -> None:
    with pytest.raises(RuntimeError), conn.transaction():
        conn.execute(f"CREATE TABLE {table_name} (a INT PRIMARY KEY)")
        assert len(declared(conn, table_name)) == 1
        raise RuntimeError("roll back")
    assert declared(conn, table_name) == []


def test_alter_table_adds_checked_keys(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INT, b INT)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 1), (1, 2), (2, NULL)")
    with pytest.raises(pgerrors.UniqueViolation) as info:
        conn.execute(f"ALTER TABLE {table_name} ADD UNIQUE (a)")
    assert info.value.diag.message_detail == "Key (a)=(1) is duplicated."
    assert info.value.diag.message_primary == f'could not create unique index "{table_name}_a_key"'
    with pytest.raises(pgerrors.NotNullViolation, match='column "b" of relation'):
        conn.execute(f"ALTER TABLE {table_name} ADD PRIMARY KEY (b)")
    with pytest.raises(pgerrors.CheckViolation, match="is violated by some row"):
        conn.execute(f"ALTER TABLE {table_name} ADD CONSTRAINT small CHECK (a < 2)")
    conn.execute(f"ALTER TABLE {table_name} ADD CONSTRAINT small CHECK (a < 3), ADD UNIQUE (b)")
    assert [row[:2] for row in declared(conn, table_name)] == [
        ("small", "c"),
        (f"{table_name}_b_key", "u"),
    ]
    with pytest.raises(pgerrors.DuplicateObject):
        conn.execute(f"ALTER TABLE {table_name} ADD CONSTRAINT small CHECK (a < 4)")
    # A primary key added to a table with rows makes its column NOT NULL.
    conn.execute(f"DELETE FROM {table_name} WHERE a = 1")
    conn.execute(f"ALTER TABLE {table_name} ADD PRIMARY KEY (a)")
    with pytest.raises(pgerrors.NotNullViolation):
        conn.execute(f"INSERT INTO {table_name} (b) VALUES (5)")
    with pytest.raises(pgerrors.FeatureNotSupported, match="combine"):
        conn.execute(f"ALTER TABLE {table_name} ADD UNIQUE (a), ADD COLUMN c INT")
    with pytest.raises(pgerrors.UndefinedObject, match='constraint "nope"'):
        conn.execute(f"ALTER TABLE {table_name} DROP CONSTRAINT nope")
    conn.execute(f"ALTER TABLE {table_name} DROP CONSTRAINT IF EXISTS nope")
    conn.execute(f"ALTER TABLE {table_name} DROP CONSTRAINT small")
    conn.execute(f"ALTER TABLE {table_name} RENAME CONSTRAINT {table_name}_b_key TO b_unique")
    assert [row[:2] for row in declared(conn, table_name)] == [
        ("b_unique", "u"),
        (f"{table_name}_pkey", "p"),
    ]


def test_keys_follow_renames_and_drops(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INT PRIMARY KEY, b TEXT UNIQUE, c INT)")
    conn.execute(f"CREATE INDEX ON {table_name} (c)")
    conn.execute(f"ALTER TABLE {table_name} RENAME COLUMN b TO bee")
    assert [row[:3] for row in declared(conn, table_name)] == [
        (f"{table_name}_b_key", "u", ["bee"]),
        (f"{table_name}_c_idx", "i", ["c"]),
        (f"{table_name}_pkey", "p", ["a"]),
    ]
    conn.execute(f"ALTER TABLE {table_name} DROP COLUMN c")
    assert [row[0] for row in declared(conn, table_name)] == [
        f"{table_name}_b_key",
        f"{table_name}_pkey",
    ]
    renamed = table_name + "_r"
    conn.execute(f"ALTER TABLE {table_name} RENAME TO {renamed}")
    assert declared(conn, table_name) == []
    assert len(declared(conn, renamed)) == 2
    conn.execute(f"DROP TABLE {renamed}")
    assert declared(conn, renamed) == []


def test_create_and_drop_index(conn: psycopg.Connection, table_name: str) -> None:
    seen = notices(conn)
    conn.execute(f"CREATE TABLE {table_name} (a INT, b TEXT)")
    conn.execute(
        f"CREATE UNIQUE INDEX CONCURRENTLY ix_{table_name} ON {table_name} "
        "USING btree (a DESC, lower(b)) WHERE a > 0"
    )
    assert declared(conn, table_name) == [
        (
            f"ix_{table_name}",
            "i",
            ["a", "lower(b)"],
            "UNIQUE INDEX USING btree (a DESC, lower(b)) WHERE a > 0",
        )
    ]
    assert seen[-1][0] == "NOTICE" and "need no index" in (seen[-1][1] or "")
    with pytest.raises(pgerrors.DuplicateTable):
        conn.execute(f"CREATE INDEX ix_{table_name} ON {table_name} (b)")
    conn.execute(f"CREATE INDEX IF NOT EXISTS ix_{table_name} ON {table_name} (b)")
    assert seen[-1] == ("NOTICE", f'relation "ix_{table_name}" already exists, skipping')
    conn.execute(f"DROP INDEX ix_{table_name}")
    assert declared(conn, table_name) == []
    with pytest.raises(psycopg.Error):
        conn.execute(f"DROP INDEX ix_{table_name}")
    conn.execute(f"DROP INDEX IF EXISTS ix_{table_name}")


def test_temporary_tables_keep_duckdb_enforcement(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TEMP TABLE temp_keys (a INT PRIMARY KEY)")
    conn.execute("INSERT INTO temp_keys VALUES (1)")
    with pytest.raises(pgerrors.UniqueViolation):
        conn.execute("INSERT INTO temp_keys VALUES (1)")
    assert declared(conn, "temp_keys") == []


def test_primary_key_on_a_not_null_column_with_rows(
    conn: psycopg.Connection, table_name: str
) -> None:
    """What pgbench -i does: the key column was declared NOT NULL and the table has rows."""
    conn.execute(f"CREATE TABLE {table_name} (id INT NOT NULL, v INT)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 1), (2, 2), (2, 3)")
    with pytest.raises(pgerrors.UniqueViolation, match="Key \\(id\\)=\\(2\\) is duplicated"):
        conn.execute(f"ALTER TABLE {table_name} ADD PRIMARY KEY (id)")
    conn.execute(f"DELETE FROM {table_name} WHERE v = 3")
    conn.execute(f"ALTER TABLE {table_name} ADD PRIMARY KEY (id)")
    assert [row[:3] for row in declared(conn, table_name)] == [
        (f"{table_name}_pkey", "p", ["id"])
    ]


def test_foreign_key_added_to_rows_checks_them(conn: psycopg.Connection, table_name: str) -> None:
    parent, child = f"{table_name}_p", f"{table_name}_c"
    conn.execute(f"CREATE TABLE {parent} (id INT NOT NULL)")
    conn.execute(f"INSERT INTO {parent} VALUES (1), (2)")
    conn.execute(f"ALTER TABLE {parent} ADD PRIMARY KEY (id)")
    conn.execute(f"CREATE TABLE {child} (pid INT, v INT)")
    conn.execute(f"INSERT INTO {child} VALUES (1, 1), (3, 2), (NULL, 3)")
    with pytest.raises(pgerrors.ForeignKeyViolation) as info:
        conn.execute(f"ALTER TABLE {child} ADD CONSTRAINT c_fk FOREIGN KEY (pid) "
                     f"REFERENCES {parent}")
    assert info.value.diag.message_primary == (
        f'insert or update on table "{child}" violates foreign key constraint "c_fk"'
    )
    assert info.value.diag.message_detail == (
        f'Key (pid)=(3) is not present in table "{parent}".'
    )
    with pytest.raises(pgerrors.ForeignKeyViolation):
        conn.execute(f"ALTER TABLE {child} ADD FOREIGN KEY (pid) REFERENCES {parent} (id)")
    conn.execute(f"DELETE FROM {child} WHERE pid = 3")
    conn.execute(f"ALTER TABLE {child} ADD FOREIGN KEY (pid) references {parent}")
    assert [row[:3] for row in declared(conn, child)] == [(f"{child}_pid_fkey", "f", ["pid"])]
    # As PostgreSQL prints it: the referenced primary key filled in.
    row = conn.execute(
        "SELECT pg_get_constraintdef(k.oid), k.confrelid = r.oid, k.confkey FROM pg_constraint k "
        "JOIN pg_class r ON r.relname = %s WHERE k.conname = %s",
        [parent, f"{child}_pid_fkey"],
    ).fetchone()
    assert row == (f"FOREIGN KEY (pid) REFERENCES {parent}(id)", True, [1])
