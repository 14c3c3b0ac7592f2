"""pg_locks: the table and catalog locks sessions hold or wait for (forge_sql.engine.locks),
read at query time through a Python function, with PostgreSQL 16's columns."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA
from forge_sql.catalog.pg_stat_activity import DATABASE_OID
from forge_sql.catalog.session_functions import TOKEN

PG_DATABASE_CLASS = 1262  # pg_database's oid: a lock on the catalog is one on the database


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_locks AS SELECT "
        "l.locktype, "
        f"{DATABASE_OID}::BIGINT AS database, "
        "CASE WHEN l.locktype = 'relation' "
        f"THEN {SCHEMA}.relation_oid(l.schema_name, l.relation_name) END AS relation, "
        "NULL::INTEGER AS page, NULL::SMALLINT AS tuple, NULL::VARCHAR AS virtualxid, "
        "NULL::BIGINT AS transactionid, "
        f"CASE WHEN l.locktype = 'object' THEN {PG_DATABASE_CLASS}::BIGINT END AS classid, "
        f"CASE WHEN l.locktype = 'object' THEN {DATABASE_OID}::BIGINT END AS objid, "
        "CASE WHEN l.locktype = 'object' THEN 0::SMALLINT END AS objsubid, "
        "l.pid || '/1' AS virtualtransaction, l.pid, l.mode, l.granted, "
        "false AS fastpath, to_timestamp(l.waitstart) AS waitstart "
        f"FROM (SELECT unnest(forge_locks({TOKEN}), recursive := true)) AS l"
    )
