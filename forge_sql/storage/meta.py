"""The lake's own bookkeeping schema, ``forge_meta``, hidden from clients' catalog views.

It lives in the lake (not in the server's database) so that what it records changes in
the same transaction as the tables it describes: DuckDB writes to one attached database
per transaction.
"""

from __future__ import annotations

import duckdb

SCHEMA = "forge_meta"

# Keys, checks and indexes that clients and migrations declare (forge_sql.engine.constraints
# records those sent as DDL). DuckLake enforces only NOT NULL, so these are recorded (and
# shown in pg_constraint / pg_index) but not enforced. kind: 'p' primary key, 'u' unique,
# 'c' check, 'f' foreign key, 'i' index; columns: as the table spells them, in key order
# (an expression index key is the expression's text); definition: NULL for 'p' and 'u',
# else what follows the name in PostgreSQL's DDL: "CHECK (a > 0)",
# "FOREIGN KEY (a) REFERENCES t (b) ON DELETE CASCADE",
# "[UNIQUE ]INDEX USING btree (a DESC, lower(b))[ WHERE ...]".
CONSTRAINTS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.constraints ("
    "schema_name VARCHAR NOT NULL, table_name VARCHAR NOT NULL, name VARCHAR NOT NULL, "
    "kind VARCHAR NOT NULL, columns VARCHAR[] NOT NULL, definition VARCHAR, "
    "created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"
)


# The history of `forge-sql migrate`: one row per applied migration, written in the same
# transaction as the migration itself. version is NULL for repeatable migrations; kind is
# sql, yaml, py, repeatable or baseline; undo holds the statements `migrate down` runs
# (from the file's down section, or computed for YAML declarations).
MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.migrations ("
    "installed_rank INTEGER NOT NULL, version VARCHAR, name VARCHAR NOT NULL, "
    "kind VARCHAR NOT NULL, script VARCHAR NOT NULL, checksum VARCHAR, "
    "installed_by VARCHAR NOT NULL, "
    "installed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "
    "duration_ms BIGINT NOT NULL, undo VARCHAR)"
)

# One row: which migrate run holds the lock, until when (a lease it renews while it runs,
# so a run killed on another machine cannot hold the lock for longer than one lease).
MIGRATION_LOCK_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.migration_lock ("
    "id INTEGER NOT NULL, holder VARCHAR, pid INTEGER, host VARCHAR, "
    "acquired_at TIMESTAMP WITH TIME ZONE, expires_at TIMESTAMP WITH TIME ZONE)"
)


# External datasets that migrations declared: one row per view (definition: its CREATE
# VIEW statement, for undo and drift checks). The server adds each
# path's directory to the file sandbox when it starts (forge_sql.engine.database), so only
# the migration (in its own transaction) and superusers may write it
# (forge_sql.engine.storage_calls.needs_superuser).
EXTERNAL_DATASETS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.external_datasets ("
    "schema_name VARCHAR NOT NULL, view_name VARCHAR NOT NULL, path VARCHAR NOT NULL, "
    "definition VARCHAR NOT NULL, declared_in VARCHAR NOT NULL, "
    "declared_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"
)


# Roles created over the wire (CREATE ROLE), beside those of the configuration, which win
# on a name both have. password: a SCRAM-SHA-256 verifier or NULL, never clear text.
ROLES_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.roles ("
    "name VARCHAR NOT NULL, login BOOLEAN NOT NULL, superuser BOOLEAN NOT NULL, "
    "inherit BOOLEAN NOT NULL, password VARCHAR, "
    "created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"
)

# GRANT role TO member (pg_auth_members).
ROLE_MEMBERS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.role_members ("
    "role VARCHAR NOT NULL, member VARCHAR NOT NULL, grantor VARCHAR NOT NULL, "
    "admin_option BOOLEAN NOT NULL)"
)

# One row per privilege granted on a table, view or schema (an aclitem's letter):
# object_kind 'r' relation or 'n' schema (object_name NULL); grantee '' is PUBLIC.
PRIVILEGES_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.privileges ("
    "object_kind VARCHAR NOT NULL, schema_name VARCHAR NOT NULL, object_name VARCHAR, "
    "grantee VARCHAR NOT NULL, privilege VARCHAR NOT NULL, grantor VARCHAR NOT NULL, "
    "grantable BOOLEAN NOT NULL)"
)

# Who created a table, view or schema (object_name NULL): its owner. Objects without a
# row belong to the bootstrap superuser.
OWNERS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.owners ("
    "object_kind VARCHAR NOT NULL, schema_name VARCHAR NOT NULL, object_name VARCHAR, "
    "owner VARCHAR NOT NULL)"
)

# ALTER DEFAULT PRIVILEGES: granted on each table creator makes (in schema_name, or in any
# schema when it is NULL).
DEFAULT_PRIVILEGES_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.default_privileges ("
    "creator VARCHAR NOT NULL, schema_name VARCHAR, grantee VARCHAR NOT NULL, "
    "privilege VARCHAR NOT NULL, grantable BOOLEAN NOT NULL)"
)

# Sequences (CREATE SEQUENCE, and those behind serial and identity columns). last_value
# and is_called are PostgreSQL's (pg_sequences.last_value): the last value a server reserved
# for itself, handed out or not (forge_sql.engine.sequences hands out ranges). owned_table
# and owned_column: OWNED BY, NULL for none. data_type: smallint, integer or bigint.
SEQUENCES_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.sequences ("
    "schema_name VARCHAR NOT NULL, sequence_name VARCHAR NOT NULL, "
    "data_type VARCHAR NOT NULL, start_value BIGINT NOT NULL, increment_by BIGINT NOT NULL, "
    "min_value BIGINT NOT NULL, max_value BIGINT NOT NULL, cache_size BIGINT NOT NULL, "
    "cycle BOOLEAN NOT NULL, last_value BIGINT NOT NULL, is_called BOOLEAN NOT NULL, "
    "owned_table VARCHAR, owned_column VARCHAR, identity VARCHAR NOT NULL DEFAULT '', "
    "owner VARCHAR, created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"
)

# Declared string types DuckDB keeps as VARCHAR (forge_sql.engine.declared_types):
# declared_type is 'TEXT', 'VARCHAR(n)' or 'BPCHAR(n)', with '[]' for an array.
COLUMN_TYPES_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.column_types ("
    "schema_name VARCHAR NOT NULL, table_name VARCHAR NOT NULL, column_name VARCHAR NOT NULL, "
    "declared_type VARCHAR NOT NULL)"
)

# Syncs declared by migrations (forge_sql.engine.syncs): definition is the declaration as
# JSON; schedule its cron text, for a scheduler to run ``CALL forge_sync('name')``.
SYNCS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.syncs ("
    "name VARCHAR NOT NULL, definition VARCHAR NOT NULL, schedule VARCHAR, "
    "declared_in VARCHAR)"
)
# A sync's state: its cursor value only (as text, with the cursor column's type), written
# in the transaction that writes the rows it covers.
SYNC_STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.sync_state ("
    "name VARCHAR NOT NULL, cursor_value VARCHAR, cursor_type VARCHAR, "
    "last_run BIGINT, updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"
)
# Each run of a sync (kept: the last keep_runs of each sync).
SYNC_RUNS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.sync_runs ("
    "run_id BIGINT NOT NULL, name VARCHAR NOT NULL, started TIMESTAMP WITH TIME ZONE NOT NULL, "
    "finished TIMESTAMP WITH TIME ZONE, status VARCHAR NOT NULL, full_refresh BOOLEAN, "
    "rows_read BIGINT, rows_inserted BIGINT, rows_updated BIGINT, rows_deleted BIGINT, "
    "pages BIGINT, requests BIGINT, retries BIGINT, throttled BIGINT, duration_ms BIGINT, "
    "cursor_from VARCHAR, cursor_to VARCHAR, error VARCHAR)"
)

# Materialized views (forge_sql.engine.materialized_views): the lake table of the same name
# holds the rows; this row says it is one, its query and the column names it gave, whether
# it holds rows yet (WITH NO DATA), and the refresh schedule a migration declared (cron).
MATVIEWS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.matviews ("
    "schema_name VARCHAR NOT NULL, matview_name VARCHAR NOT NULL, definition VARCHAR NOT NULL, "
    "column_names VARCHAR[], populated BOOLEAN NOT NULL, refresh_schedule VARCHAR, "
    "created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"
)

# Scheduled jobs (forge_sql.engine.jobs): pg_cron's cron.job columns, then what pg_cron
# lacks (time zone, retries with backoff, timeout, overlap policy, a job it runs after, the
# migration that declared it).
CRON_JOBS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.cron_jobs ("
    "jobid BIGINT NOT NULL, jobname VARCHAR, schedule VARCHAR NOT NULL, "
    "command VARCHAR NOT NULL, database VARCHAR NOT NULL, username VARCHAR NOT NULL, "
    "active BOOLEAN NOT NULL, timezone VARCHAR NOT NULL, retries INTEGER NOT NULL, "
    "retry_backoff_ms BIGINT NOT NULL, timeout_ms BIGINT NOT NULL, overlap VARCHAR NOT NULL, "
    "after VARCHAR, declared_in VARCHAR, created_at TIMESTAMP WITH TIME ZONE NOT NULL)"
)

# The tick a scheduler last claimed, per job. Claiming is an UPDATE of the job's row here:
# of two servers, DuckLake commits one. Apart from cron_jobs, so that claims never make a
# migration or cron.alter_job that changes the job fail at commit.
CRON_STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.cron_job_state ("
    "jobid BIGINT NOT NULL, last_tick TIMESTAMP WITH TIME ZONE, node VARCHAR)"
)

# One row per run (and per retry: attempt), as pg_cron's cron.job_run_details; node: the
# server that ran it; scheduled_for: the tick it ran for. runid: microseconds since the epoch
# when the run began (unique across servers without a shared counter).
CRON_RUNS_DDL = (
    "CREATE TABLE IF NOT EXISTS {lake}.forge_meta.cron_job_run_details ("
    "jobid BIGINT NOT NULL, runid BIGINT NOT NULL, job_pid INTEGER, database VARCHAR, "
    "username VARCHAR, command VARCHAR, status VARCHAR NOT NULL, return_message VARCHAR, "
    "start_time TIMESTAMP WITH TIME ZONE, end_time TIMESTAMP WITH TIME ZONE, "
    "attempt INTEGER NOT NULL, node VARCHAR, scheduled_for TIMESTAMP WITH TIME ZONE)"
)

# The tables above, which only the server and superusers may read (they hold verifiers).
ROLE_TABLES = frozenset({"roles", "role_members", "privileges", "owners", "default_privileges"})


def create(con: duckdb.DuckDBPyConnection, lake: str) -> None:
    """Create the bookkeeping schema and tables if the lake does not have them yet."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {lake}.{SCHEMA}")
    con.execute(CONSTRAINTS_DDL.format(lake=lake))
    con.execute(MIGRATIONS_DDL.format(lake=lake))
    # Empty until the first migrate run adds its one row (forge_sql.migrate.lease).
    con.execute(MIGRATION_LOCK_DDL.format(lake=lake))
    con.execute(EXTERNAL_DATASETS_DDL.format(lake=lake))
    con.execute(SEQUENCES_DDL.format(lake=lake))
    con.execute(COLUMN_TYPES_DDL.format(lake=lake))
    for ddl in (SYNCS_DDL, SYNC_STATE_DDL, SYNC_RUNS_DDL):
        con.execute(ddl.format(lake=lake))
    con.execute(MATVIEWS_DDL.format(lake=lake))
    con.execute(CRON_JOBS_DDL.format(lake=lake))
    con.execute(CRON_RUNS_DDL.format(lake=lake))
    con.execute(CRON_STATE_DDL.format(lake=lake))
    for ddl in (ROLES_DDL, ROLE_MEMBERS_DDL, PRIVILEGES_DDL, OWNERS_DDL, DEFAULT_PRIVILEGES_DDL):
        con.execute(ddl.format(lake=lake))
