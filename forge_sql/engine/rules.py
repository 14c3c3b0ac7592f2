"""The rewrite pass's rules, in order, as this server fills the slots of
forge_sql.sql.rewrite (placeholder casts are added when a statement is planned:
forge_sql.engine.params)."""

from __future__ import annotations

from forge_sql.catalog import rewrite as catalog_sql
from forge_sql.sql import literals, numeric, postgres
from forge_sql.sql.rewrite import ordered

RULES = ordered(
    catalog=catalog_sql.RULES,
    postgres=postgres.RULES,
    literals=(*literals.RULES, *numeric.RULES),  # numeric: bare numeric is DECIMAL(38,10)
    semantics=(),  # PostgreSQL value semantics: integer division, NULL ordering, typmods
    table_functions=(),  # Python table functions called in FROM
)
