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


def create(con: duckdb.DuckDBPyConnection, lake: str) -> None:
    """Create the bookkeeping schema and tables if the lake does not have them yet."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {lake}.{SCHEMA}")
    con.execute(CONSTRAINTS_DDL.format(lake=lake))
