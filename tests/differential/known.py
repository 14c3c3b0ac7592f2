"""Differences from PostgreSQL the server still has, one entry per class, each matched by a
tight predicate on the difference it explains. An entry is deleted when its class is fixed;
a difference no entry matches fails the test."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .compare import Difference
from .harness import Outcome

ERROR_KINDS = frozenset({"error_only_forge", "error_only_pg", "sqlstate", "phase"})
RESULT_KINDS = frozenset({"values", "row_order", "row_count", "command_tag", "binary_values",
                          "table_after"})
INT_OIDS = frozenset({20, 21, 23})

Match = Callable[[Outcome, Difference], bool]


@dataclass(frozen=True)
class Pending:
    """A class of differences still to remove: what the predicate accepts and why it
    differs today."""

    name: str
    reason: str
    match: Match


def forge_error(o: Outcome, pattern: str, state: str | None = None) -> bool:
    error = o.forge.error
    return bool(error and (state is None or error[1] == state) and re.search(pattern, error[2]))


def pg_error(o: Outcome, pattern: str, state: str) -> bool:
    error = o.pg.error
    return bool(error and error[1] == state and re.search(pattern, error[2]))


def column_pair(o: Outcome, d: Difference) -> tuple[tuple[str, int, int], tuple[str, int, int]]:
    assert d.column is not None
    return o.forge.columns[d.column], o.pg.columns[d.column]


def types_differ(forge_oid: int, pg_oids: frozenset[int] | set[int],
                 pg_names: frozenset[str] | None = None) -> Match:
    """A column announced as ``forge_oid`` where PostgreSQL announces one of ``pg_oids``
    (named one of ``pg_names``, when given)."""
    def match(o: Outcome, d: Difference) -> bool:
        if d.kind != "column_types":
            return False
        forge, pg = column_pair(o, d)
        return forge[1] == forge_oid and pg[1] in pg_oids and \
            (pg_names is None or pg[0] in pg_names)
    return match


def errors_when(pattern: str, state: str | None = None) -> Match:
    """forge-sql fails with a message matching ``pattern`` (where PostgreSQL answers or fails
    otherwise)."""
    return lambda o, d: d.kind in ERROR_KINDS and forge_error(o, pattern, state)


def results_differ_with(*tags: str) -> Match:
    """Rows differ in a statement using one of ``tags`` (a generator feature)."""
    wanted = frozenset(tags)
    return lambda o, d: d.kind in RESULT_KINDS and bool(wanted & o.case.tags)


# Functions PostgreSQL has that DuckDB lacks under that name (42883 at Parse).
MISSING_FUNCTIONS = frozenset({
    "to_char", "to_date", "to_number", "justify_hours", "justify_days", "justify_interval",
    "json_agg", "json_build_array", "json_build_object", "json_typeof", "convert_to",
    "width_bucket", "make_interval", "every", "initcap", "array_remove", "scale", "div",
    "btrim",
})
# Calls whose argument types DuckDB does not accept where PostgreSQL does.
MISSING_OVERLOADS = frozenset({
    "rpad(VARCHAR, INTEGER_LITERAL)", "rpad(STRING_LITERAL, INTEGER_LITERAL)",
    "to_timestamp(STRING_LITERAL, STRING_LITERAL)", "sum(INTERVAL)", "avg(INTERVAL)",
    "encode(BLOB, STRING_LITERAL)", "octet_length(VARCHAR)",
})


def missing_function(o: Outcome, d: Difference) -> bool:
    if d.kind not in ERROR_KINDS or not o.forge.error or o.forge.error[1] != "42883":
        return False
    found = re.search(r"Function with name (\S+) does not exist", o.forge.error[2])
    return bool(found and found.group(1) in MISSING_FUNCTIONS)


def missing_overload(o: Outcome, d: Difference) -> bool:
    if d.kind not in ERROR_KINDS or not o.forge.error or o.forge.error[1] != "42883":
        return False
    found = re.search(r"argument types '([^']*)'", o.forge.error[2])
    return bool(found and found.group(1) in MISSING_OVERLOADS)


def numeric_typmod(o: Outcome, d: Difference) -> bool:
    if d.kind != "typmod":
        return False
    forge, pg = column_pair(o, d)
    return forge[1] == pg[1] == 1700 and pg[2] == -1 and forge[2] != -1


def varchar_typmod_lost(o: Outcome, d: Difference) -> bool:
    if d.kind != "typmod":
        return False
    forge, pg = column_pair(o, d)
    return forge[1] == pg[1] == 1043 and forge[2] == -1 and pg[2] != -1


def duplicate_names(o: Outcome, d: Difference) -> bool:
    if d.kind != "column_names" or d.column is None:
        return False
    forge, pg = column_pair(o, d)
    return re.fullmatch(re.escape(pg[0]) + r"_\d+", forge[0]) is not None


TYPE_NAMES = frozenset({"varchar", "int4", "int2", "int8", "text", "json", "time", "timestamp",
                        "timestamptz", "date", "bpchar", "numeric", "float8", "float4",
                        "interval", "bool", "uuid", "bytea"})


def cast_names(o: Outcome, d: Difference) -> bool:
    """PostgreSQL names a column after the type of its outermost cast."""
    if d.kind != "column_names" or d.column is None:
        return False
    forge, pg = column_pair(o, d)
    return pg[0] in TYPE_NAMES and forge[0] in TYPE_NAMES | {"unbound", "list", "?column?"}


def returning_refused(o: Outcome, d: Difference) -> bool:
    return forge_error(o, r"RETURNING clause not yet supported", "0A000") and (
        d.kind in ERROR_KINDS or (d.kind == "column_names" and not o.forge.columns))


def integer_division(o: Outcome, d: Difference) -> bool:
    if "int_div" not in o.case.tags:
        return False
    if d.kind == "column_types":
        forge, pg = column_pair(o, d)
        return forge[1] == 701 and pg[1] in INT_OIDS
    return d.kind in RESULT_KINDS


NULLS_DESC_TAGS = ("order_desc", "group_order desc", "window_order desc")
SQLSTATE_PAIRS = frozenset({("22003", "2201F"), ("22003", "2201E"), ("22P02", "22007"),
                            ("22003", "22007"), ("22003", "22008"), ("22P02", "22023"),
                            ("22003", "22012"), ("22P02", "22003")})


def sqlstate_mapping(o: Outcome, d: Difference) -> bool:
    return d.kind == "sqlstate" and o.forge.error is not None and o.pg.error is not None and \
        (o.forge.error[1], o.pg.error[1]) in SQLSTATE_PAIRS


def input_error_phase(o: Outcome, d: Difference) -> bool:
    """PostgreSQL converts a constant while parsing, DuckDB when the statement runs."""
    return d.kind == "phase" and o.forge.error is not None and o.pg.error is not None and \
        o.forge.error[0] != o.pg.error[0] and o.pg.error[1] in ("22P02", "22007", "22008",
                                                                 "22003")


def dml_missing_table(o: Outcome, d: Difference) -> bool:
    return d.kind == "phase" and o.forge.error is not None and o.pg.error is not None and \
        o.pg.error[1] == "42P01" and o.pg.error[0] == "parse" and o.forge.error[0] == "execute"


PENDING: tuple[Pending, ...] = (
    Pending("missing function", "DuckDB has no function of that name; PostgreSQL's must be "
            "provided (macro or rewrite)", missing_function),
    Pending("missing overload", "DuckDB has the function but not for these argument types",
            missing_overload),
    Pending("array input text", "PostgreSQL's array input syntax '{1,NULL,3}' is not "
            "understood by DuckDB's cast from VARCHAR to a list",
            errors_when(r"can't be cast to the destination type (INTEGER|VARCHAR)\[\]")),
    Pending("text announced as varchar", "DuckDB's VARCHAR is sent as varchar (1043) where "
            "PostgreSQL's expression type is text (25)", types_differ(1043, {25})),
    Pending("text[] announced as varchar[]", "VARCHAR[] is sent as varchar[] (1015), "
            "PostgreSQL says text[] (1009)", types_differ(1015, {1009})),
    Pending("numeric typmod", "unconstrained numeric is DECIMAL(18,3) (and numeric "
            "arithmetic gets DuckDB's widths), announced with a typmod PostgreSQL does not "
            "have", numeric_typmod),
    Pending("varchar(n) typmod lost", "a cast to varchar(n) is announced without its length",
            varchar_typmod_lost),
    Pending("duplicate column names renamed", "DuckDB renames a repeated column name "
            "(id, id_1); PostgreSQL keeps both names", duplicate_names),
    Pending("names of casts", "PostgreSQL names an unaliased cast after its type (varchar, "
            "json, time); the server says text, unbound, list or ?column?", cast_names),
    Pending("NULL ordering DESC", "DuckDB puts NULLs last in descending order, PostgreSQL "
            "first", results_differ_with(*NULLS_DESC_TAGS)),
    Pending("SQLSTATE mapping", "DuckDB's error class for a data error differs from "
            "PostgreSQL's (22003 for 2201F, 22P02 for 22007...)", sqlstate_mapping),
    Pending("error phase of constant input", "a malformed constant fails at Execute, "
            "PostgreSQL rejects it at Parse", input_error_phase),
    Pending("DML on a missing table", "INSERT/UPDATE/DELETE on a missing table pass Parse "
            "and fail at Execute", dml_missing_table),
    Pending("RETURNING on lake tables", "DuckLake refuses RETURNING (0A000); Describe "
            "announces no columns", returning_refused),
    Pending("int4 results announced as int8", "DuckDB's length, strpos, date - date, gcd, "
            "ntile... return BIGINT where PostgreSQL returns integer",
            lambda o, d: types_differ(20, {23})(o, d) or types_differ(1016, {1007})(o, d)),
    Pending("sum of integers as numeric", "sum(int4/int8) is HUGEINT (numeric) where "
            "PostgreSQL gives bigint for int4", types_differ(1700, {20})),
    Pending("numeric computed as float8", "avg, stddev, variance, sqrt, power, ln of numeric "
            "or integers are DOUBLE in DuckDB, numeric in PostgreSQL",
            types_differ(701, {1700})),
    Pending("integer division", "DuckDB's / on integers is float division; PostgreSQL "
            "truncates and keeps the integer type", integer_division),
    Pending("extract returns bigint", "extract(field FROM ...) is BIGINT in DuckDB, numeric "
            "in PostgreSQL", types_differ(20, {1700}, frozenset({"extract"}))),
    Pending("bytea functions return text", "sha256, decode give VARCHAR in DuckDB, bytea in "
            "PostgreSQL", types_differ(1043, {17})),
    Pending("json_array_length type", "json_array_length is UBIGINT (numeric) in DuckDB",
            types_differ(1700, {23}, frozenset({"json_array_length"}))),
    Pending("division by zero", "DuckDB returns NULL for x / 0 (README's known difference); "
            "PostgreSQL raises 22012",
            lambda o, d: d.kind == "error_only_pg" and pg_error(o, "division by zero", "22012")),
    Pending("float and numeric overflow", "DuckDB gives Infinity or a double where PostgreSQL "
            "raises 22003", lambda o, d: d.kind == "error_only_pg" and pg_error(
                o, r"value out of range: overflow|value overflows numeric format", "22003")),
    Pending("numeric NaN", "DuckDB's DECIMAL has no NaN",
            errors_when(r'Could not convert string "NaN" to DECIMAL', "22P02")),
    Pending("untyped parameter converted at Parse", "a parameter of unknown type inside an "
            "expression is converted from an empty string while preparing",
            lambda o, d: d.kind in ERROR_KINDS and o.forge.error is not None and
            o.forge.error[0] == "parse" and forge_error(o, r"Could not convert string '' to")),
    Pending("BETWEEN SYMMETRIC", "the parser's T_List for BETWEEN SYMMETRIC is refused",
            errors_when(r"Expression type T_List", "0A000")),
    Pending("cardinality", "DuckDB's cardinality takes MAPs only",
            errors_when(r"Cardinality can only operate on MAPs")),
    Pending("json errors", "DuckDB's json_array_length of a scalar is 0, PostgreSQL raises "
            "22023", lambda o, d: d.kind == "error_only_pg" and pg_error(
                o, r"cannot get array length of a (scalar|non-array)", "22023")),
    Pending("unknown-typed operand", "a string literal or text parameter next to an operator "
            "or function with several overloads is not resolved as PostgreSQL's unknown type",
            errors_when(r"Could not choose a best candidate function .*STRING_LITERAL")),
)

# Differences kept on purpose (DuckDB-only behaviour PostgreSQL refuses, which keeps working).
ACCEPTED: tuple[Pending, ...] = (
    Pending("ORDER BY a constant", "PostgreSQL refuses a non-integer constant in ORDER BY; "
            "DuckDB-only syntax keeps working",
            lambda o, d: d.kind == "error_only_pg" and pg_error(
                o, "non-integer constant in ORDER BY", "42601")),
)
