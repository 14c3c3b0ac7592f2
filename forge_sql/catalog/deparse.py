"""The pg_get_*def functions: objects as SQL text, as psql and BI tools show them.

pg_attrdef.adbin and pg_constraint.conbin hold expression text already (there are no
parse trees here), so pg_get_expr returns its argument.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, literal

# duckdb_views().sql is the whole CREATE VIEW statement; PostgreSQL shows the query only.
_VIEW_QUERY = (
    "regexp_replace(rtrim(trim(sql), ';'), "
    r"'(?is)^\s*CREATE\s+(OR\s+REPLACE\s+)?(TEMP(ORARY)?\s+)?VIEW\s+.*?\s+AS\s+', '') || ';'"
)

# A column, a dotted column or a constant: what ``CAST(x AS t)`` becomes ``x::t`` around.
_OPERAND = r"((?:[A-Za-z_][\w$]*\.)*[A-Za-z_][\w$]*|'(?:[^']|'')*'|-?\d+(?:\.\d+)?)"
# The pattern a regular-expression operator was rewritten to (forge_sql.sql.postgres).
_WIDENED = r"\((\?i?s)\)\.\*\(\?:((?:[^']|'')*)\)\.\*"
# DuckDB's spellings in a stored view's text -> PostgreSQL's (pg_get_viewdef prints them
# so: ruleutils.c), in order. The text comes from DuckDB's own deparser, so a pattern
# meets only the forms it writes.
SPELLINGS: tuple[tuple[str, str], ...] = (
    (r"\bcount_star\(\)", "count(*)"),
    (r"\bcount\(\) OVER", "count(*) OVER"),
    (r"\bmain\.(\"?[A-Za-z_]\w*\"?\()", r"\1"),
    (rf"\(NOT regexp_full_match\(([^,()]+), '{_WIDENED}'\)\)", r"(\1 !~_\2 '\3')"),
    (rf"regexp_full_match\(([^,()]+), '{_WIDENED}'\)", r"(\1 ~_\2 '\3')"),
    (r" (!?~)_\?is ", r" \1* "),
    (r" (!?~)_\?s ", r" \1 "),
    (r" != ", " <> "),
    (r"ANY\(SELECT unnest\(\(([^()]*)\)\)\)", r"ANY (\1)"),
    (r"CASE  WHEN", "CASE WHEN"),
    (rf"CAST\({_OPERAND} AS (\"?[A-Z][A-Z ]*\"?(?:\(\d+(?:, \d+)?\))?)\)", r"\1::\2"),
    (r'::"?DATE"?', "::date"),
    (r"::BIGINT\b", "::bigint"),
    (r"::INTEGER\b", "::integer"),
    (r"::SMALLINT\b", "::smallint"),
    (r"::BOOLEAN\b", "::boolean"),
    (r"::VARCHAR\(", "::character varying("),
    (r"::VARCHAR\b", "::text"),
    (r"::INTERVAL\b", "::interval"),
    (r"::DECIMAL\((\d+), (\d+)\)", r"::numeric(\1,\2)"),
    (r"::DOUBLE\b", "::double precision"),
    (r"::FLOAT\b", "::real"),
    (r'::"?TIMESTAMP WITH TIME ZONE"?', "::timestamp with time zone"),
    (r'::"?TIMESTAMP"?(\W)', r"::timestamp without time zone\1"),
    (r'::"?TIME"?(\W)', r"::time without time zone\1"),
    (r"::UUID\b", "::uuid"),
    (r"::JSON\b", "::json"),
    (r"::BLOB\b", "::bytea"),
)


def postgres_spelling(text: str) -> str:
    """SQL: ``text`` (a stored view's query) with PostgreSQL's spellings."""
    for pattern, replacement in SPELLINGS:
        text = f"regexp_replace({text}, {literal(pattern)}, {literal(replacement)}, 'g')"
    return text


def definitions() -> Iterator[str]:
    s = SCHEMA
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_expr(expression, relation) AS "
        "expression::VARCHAR, (expression, relation, pretty) AS expression::VARCHAR"
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.view_definitions AS SELECT "
        f"{s}.relation_oid(schema_name, view_name) AS oid, schema_name, view_name, "
        f"{postgres_spelling(_VIEW_QUERY)} AS definition FROM {s}.lake_views "
        "WHERE database_name = current_database() AND NOT internal"
    )
    by_oid = (
        f"(SELECT first(definition) FROM {s}.view_definitions "
        f"WHERE oid = TRY_CAST(x AS BIGINT) OR oid = {s}.relation_oid_of(x))"
    )
    yield f"CREATE OR REPLACE MACRO {s}.pg_get_viewdef(x) AS {by_oid}, (x, pretty) AS {by_oid}"
    # No rule other than a view's own is stored (pg_rewrite is empty): NULL, as PostgreSQL
    # answers for an OID that names no rule.
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_ruledef(x) AS NULL::VARCHAR, "
        "(x, pretty) AS NULL::VARCHAR"
    )
    # A key is a column name (quoted as needed) or an expression's text.
    yield (
        f"CREATE OR REPLACE MACRO {s}.key_text(k) AS CASE WHEN contains(k, '(') THEN k "
        f"ELSE {s}.quote_ident(k) END"
    )
    columns = "array_to_string(list_transform(d.columns, c -> {s}.key_text(c)), ', ')"
    columns = columns.format(s=s)
    target = f"{s}.quote_ident(d.schema_name) || '.' || {s}.quote_ident(d.table_name)"
    # Pretty-printed (psql's \d), the table is named without its schema when the search
    # path finds it, as PostgreSQL's generate_relation_name does.
    pretty_target = (
        f"CASE WHEN pretty AND list_contains({s}.current_schemas(false), d.schema_name) "
        f"THEN {s}.quote_ident(d.table_name) ELSE {target} END"
    )
    # A declared index's definition is "[UNIQUE ]INDEX USING btree (keys)[ WHERE ...]".
    index = (
        "(SELECT first('CREATE ' || CASE WHEN d.kind IN ('p', 'u') "
        "OR starts_with(d.definition, 'UNIQUE') THEN 'UNIQUE ' ELSE '' END "
        f"|| 'INDEX ' || {s}.quote_ident(d.name) || ' ON ' || {target} || ' ' "
        "|| coalesce(regexp_replace(d.definition, '^(UNIQUE\\s+)?INDEX\\s+', ''), "
        f"'USING btree (' || {columns} || ')')) FROM {s}.declared AS d "
        "WHERE d.index_oid = x AND d.kind IN ('p', 'u', 'i'))"
    )
    # With a column number, PostgreSQL returns that key column only.
    column = (
        "CASE WHEN column_number = 0 THEN " + index.replace(target, pretty_target) + " ELSE "
        f"(SELECT first({s}.key_text(d.columns[column_number])) FROM {s}.declared AS d "
        "WHERE d.index_oid = x AND d.kind IN ('p', 'u', 'i')) END"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_indexdef(x) AS {index}, "
        f"(x, column_number, pretty) AS {column}"
    )
    # Checks as PostgreSQL prints them, "CHECK ((a > 0))"; foreign keys with no space
    # between the referenced table and its columns, as SQLAlchemy's parser expects.
    # Pretty-printed, PostgreSQL leaves out the check's outer brackets: "CHECK (a > 0)".
    check = (
        "CASE WHEN {pretty} THEN 'CHECK ' || regexp_replace(d.definition, '^CHECK\\s*', '') "
        "ELSE 'CHECK (' || regexp_replace(d.definition, '^CHECK\\s*', '') || ')' END"
    )
    constraint = (
        "(SELECT first(CASE d.kind "
        f"WHEN 'p' THEN 'PRIMARY KEY (' || {columns} || ')' "
        f"WHEN 'u' THEN 'UNIQUE (' || {columns} || ')' "
        "WHEN 'c' THEN {check} "
        "ELSE regexp_replace(d.definition, '(REFERENCES\\s+\\S+?)\\s+\\(', '\\1(') END) "
        f"FROM {s}.declared AS d WHERE d.conoid = x)"
    )
    plain = constraint.format(check=check.format(pretty="false"))
    pretty = constraint.format(check=check.format(pretty="coalesce(pretty, false)"))
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_constraintdef(x) AS {plain}, "
        f"(x, pretty) AS {pretty}"
    )
    # Macros take untyped parameters: psql's \df lists them by name.
    function = f"(SELECT first({{}}) FROM {s}.pg_proc WHERE oid = x)"
    result = "CASE WHEN proretset THEN 'SETOF ' ELSE '' END || " + f"{s}.regtype_name(prorettype)"
    arguments = "coalesce(array_to_string(proargnames, ', '), '')"
    # The extensions' functions have typed arguments and defaults, printed when recorded.
    python = f"(SELECT first({{}}) FROM {s}.extension_functions WHERE oid = x)"
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_function_result(x) AS coalesce("
        + python.format("result") + ", " + function.format(result) + ")"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_function_arguments(x) AS coalesce("
        + python.format("arguments") + ", " + function.format(arguments) + ")"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_function_identity_arguments(x) AS coalesce("
        + python.format("regexp_replace(arguments, ' DEFAULT [^,]*', '', 'g')") + ", "
        + function.format(arguments) + ")"
    )
    # No function has a SQL-standard body (prosqlbody): psql's \df+ asks for it.
    yield f"CREATE OR REPLACE MACRO {s}.pg_get_function_sqlbody(x) AS NULL::VARCHAR"
    # No partitioned tables, sequences behind columns, triggers or extended statistics.
    yield f"CREATE OR REPLACE MACRO {s}.pg_get_partkeydef(x) AS NULL::VARCHAR"
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_serial_sequence(relation, column_name) AS "
        "NULL::VARCHAR"
    )
    yield f"CREATE OR REPLACE MACRO {s}.pg_get_statisticsobjdef_columns(x) AS NULL::VARCHAR"
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_get_triggerdef(x) AS NULL::VARCHAR, "
        "(x, pretty) AS NULL::VARCHAR"
    )
    yield f"CREATE OR REPLACE MACRO {s}.pg_relation_is_publishable(x) AS false"
    # Without partitions a relation is its own only ancestor (a set-returning function).
    yield f"CREATE OR REPLACE MACRO {s}.pg_partition_ancestors(x) AS unnest([{s}.regclass(x)])"
    yield f"CREATE OR REPLACE MACRO {s}.pg_stat_get_numscans(x) AS 0::BIGINT"
