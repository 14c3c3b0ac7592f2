"""RETURNING and ON CONFLICT do not widen what a role may do (PostgreSQL docs, INSERT:
RETURNING needs SELECT on what it returns; ON CONFLICT with a conflict target reads the
table, DO UPDATE needs UPDATE): refused with 42501 as PostgreSQL 15 refuses them, in the
simple protocol and prepared, and nothing written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors as pgerrors
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

PASSWORD = "pw"


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    verifier = make_verifier(PASSWORD)
    config = (
        f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n\n'
        f'[users.ins]\npassword = "{verifier}"\n\n'
        f'[users.insupd]\npassword = "{verifier}"\n'
    )
    running = start_server(tmp_path_factory.mktemp("returning") / "data", config=config)
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


def _connect(users: RunningServer, user: str) -> psycopg.Connection:
    return psycopg.connect(users.dsn(user=user, password=PASSWORD), autocommit=True)


# (role, statement, refused): what PostgreSQL 15 answers, checked on it with the same
# grants (INSERT to ins; INSERT and UPDATE to insupd; SELECT to neither).
CASES = [
    ("ins", "INSERT INTO {t} VALUES (10, 'a', 'x')", False),
    ("ins", "INSERT INTO {t} VALUES (11, 'a', 'x') RETURNING id", True),
    ("ins", "INSERT INTO {t} VALUES (12, 'a', 'x') RETURNING secret", True),
    ("ins", "INSERT INTO {t} VALUES (1, 'a', 'x') ON CONFLICT (id) DO NOTHING", True),
    ("ins", "INSERT INTO {t} VALUES (13, 'a', 'x') ON CONFLICT DO NOTHING", False),
    ("ins", "INSERT INTO {t} VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET s = 'b'",
     True),
    ("insupd", "INSERT INTO {t} VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE "
     "SET s = excluded.s", True),
    ("insupd", "UPDATE {t} SET s = 'q' RETURNING secret", True),
    ("insupd", "DELETE FROM {t} WHERE false RETURNING secret", True),
]


@pytest.mark.parametrize("prepared", [False, True])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_refused_as_postgresql(users: RunningServer, case: int, prepared: bool) -> None:
    role, sql, refused = CASES[case]
    table = f"p_{uuid.uuid4().hex[:8]}"
    with _connect(users, "admin") as admin:
        admin.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, s varchar, "
                      "secret varchar)")
        admin.execute(f"INSERT INTO {table} VALUES (1, 'one', 'hunter2')")
        admin.execute(f"GRANT INSERT ON {table} TO ins")
        admin.execute(f"GRANT INSERT, UPDATE ON {table} TO insupd")
        with _connect(users, role) as conn:
            cursor = conn.cursor() if prepared else psycopg.ClientCursor(conn)
            statement = sql.format(t=table)
            if refused:
                with pytest.raises(pgerrors.InsufficientPrivilege):
                    cursor.execute(statement, prepare=True if prepared else None)
            else:
                cursor.execute(statement, prepare=True if prepared else None)
        rows = admin.execute(f"SELECT id, s, secret FROM {table} ORDER BY id").fetchall()
    assert rows[0] == (1, "one", "hunter2")  # never changed
    assert len(rows) == (1 if refused else 2)
