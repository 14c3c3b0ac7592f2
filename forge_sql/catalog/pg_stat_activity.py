"""pg_stat_activity: one row per live session of this server, with PostgreSQL 16's columns.

The rows come from the server's session registry (forge_sql.engine.activity) through a
Python function read at query time, so every query sees the sessions as they are then.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA
from forge_sql.catalog.session_functions import TOKEN

DATABASE_OID = 16384  # as pg_database reports the one database
BOOTSTRAP_SUPERUSER = 10


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_stat_activity AS SELECT "
        f"{DATABASE_OID}::BIGINT AS datid, a.datname, a.pid, NULL::INTEGER AS leader_pid, "
        f"{BOOTSTRAP_SUPERUSER}::BIGINT AS usesysid, a.usename, a.application_name, "
        "a.client_addr, NULL::VARCHAR AS client_hostname, a.client_port, "
        "to_timestamp(a.backend_start) AS backend_start, "
        "to_timestamp(a.xact_start) AS xact_start, "
        "to_timestamp(a.query_start) AS query_start, "
        "to_timestamp(a.state_change) AS state_change, "
        "a.wait_event_type, a.wait_event, a.state, "
        "NULL::BIGINT AS backend_xid, NULL::BIGINT AS backend_xmin, NULL::BIGINT AS query_id, "
        "a.query, 'client backend' AS backend_type "
        f"FROM (SELECT unnest(forge_activity({TOKEN}), recursive := true)) AS a"
    )
