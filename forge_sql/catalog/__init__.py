"""pg_catalog and information_schema as PostgreSQL clients and BI tools expect them.

DuckDB refuses a user schema named pg_catalog, so the emulation lives in the server's own
database as ``server.pgc``: sessions put it on their search path, and forge_sql.catalog.rewrite
turns qualified ``pg_catalog.X`` references to what it provides into ``server.pgc.X``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from forge_sql.sql import quoting
from forge_sql.sql.quoting import quote_ident

SCHEMA = "server.pgc"
# DuckDB has an information_schema in every database, so the PostgreSQL-typed one lives
# beside the pg_catalog emulation and rewrite.py points ``information_schema.X`` at it.
INFORMATION_SCHEMA = "server.pgc_information_schema"

# Schemas of the lake that clients never see: the server's own bookkeeping.
HIDDEN_SCHEMAS = ("forge_meta",)

# Relations ``pg_catalog.<name>`` is rewritten to ``server.pgc.<name>`` for: DuckDB's own
# pg_catalog has some of them with DuckDB OIDs, and lacks the others. Functions need no list:
# ``pg_catalog.f(...)`` is resolved through the search path, where the emulation comes first.
PROVIDED = frozenset(
    {
        "pg_type",
        "pg_range",
        "pg_namespace",
        "pg_class",
        "pg_attribute",
        "pg_attrdef",
        "pg_index",
        "pg_indexes",
        "pg_constraint",
        "pg_description",
        "pg_shdescription",
        "pg_database",
        "pg_tablespace",
        "pg_roles",
        "pg_user",
        "pg_auth_members",
        "pg_am",
        "pg_proc",
        "pg_language",
        "pg_enum",
        "pg_collation",
        "pg_inherits",
        "pg_matviews",
        "pg_views",
        "pg_tables",
        "pg_settings",
        "pg_stat_user_tables",
        "pg_statio_user_tables",
        "pg_extension",
        "pg_depend",
        "pg_sequence",
        "pg_sequences",
        "pg_policy",
        "pg_statistic_ext",
        "pg_publication",
        "pg_publication_rel",
        "pg_publication_namespace",
        "pg_partitioned_table",
        "pg_trigger",
        "pg_rewrite",
        "pg_rules",
        "pg_opclass",
        "pg_conversion",
        "pg_foreign_server",
        "pg_foreign_data_wrapper",
        "pg_foreign_table",
        "pg_event_trigger",
        "pg_replication_slots",
        "pg_locks",
        "pg_stat_activity",
    }
)
INFORMATION_PROVIDED = frozenset(
    {
        "tables",
        "columns",
        "schemata",
        "views",
        "table_constraints",
        "key_column_usage",
        "routines",
        "sequences",
        "table_privileges",
        "role_table_grants",
        "_pg_expandarray",
    }
)


def literal(value: object) -> str:
    """A Python value as a DuckDB SQL literal (catalog DDL is built from trusted tables);
    values ``quoting.literal`` does not take (dates, decimals) are written as their text."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    try:
        return quoting.literal(value)
    except ValueError:
        return quoting.literal(str(value))


def search_path(catalog: str) -> str:
    """DuckDB search_path for a session: the lake's public schema, then the emulation."""
    return f"{quote_ident(catalog)}.public,{SCHEMA}"


def visible(schema_column: str) -> str:
    """SQL condition: the schema in ``schema_column`` is one clients may see."""
    hidden = ", ".join(literal(name) for name in HIDDEN_SCHEMAS)
    return f"{schema_column} NOT IN ({hidden})"


def fixed_table(
    name: str, columns: dict[str, str], rows: Sequence[Sequence[object]] = ()
) -> Iterator[str]:
    """DDL for ``server.pgc.<name>``, a table of fixed rows (empty: a feature not present)."""
    spec = ", ".join(f"{column} {kind}" for column, kind in columns.items())
    yield f"CREATE OR REPLACE TABLE {SCHEMA}.{name} ({spec})"
    if rows:
        values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
        yield f"INSERT INTO {SCHEMA}.{name} VALUES {values}"
