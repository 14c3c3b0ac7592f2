"""The rewrite pass's rules, in order, as this server fills the slots of
forge_sql.sql.rewrite (placeholder casts are added when a statement is planned:
forge_sql.engine.params)."""

from __future__ import annotations

from forge_sql.catalog import cron
from forge_sql.catalog import rewrite as catalog_sql
from forge_sql.plugins import dispatch
from forge_sql.sql import literals, numeric, postgres, semantics, string_casts, table_functions
from forge_sql.sql.rewrite import Rules, ordered

_POSTGRES_SEMANTICS = (*semantics.RULES, *string_casts.RULES)
RULES = ordered(
    # ml.f(x) -> forge_ext.ml.f(x): extension functions of schemas other than public.
    # cron.job, cron.schedule(...) -> server.cron.X (pg_cron's surface: engine.job_functions).
    catalog=(*catalog_sql.RULES, dispatch.RULE, cron.RULE),
    postgres=postgres.RULES,
    literals=(*literals.RULES, *numeric.RULES),  # numeric: bare numeric is DECIMAL(38,10)
    # PostgreSQL value semantics: integer division, format(), varchar(n) casts...
    semantics=_POSTGRES_SEMANTICS,
    table_functions=table_functions.RULES,  # Python table functions called in FROM
)
# A session with forge.semantics = 'duckdb' keeps DuckDB's own value semantics.
DUCKDB_RULES = tuple(rule for rule in RULES if rule not in _POSTGRES_SEMANTICS)


def for_semantics(name: str) -> Rules:
    """The rules of a session whose ``forge.semantics`` is ``name``."""
    return DUCKDB_RULES if name == "duckdb" else RULES
