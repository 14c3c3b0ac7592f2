"""Two servers sharing one lake (catalog in a real PostgreSQL) agree on roles and grants:
what one grants, revokes or creates, the other enforces."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from postgres import PostgresServer, catalog_dsn, postgres  # noqa: F401
from psycopg import errors as pgerrors
from server import start_server

from forge_sql.wire.auth import make_verifier


def test_grants_made_through_one_server_hold_on_the_other(
    tmp_path: Path,
    catalog_dsn: str,  # noqa: F811
) -> None:
    verifier = make_verifier("pw")
    config = (
        f"catalog = '{catalog_dsn}'\ndata_path = '{tmp_path / 'lake'}'\n"
        f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n'
        f'[users.bob]\npassword = "{verifier}"\n'
    )
    first = start_server(tmp_path / "a", config=config)
    second = start_server(tmp_path / "b", config=config)
    try:
        with psycopg.connect(first.dsn(user="admin", password="pw"), autocommit=True) as admin, \
                psycopg.connect(second.dsn(user="bob", password="pw"), autocommit=True) as bob:
            admin.execute("CREATE TABLE shared_t (id INTEGER)")
            admin.execute("INSERT INTO shared_t VALUES (1)")
            with pytest.raises(pgerrors.InsufficientPrivilege):
                bob.execute("SELECT * FROM shared_t")
            admin.execute("GRANT SELECT ON shared_t TO bob")
            assert bob.execute("SELECT * FROM shared_t").fetchall() == [(1,)]
            assert bob.execute(
                "SELECT has_table_privilege('shared_t', 'SELECT')").fetchone() == (True,)
            admin.execute("REVOKE SELECT ON shared_t FROM bob")
            with pytest.raises(pgerrors.InsufficientPrivilege):
                bob.execute("SELECT * FROM shared_t")
            admin.execute("CREATE ROLE dave LOGIN PASSWORD 'davepw'")
        with psycopg.connect(second.dsn(user="dave", password="davepw")) as dave:
            assert dave.execute("SELECT 1").fetchone() == (1,)
    finally:
        for running in (first, second):
            assert "Traceback" not in running.stop()
