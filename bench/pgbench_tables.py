"""pgbench's tables (as ``pgbench -i`` creates them), made over a psycopg connection."""

from __future__ import annotations

import psycopg

ACCOUNTS_PER_BRANCH = 100_000
TELLERS_PER_BRANCH = 10


def create(conn: psycopg.Connection, scale: int = 1) -> None:
    """pgbench_branches, _tellers, _accounts and _history with ``pgbench -i -s scale``'s
    shapes and row counts (balances 0, filler blank)."""
    for name in ("history", "tellers", "accounts", "branches"):
        conn.execute(f"DROP TABLE IF EXISTS pgbench_{name}")
    conn.execute(
        "CREATE TABLE pgbench_history (tid INTEGER, bid INTEGER, aid INTEGER, "
        "delta INTEGER, mtime TIMESTAMP, filler CHAR(22))"
    )
    conn.execute(
        "CREATE TABLE pgbench_tellers (tid INTEGER NOT NULL, bid INTEGER, "
        "tbalance INTEGER, filler CHAR(84))"
    )
    conn.execute(
        "CREATE TABLE pgbench_accounts (aid INTEGER NOT NULL, bid INTEGER, "
        "abalance INTEGER, filler CHAR(84))"
    )
    conn.execute(
        "CREATE TABLE pgbench_branches (bid INTEGER NOT NULL, bbalance INTEGER, "
        "filler CHAR(88))"
    )
    conn.execute(
        f"INSERT INTO pgbench_branches SELECT i, 0, '' FROM generate_series(1, {scale}) t(i)"
    )
    tellers = TELLERS_PER_BRANCH * scale
    conn.execute(
        f"INSERT INTO pgbench_tellers SELECT i, (i - 1) / {TELLERS_PER_BRANCH} + 1, 0, '' "
        f"FROM generate_series(1, {tellers}) t(i)"
    )
    accounts = ACCOUNTS_PER_BRANCH * scale
    conn.execute(
        f"INSERT INTO pgbench_accounts SELECT i, (i - 1) / {ACCOUNTS_PER_BRANCH} + 1, 0, '' "
        f"FROM generate_series(1, {accounts}) t(i)"
    )


def balances(conn: psycopg.Connection) -> tuple[int, int, int, int]:
    """Sums of account, teller and branch balances and of history deltas: TPC-B keeps
    all four equal."""
    row = conn.execute(
        "SELECT (SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts), "
        "(SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers), "
        "(SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches), "
        "(SELECT coalesce(sum(delta), 0) FROM pgbench_history)"
    ).fetchone()
    assert row is not None
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))
