"""The migration lock's lease: held by one run, taken over when its holder is gone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forge_sql.config import Settings
from forge_sql.engine.database import Database
from forge_sql.migrate.connection import EngineConnection
from forge_sql.migrate.errors import LockUnavailable
from forge_sql.migrate.lease import TABLE, Lease


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[EngineConnection]:
    database = Database(Settings(data_dir=tmp_path / "data"))
    connection = EngineConnection(database, "me")
    try:
        yield connection
    finally:
        connection.close()
        database.close()


def _hold(conn: EngineConnection, host: str, pid: int, seconds: int) -> None:
    conn.execute(
        f"INSERT INTO {TABLE} VALUES (1, 'other', $1, $2, now(), "
        "now() + to_seconds(CAST($3 AS BIGINT)))",
        [pid, host, seconds],
    )


def _holder(conn: EngineConnection) -> tuple[object, ...]:
    return conn.execute(f"SELECT holder, host FROM {TABLE}")[0]


def test_lease_is_taken_and_released(conn: EngineConnection) -> None:
    with Lease(conn, conn.sibling, timeout=0) as lease:
        assert _holder(conn) == (lease.token, lease.host)
        with pytest.raises(LockUnavailable, match=r"holds the migration lock \(process \d+"):
            Lease(conn.sibling(), conn.sibling, timeout=0).acquire()
    assert _holder(conn) == (None, None)


def test_live_lease_of_another_machine_is_respected(conn: EngineConnection) -> None:
    _hold(conn, "elsewhere", 4242, 3600)
    with pytest.raises(LockUnavailable, match="process 4242 on elsewhere"):
        Lease(conn, conn.sibling, timeout=0.2).acquire()
    assert _holder(conn) == ("other", "elsewhere")


def test_expired_lease_of_another_machine_is_taken_over(conn: EngineConnection) -> None:
    _hold(conn, "elsewhere", 4242, -1)
    with Lease(conn, conn.sibling, timeout=0) as lease:
        assert _holder(conn)[0] == lease.token


def test_lease_renewal_pushes_its_end(conn: EngineConnection) -> None:
    with Lease(conn, conn.sibling, timeout=0, ttl=3600) as lease:
        conn.execute(f"UPDATE {TABLE} SET expires_at = now() WHERE id = 1")
        lease.renew(conn)
        left = conn.execute(f"SELECT epoch(expires_at - now()) FROM {TABLE}")[0][0]
        assert 3500 < left <= 3600
