"""Sequences as the catalog shows them: pg_class rows of relkind 'S' (pg_class.py), pg_sequence,
pg_sequences, information_schema.sequences, pg_get_serial_sequence, and the nextval,
currval, setval and lastval functions (forge_sql.engine.sequence_functions does the work).

``sequence_rows`` is the lake's forge_meta.sequences as of its latest snapshot
(forge_sql.catalog.snapshot copies it).
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import INFORMATION_SCHEMA, SCHEMA
from forge_sql.catalog.session_functions import TOKEN

# PostgreSQL's type OIDs of the sequence data types.
_TYPE_OIDS = "CASE data_type WHEN 'smallint' THEN 21 WHEN 'integer' THEN 23 ELSE 20 END"

# The text DuckDB keeps as the default of a column filled from a sequence (written by
# forge_sql.engine.serial_columns), and PostgreSQL's print of it.
NEXTVAL_DEFAULT = "forge_nextval(getvariable('forge_session'), '{name}')"
# An identity column's: PostgreSQL shows no default for it, and attidentity 'a' or 'd'.
IDENTITY_DEFAULT = "forge_identity(getvariable('forge_session'), '{name}', '{kind}')"
_IDENTITY_PATTERN = r"^forge_identity\(.*, '([ad])'\)$"
_DEFAULT_PATTERN = r"^forge_nextval\(getvariable\('forge_session'\), '(?:public\.)?(.*)'\)$"


def tables() -> Iterator[str]:
    """What pg_class and relation_names read: created before them."""
    yield (
        f"CREATE OR REPLACE TABLE {SCHEMA}.sequence_rows (schema_name VARCHAR, "
        "sequence_name VARCHAR, data_type VARCHAR, start_value BIGINT, increment_by BIGINT, "
        "min_value BIGINT, max_value BIGINT, cache_size BIGINT, cycle BOOLEAN, "
        "last_value BIGINT, is_called BOOLEAN, owned_table VARCHAR, owned_column VARCHAR, "
        "identity VARCHAR, owner VARCHAR)"
    )


def macros() -> Iterator[str]:
    """What pg_attribute, pg_attrdef and information_schema.columns call."""
    s = SCHEMA
    # The text pg_attrdef and information_schema.columns show for a column default.
    yield (
        f"CREATE OR REPLACE MACRO {s}.sequence_default(expression) AS "
        f"CASE WHEN regexp_matches(expression, {_quoted(_DEFAULT_PATTERN)}) THEN "
        f"'nextval(''' || regexp_extract(expression, {_quoted(_DEFAULT_PATTERN)}, 1) "
        "|| '''::regclass)' END"
    )
    # A value stored into varchar(n) / char(n) (forge_sql.engine.lengths): spaces beyond n
    # cut, anything else beyond n refused, as PostgreSQL's assignment cast does.
    yield (
        f"CREATE OR REPLACE MACRO {s}.string_fit(x, n, bpchar) AS CASE "
        "WHEN x IS NULL OR length(x::VARCHAR) <= n THEN x::VARCHAR "
        "WHEN length(rtrim(x::VARCHAR, ' ')) <= n THEN left(x::VARCHAR, n) "
        "ELSE error('value too long for type ' || CASE WHEN bpchar THEN 'character(' "
        "ELSE 'character varying(' END || n || ')') END"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.identity_kind(expression) AS "
        f"coalesce(regexp_extract(expression, {_quoted(_IDENTITY_PATTERN)}, 1), '')"
    )


def definitions() -> Iterator[str]:
    s = SCHEMA
    yield f"CREATE OR REPLACE MACRO {s}.nextval(x) AS forge_nextval({TOKEN}, x::VARCHAR)"
    yield f"CREATE OR REPLACE MACRO {s}.currval(x) AS forge_currval({TOKEN}, x::VARCHAR)"
    yield f"CREATE OR REPLACE MACRO {s}.lastval() AS forge_lastval({TOKEN})"
    yield (
        f"CREATE OR REPLACE MACRO {s}.setval(x, v) AS "
        f"forge_setval({TOKEN}, x::VARCHAR, v::BIGINT, true), "
        f"(x, v, c) AS forge_setval({TOKEN}, x::VARCHAR, v::BIGINT, c::BOOLEAN)"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_serial_sequence(relation, column_name) AS ("
        "SELECT first(CASE WHEN q.schema_name = 'public' THEN 'public.' ELSE "
        "q.schema_name || '.' END || q.sequence_name ORDER BY q.schema_name <> 'public') "
        f"FROM {s}.sequence_rows AS q WHERE q.owned_column = lower(column_name) "
        # The relation's name as text, not through regclass(): tools call this for every
        # column of a schema (SQLAlchemy's reflection), and a regclass lookup per column
        # made that 15 times slower. Unquoted names fold to lower case as regclass does;
        # an unqualified name found in several schemas takes public's table.
        "AND (lower(relation) IN (q.owned_table, q.schema_name || '.' || q.owned_table) "
        "OR relation IN ('\"' || q.owned_table || '\"', "
        "'\"' || q.schema_name || '\".\"' || q.owned_table || '\"', "
        "q.schema_name || '.\"' || q.owned_table || '\"', "
        "'\"' || q.schema_name || '\".' || q.owned_table)))"
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_sequence AS SELECT "
        f"{s}.relation_oid(schema_name, sequence_name) AS seqrelid, "
        f"({_TYPE_OIDS})::BIGINT AS seqtypid, start_value AS seqstart, "
        "increment_by AS seqincrement, max_value AS seqmax, min_value AS seqmin, "
        f"cache_size AS seqcache, cycle AS seqcycle FROM {s}.sequence_rows"
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_sequences AS SELECT schema_name AS schemaname, "
        "sequence_name AS sequencename, coalesce(owner, 'forge') AS sequenceowner, "
        "data_type, start_value, min_value, max_value, increment_by, cycle, cache_size, "
        "forge_sequence_last(schema_name, sequence_name) AS last_value "
        f"FROM {s}.sequence_rows"
    )


def information_schema() -> Iterator[str]:
    """information_schema.sequences (after the schema exists)."""
    s = SCHEMA
    yield (
        f"CREATE OR REPLACE VIEW {INFORMATION_SCHEMA}.sequences AS SELECT "
        "current_database() AS sequence_catalog, schema_name AS sequence_schema, "
        "sequence_name, data_type, "
        "CASE data_type WHEN 'smallint' THEN 16 WHEN 'integer' THEN 32 ELSE 64 END "
        "AS numeric_precision, 2 AS numeric_precision_radix, 0 AS numeric_scale, "
        "start_value::VARCHAR AS start_value, min_value::VARCHAR AS minimum_value, "
        "max_value::VARCHAR AS maximum_value, increment_by::VARCHAR AS increment, "
        "CASE WHEN cycle THEN 'YES' ELSE 'NO' END AS cycle_option "
        f"FROM {s}.sequence_rows"
    )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
