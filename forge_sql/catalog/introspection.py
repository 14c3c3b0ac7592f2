"""asyncpg's type introspection query (asyncpg/introspection.py, INTRO_LOOKUP_TYPES),
answered with an equivalent the emulation can type for asyncpg.

asyncpg decodes the introspection result with its core codecs only: its ``attrtypoids``
and ``attrnames`` columns must be oid[] and text[], but DuckDB results of those arrays are
described as int4[]/varchar[], which asyncpg would have to introspect in turn (it recurses
until RecursionError). They only describe composite types, of which the emulation has none,
so the equivalent returns them as NULL json (a core codec) and drops their recursion branch.
"""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql.catalog import SCHEMA
from forge_sql.sql.statements import Token

_COLUMNS = (
    "oid, ns, name, kind, basetype, elemtype, elemdelim, range_subtype, attrtypoids, attrnames"
)

# Domains (typtype 'd'), ranges and composites do not exist here: their columns are NULL.
_TYPEINFO = (
    "(SELECT t.oid AS oid, ns.nspname AS ns, t.typname AS name, t.typtype AS kind, "
    "NULL::BIGINT AS basetype, t.typelem AS elemtype, elem_t.typdelim AS elemdelim, "
    "r.rngsubtype AS range_subtype, NULL::JSON AS attrtypoids, NULL::JSON AS attrnames "
    f"FROM {SCHEMA}.pg_type AS t JOIN {SCHEMA}.pg_namespace AS ns ON ns.oid = t.typnamespace "
    f"LEFT JOIN {SCHEMA}.pg_type AS elem_t "
    "ON t.typlen = -1 AND t.typelem != 0 AND t.typelem = elem_t.oid "
    f"LEFT JOIN {SCHEMA}.pg_range AS r ON t.oid = r.rngtypid)"
)

QUERY = (
    f"WITH RECURSIVE typeinfo_tree({_COLUMNS}, depth) AS ("
    f"SELECT {_COLUMNS}, 0 FROM {_TYPEINFO} AS ti WHERE ti.oid = any($1::oid[]) "
    "UNION ALL "
    f"SELECT {', '.join('ti.' + c for c in _COLUMNS.split(', '))}, tt.depth + 1 "
    f"FROM {_TYPEINFO} AS ti, typeinfo_tree AS tt "
    "WHERE (tt.elemtype IS NOT NULL AND ti.oid = tt.elemtype) "
    "OR (tt.range_subtype IS NOT NULL AND ti.oid = tt.range_subtype) "
    "OR (tt.basetype IS NOT NULL AND ti.oid = tt.basetype)) "
    f"SELECT DISTINCT *, {SCHEMA}.regtype_name(basetype) AS basetype_name, "
    f"{SCHEMA}.regtype_name(elemtype) AS elemtype_name, "
    f"{SCHEMA}.regtype_name(range_subtype) AS range_subtype_name "
    "FROM typeinfo_tree ORDER BY depth DESC"
)


def is_asyncpg_lookup(tokens: Sequence[Token]) -> bool:
    """The query names asyncpg's CTE and its composite-type columns."""
    names = {t.text.lower() for t in tokens if t.kind == "identifier"}
    return {"typeinfo_tree", "attrtypoids", "attrnames", "elemdelim"} <= names
