"""Identifier and literal quoting, keywords, and the search path as PostgreSQL reports them:
quote_ident, quote_literal, quote_nullable, parse_ident, pg_get_keywords (current_schemas:
regtypes.py, beside the lookups that use it)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from forge_sql.catalog import SCHEMA, literal

# pg_get_keywords().catcode by DuckDB's keyword category (DuckDB's parser is PostgreSQL's).
_CATEGORIES = {
    "unreserved": ("U", "unreserved"),
    "column_name": ("C", "unreserved (cannot be function or type name)"),
    "type_function": ("T", "reserved (can be function or type name)"),
    "reserved": ("R", "reserved"),
}


def definitions(keywords: Sequence[tuple[str, str]]) -> Iterator[str]:
    """``keywords``: (word, DuckDB category) from duckdb_keywords()."""
    s = SCHEMA
    quoted = sorted(word for word, category in keywords if category != "unreserved")
    # Keywords that are not unreserved need quotes, as in PostgreSQL's quote_identifier().
    yield (
        f"CREATE OR REPLACE MACRO {s}.quote_ident(x) AS CASE "
        "WHEN regexp_full_match(x::VARCHAR, '[a-z_][a-z0-9_$]*') "
        f"AND NOT list_contains({literal(quoted)}, x::VARCHAR) THEN x::VARCHAR "
        "ELSE '\"' || replace(x::VARCHAR, '\"', '\"\"') || '\"' END"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.quote_literal(x) AS "
        "CASE WHEN x IS NULL THEN NULL WHEN contains(x::VARCHAR, '\\') THEN "
        "'E''' || replace(replace(x::VARCHAR, '\\', '\\\\'), '''', '''''') || '''' "
        "ELSE '''' || replace(x::VARCHAR, '''', '''''') || '''' END"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.quote_nullable(x) AS "
        f"coalesce({s}.quote_literal(x), 'NULL')"
    )
    # parse_ident('a."B c"') = ['a', 'B c']: unquoted parts fold to lower case.
    yield (
        f"CREATE OR REPLACE MACRO {s}.parse_ident(x) AS list_transform("
        "regexp_extract_all(x, '(\"(?:[^\"]|\"\")*\"|[^.\"]+)'), "
        "p -> CASE WHEN starts_with(p, '\"') THEN replace(p[2:-2], '\"\"', '\"') "
        "ELSE lower(trim(p)) END)"
    )
    rows = ", ".join(
        f"({literal(word)}, {literal(_CATEGORIES[category][0])}, "
        f"{literal(_CATEGORIES[category][1])})"
        for word, category in sorted(keywords)
    )
    yield (
        f"CREATE OR REPLACE TABLE {s}.keywords AS SELECT word::VARCHAR AS word, "
        "catcode::VARCHAR AS catcode, true AS barelabel, catdesc::VARCHAR AS catdesc, "
        "'can be bare label' AS baredesc "
        f"FROM (VALUES {rows}) AS k(word, catcode, catdesc)"
    )
    yield f"CREATE OR REPLACE MACRO {s}.pg_get_keywords() AS TABLE SELECT * FROM {s}.keywords"
