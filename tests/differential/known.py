"""Differences from PostgreSQL the server still has, one entry per class, each matched by a
tight predicate on the difference it explains. An entry is deleted when its class is fixed;
a difference no entry matches fails the test."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .compare import Difference
from .harness import Outcome
from .matchers import (
    ERROR_KINDS,
    RESULT_KINDS,
    Match,
    bc_dates,
    case_names,
    cells_differ_as,
    column_pair,
    division_not_evaluated,
    duplicate_names,
    errors_when,
    float_last_digits,
    forge_error,
    input_error_phase,
    json_normalised,
    missing_function,
    missing_overload,
    numeric_precision,
    numeric_scale,
    numeric_typmod,
    pg_error,
    results_differ_with,
    types_differ,
    values_in,
)


@dataclass(frozen=True)
class Pending:
    """A class of differences still to remove: what the predicate accepts and why it
    differs today."""

    name: str
    reason: str
    match: Match


PENDING: tuple[Pending, ...] = (
    Pending("missing function", "to_number and scale: numeric results whose scale depends "
            "on the value, which a DuckDB DECIMAL type cannot follow", missing_function),
    Pending("missing overload", "sum(interval) with DISTINCT, ORDER BY, FILTER or OVER: a plain "
            "sum(x) calls a macro adding an interval's fields, but DuckDB refuses those clauses "
            "on a macro, so DuckDB's sum answers 42883 (32 before the macro, seed 20261207)",
            lambda o, d: missing_overload(o, d) and re.search(
                r"sum\s*\(\s*(DISTINCT|ALL)\b|\bOVER\b|\bFILTER\b|sum\s*\([^()]*ORDER BY",
                o.case.sql, re.I) is not None),
    Pending("numeric typmod", "a UNION or INTERSECT of numeric(p,s) columns or casts with "
            "different typmods keeps DuckDB's common DECIMAL(p,s) typmod; PostgreSQL says -1",
            numeric_typmod),
    Pending("ORDER BY the name of a CASE", "a CASE is named after its ELSE column as in "
            "PostgreSQL, but ORDER BY that name sorts by the input column in DuckDB, by the "
            "CASE in PostgreSQL", case_names),
    Pending("duplicate column names renamed", "DuckDB renames a repeated column name "
            "(id, id_1); PostgreSQL keeps both names", duplicate_names),
    Pending("error phase of constant input", "string constants cast to a type are converted "
            "at Parse as in PostgreSQL (forge_sql.sql.constant_input; 60 statements before, "
            "seed 20261207); left: casts of constants to arrays or with a typmod fail at "
            "Execute, and a numeric constant of more than 10 decimals, which the server "
            "refuses at Parse (numeric digits lost), comes before PostgreSQL's error at Execute",
            input_error_phase),
    Pending("int4 results announced as int8", "date - date is BIGINT in DuckDB, integer in "
            "PostgreSQL: the result column is announced int4 where the select list shows two "
            "dates (columns, casts, literals); not when the difference is an argument of "
            "another expression (max(d - d), (d - d) + 1), whose type needs the operands' types",
            lambda o, d: types_differ(20, {23})(o, d) or types_differ(1016, {1007})(o, d)),
    Pending("sum of integers as numeric", "sum of an argument another rewrite changes (a "
            "parameter, position(), a division) stays DuckDB's HUGEINT (numeric) where "
            "PostgreSQL gives bigint for int2/int4 (forge_sql.sql.aggregate_types)",
            types_differ(1700, {20})),
    Pending("numeric computed as float8", "division by a numeric (x / 100.0), sqrt, power, "
            "exp, ln of numeric, and avg, stddev, variance of an argument another rewrite "
            "changes (a parameter, a division) are DOUBLE in DuckDB, numeric in PostgreSQL",
            lambda o, d: types_differ(701, {1700})(o, d) or types_differ(23, {1700})(o, d) or (
                types_differ(20, {1700})(o, d)
                and re.search(r"extract\(|date_part\(", o.case.sql, re.I) is None)),
    Pending("avg of real announced as real", "avg(real) is cast to the type of its argument "
            "times a DECIMAL, which DuckDB keeps real (the cast that makes avg of integers "
            "numeric and keeps avg of intervals working); PostgreSQL's is float8",
            lambda o, d: types_differ(700, {701})(o, d) and "avg(" in o.case.sql.lower()),
    Pending("extract returns bigint", "extract(field FROM ...) is BIGINT in DuckDB, numeric "
            "in PostgreSQL (date_part: float8): announced so for a whole-number field in the "
            "select list, but not inside another expression (nullif, round, arithmetic), nor for "
            "second, milliseconds, epoch, whose values have fractions in PostgreSQL",
            lambda o, d: types_differ(20, {1700, 701})(o, d)
            and re.search(r"extract\(|date_part\(", o.case.sql, re.I) is not None),
    Pending("bytea functions return text", "sha256, decode give VARCHAR in DuckDB, bytea in "
            "PostgreSQL", lambda o, d: types_differ(25, {17})(o, d)
            or types_differ(1043, {17})(o, d) or (
                types_differ(23, {17})(o, d) and "fn:sha256" in o.case.tags) or (
                d.kind in ERROR_KINDS and forge_error(
                    o, r"argument types 'encode\(VARCHAR|Cannot compare values of type VARCHAR "
                       r"and type BLOB"))),
    Pending("float8 results announced as numeric", "trunc, round of integers are float8 in "
            "PostgreSQL (the double overload), DECIMAL in DuckDB",
            lambda o, d: types_differ(1700, {701})(o, d) or (
                # round(coalesce(numeric, round(100)), 2): PostgreSQL's float8 has no
                # round(x, n), the server's numeric has
                d.kind == "error_only_pg" and pg_error(
                    o, r"function round\(double precision, integer\) does not exist",
                    "42883"))),
    Pending("first error differs", "both fail while running, on another row or expression "
            "first (DuckDB's NULL for x / 0 lets the next error through)",
            lambda o, d: d.kind == "sqlstate" and o.forge.error is not None
            and o.pg.error is not None and o.forge.error[0] == o.pg.error[0]
            and o.pg.error[0] in ("execute", "parse")  # parse: two malformed constants
            and o.forge.error[1].startswith("22") and o.pg.error[1].startswith("22")),
    Pending("NaN in binary floats", "NaN is sent with another bit pattern in binary format",
            lambda o, d: d.kind == "binary_values" and d.column is not None
            and column_pair(o, d)[1][1] in (700, 701)
            and b"NaN" in [row[d.column] for row in o.pg.rows]),
    Pending("DECIMAL width overflow", "DuckDB's DECIMAL has at most 38 digits and fixed "
            "widths per expression (a product of two unconstrained numerics keeps 18 digits "
            "before the point); PostgreSQL's numeric has neither",
            errors_when(r'Could not convert string "[-\d.]+" to DECIMAL'
                        r"|Could not cast value [-\d.e+]+ to DECIMAL"
                        r'|Casting value "[-\d.]+" to type DECIMAL\(\d+,\d+\) failed'
                        r"|Overflow in multiplication of DECIMAL")),
    Pending("input errors not raised", "PostgreSQL converts every constant while planning "
            "and every row before a LIMIT; DuckDB skips unused constants and rows it drops",
            lambda o, d: d.kind == "error_only_pg" and o.pg.error is not None and
            o.pg.error[1] in ("22007", "22P02", "22008", "22003") and re.search(
                r"invalid input syntax|out of range|field value|numeric field overflow",
                o.pg.error[2]) is not None and (o.pg.error[1] != "22003" or (
                    "numeric field overflow" in o.pg.error[2] and o.forge.rows == []))),
    Pending("interval text form", "an interval cast to text says 'months' where PostgreSQL "
            "says 'mons'", lambda o, d: d.kind in ("values", "table_after") and any(
                b"months" in v or b"6d6f6e746873" in v
                for row in (o.forge.rows + (o.forge.after or [])) for v in row if v)),
    Pending("ORDER BY position", "an ORDER BY position beyond the select list is accepted or "
            "refused with 42601 where PostgreSQL raises 42P10",
            lambda o, d: (d.kind == "error_only_pg" and pg_error(o, "ORDER BY position", "42P10"))
            or (d.kind == "sqlstate" and forge_error(o, "ORDER term out of range", "42601"))),
    Pending("constant ORDER BY in an aggregate", "string_agg(x, ',' ORDER BY 'c') is refused; "
            "PostgreSQL accepts a constant key there",
            errors_when("ORDER BY non-integer literal has no effect", "42601")),
    Pending("data errors raised while preparing", "DuckDB folds constant expressions when it "
            "binds and fails at Parse where PostgreSQL answers, or fails at Execute on "
            "another error", lambda o, d: d.kind in ("sqlstate", "error_only_forge", "phase")
            and o.forge.error is not None and o.forge.error[0] == "parse"
            and o.forge.error[1].startswith("22")
            and (o.pg.error is None or o.pg.error[0] == "bind" or (o.pg.error[0] == "execute"
                                        and o.pg.error[1].startswith("22")))),
    Pending("parameter in ORDER BY", "a parameter as ORDER BY key is refused with XX000",
            errors_when(r"Parameter not supported in ORDER BY clause", "XX000")),
    Pending("float and numeric overflow", "DuckDB gives Infinity or a double where PostgreSQL "
            "raises 22003, and fails stddev_pop where PostgreSQL gives NaN or Infinity",
            lambda o, d: (d.kind == "error_only_pg" and pg_error(
                o, r"value out of range: (over|under)flow|value overflows numeric format",
                "22003"))
            or (d.kind in ERROR_KINDS and forge_error(o, "STDDEV_POP is out of range"))
            or (d.kind == "values" and re.search(r"stddev|variance|var_", o.case.sql, re.I)
                and "Infinity" in o.case.sql and cells_differ_as(
                    lambda a, b: b == b"NaN" and a == b"0")(o, d))),
    Pending("numeric NaN", "DuckDB's DECIMAL has no NaN or Infinity: a numeric NaN or "
            "Infinity (a constant, a parameter, a float's cast) is refused with 0A000 where "
            "PostgreSQL computes with it", lambda o, d: errors_when(
                "numeric NaN and Infinity cannot be stored", "0A000")(o, d)
            or errors_when(r'Could not convert string "NaN" to DECIMAL', "22P02")(o, d)
            or (d.kind == "sqlstate" and pg_error(o, "cannot convert NaN", "0A000"))),
    Pending("parameter type inference", "the types described for parameters differ from "
            "PostgreSQL's, so drivers that encode by the described type (asyncpg) fail or "
            "send other values, and expressions over them do not resolve",
            lambda o, d: d.kind == "param_types" or (
                # the same driver call, another described type: the value is sent otherwise
                "param" in o.case.tags and bool(o.pg.param_types) and bool(o.forge.param_types)
                and o.forge.param_types != o.pg.param_types and d.kind in (
                    *RESULT_KINDS, *ERROR_KINDS)
            ) or (
                d.kind == "column_types" and any(x.kind == "param_types" for x in o.differences)
            ) or (
                d.kind == "sqlstate" and "param" in o.case.tags and o.forge.error is not None
                and o.pg.error is not None and o.forge.error[0] == o.pg.error[0] == "parse"
            ) or (  # PostgreSQL infers $n from an operator, then refuses it for the column
                d.kind == "sqlstate" and "param" in o.case.tags and o.pg.error is not None
                and o.pg.error[:2] == ("parse", "42804") and o.forge.error is not None
            ) or (
                d.kind in ERROR_KINDS and o.forge.error is not None and (
                    o.forge.error[0] == "bind" or (
                        "param" in o.case.tags and o.forge.error[0] == "parse"
                        and (o.forge.error[1] == "42883"
                             or re.search(r"Cannot (combine|mix) (values of )?type|Cannot "
                                          r"concatenate (lists of )?types|Invalid LIST "
                                          r"argument during lambda function binding",
                                          o.forge.error[2]) is not None)
                        and (o.pg.error is None or o.pg.error[1] != "42883"))))),
    Pending("integer overflow not detected", "a cast of a float to an integer type out of "
            "range gives NULL or wraps in DuckDB; PostgreSQL raises 22003",
            lambda o, d: d.kind == "error_only_pg" and pg_error(
                o, r"(integer|bigint|smallint) out of range", "22003")),
    Pending("float domain errors", "power of a negative number to a fractional exponent, a "
            "negative length in substring(): NaN or a result where PostgreSQL raises",
            lambda o, d: d.kind == "error_only_pg" and o.pg.error is not None
            and o.pg.error[1] in ("2201F", "22011")),
    Pending("infinite timestamps", "to_timestamp(Infinity) fails in DuckDB, PostgreSQL "
            "answers infinity (and refuses NaN)", lambda o, d: (errors_when(
                r"ERROR:  timestamp out of range", "22008")(o, d) and "to_timestamp" in o.case.sql)
            or (
                d.kind == "error_only_pg" and pg_error(o, "timestamp cannot be NaN", "22008"))),
    Pending("cast of time to interval", "DuckDB has no TIME -> INTERVAL cast",
            errors_when(r"Unimplemented type for cast \(TIME -> INTERVAL\)")),
    Pending("cast of non-ASCII text to bytea", "DuckDB refuses bytes above 0x7f in a "
            "VARCHAR -> BLOB cast; PostgreSQL stores the UTF-8 bytes",
            errors_when(r"Invalid byte encountered in STRING -> BLOB")),
    Pending("json errors", "json_array_length of a scalar or object raises 22023 as in "
            "PostgreSQL, but only where DuckDB computes it; PostgreSQL folds a constant call "
            "while planning, also when no row needs it",
            lambda o, d: d.kind == "error_only_pg" and pg_error(
                o, r"cannot get array length of a (scalar|non-array)", "22023")),
    Pending("numeric printed with another scale", "numeric::text and to_json print DuckDB's "
            "text of DECIMAL(38,10) (7.0000000000, 7.0) and results keep DuckDB's widths; "
            "PostgreSQL keeps the scale a value was written or computed with",
            numeric_scale),
    Pending("numeric digits lost", "computed values (a double, a wider decimal) cast or "
            "stored into the unconstrained numeric are rounded to 10 decimals by DuckDB; only "
            "constants, parameters and COPY data are checked (a small divisor becomes zero)",
            lambda o, d: numeric_precision(o, d) or (
                # $n::numeric with more than 10 decimals: refused rather than rounded
                d.kind == "error_only_forge" and forge_error(o, "numeric field overflow", "22003")
                and re.search(r"\$\d+::(numeric|decimal)\b(?!\()", o.case.sql, re.I) is not None
            ) or (
                d.kind == "error_only_forge" and forge_error(o, "division by zero", "22012")
                and re.search(r"'-?0\.0{3,}\d*'(::| AS )(decimal|numeric)", o.case.sql, re.I)
                is not None)),
    Pending("bytea printed as text", "functions that return bytea in PostgreSQL return "
            "VARCHAR, printed without \\x", lambda o, d: values_in(25, 17)(o, d)
            or values_in(1043, 17)(o, d)),
    Pending("BC dates", "dates and timestamps before year 1 print without BC, and year 1 BC "
            "is year 0 to extract (PostgreSQL: -1)", lambda o, d: bc_dates(o, d) or (
                d.kind in RESULT_KINDS
                and re.search(r"'0001-01-01'(::date)?\s*-", o.case.sql) is not None)),
    Pending("bytea literal compared as text", "'\\x0102' next to bytea is read as the "
            "characters, not the bytes", lambda o, d: results_differ_with("fn:bytea_eq")(o, d)
            or (d.kind in ERROR_KINDS and forge_error(
                o, "Cannot compare values of type BLOB and type VARCHAR"))),
    Pending("boolean cast to text", "CAST(false AS text) is 'f' in the server, 'false' in "
            "PostgreSQL", cells_differ_as(lambda a, b: (a, b) in ((b"f", b"false"),
                                                                  (b"t", b"true")))),
    Pending("array cast to text", "an array cast to text prints DuckDB's list text "
            "([1, 2, 3]); PostgreSQL prints its array text ({1,2,3})",
            cells_differ_as(lambda a, b: a.startswith(b"[") and b.startswith(b"{"))),
    Pending("float cast to text", "a whole float cast to text or json prints '7.0' where "
            "PostgreSQL prints '7'", cells_differ_as(
                lambda a, b: a == b + b".0" or (  # padded by rpad: '7.0   ', '7     '
                    len(a) == len(b) and a.rstrip(b" ") == b.rstrip(b" ") + b".0"))),
    Pending("float special values cast to text", "NaN and infinities of a float cast to "
            "text print as DuckDB spells them (nan, inf), PostgreSQL says NaN, Infinity",
            cells_differ_as(lambda a, b: a != b and a.replace(b"nan", b"NaN").replace(
                b"inf", b"Infinity") == b)),
    Pending("json text normalised", "json -> key gives the value it takes out re-serialised "
            "(no spaces) where PostgreSQL keeps its text as written, and to_json of a numeric "
            "prints DuckDB's scale; json_build_object, json_build_array and json_agg print "
            "PostgreSQL's text (44 statements before, seed 20261207)",
            lambda o, d: (json_normalised(o, d) and re.search(r"->|to_json\(", o.case.sql)
                          is not None) or (
                # positions in the text of a json value taken apart: the spaces count
                d.kind == "values" and "->>" in o.case.sql and re.search(
                    r"'\{[^']*(, |: )[^']*'(::json| AS json)", o.case.sql) is not None)),
    Pending("array operators and NULL elements", "@>, && and = ANY treat NULL elements as "
            "values, where PostgreSQL's answer is false or NULL",
            results_differ_with("fn:array_contains", "fn:array_overlap", "any_array")),
    Pending("round of float8 halves", "round(2.5::float8) is 3 in DuckDB; PostgreSQL rounds "
            "half to even for float8 (2)", lambda o, d: d.kind in RESULT_KINDS
            and "fn:round" in o.case.tags and (
                any(c[1] in (700, 701) for c in o.pg.columns)
                or re.search(r"round\((CAST\()?[^,()]*(double precision|float8)", o.case.sql)
                is not None)),
    Pending("varchar(n) length not enforced", "INSERT ... SELECT without a column list "
            "stores a value longer than varchar(n) whole (the other INSERTs, UPDATE and COPY "
            "raise 22001 as PostgreSQL does)", lambda o, d: d.kind == "error_only_pg"
            and pg_error(o, r"value too long for type character varying", "22001")
            and re.search(r"INSERT INTO [\w.\"]+ (SELECT|WITH|\()", o.case.sql) is not None),
    Pending("errors in rows a LIMIT drops", "PostgreSQL computes the select list of every "
            "row before sorting and limiting; DuckDB only for the rows it returns",
            lambda o, d: d.kind == "error_only_pg" and o.pg.error is not None
            and o.pg.error[1].startswith("22")
            and re.search(r"\b(LIMIT|FETCH FIRST|OFFSET)\b", o.case.sql) is not None),
    Pending("float results differ in the last digits", "floating-point aggregates are "
            "summed in another order", float_last_digits),
    Pending("division by zero not evaluated", "DuckDB drops constant ORDER BY keys and folds "
            "NULL + x to NULL without computing x, and a divisor that is a parameter is not "
            "checked (docs/compatibility.md): a zero divisor there raises nothing",
            division_not_evaluated),
    Pending("NULL or NaN divided by zero", "a divisor that may be zero is checked alone "
            "(forge_divisor, which does not see the dividend): NULL / 0 and NaN / 0 raise "
            "22012 where PostgreSQL answers NULL (a strict operator) and NaN",
            lambda o, d: d.kind == "error_only_forge"
            and forge_error(o, "division by zero", "22012") and o.forge.error is not None
            and o.forge.error[0] == "execute" and (
                "nan" in o.case.sql.lower() or o.pg.rows == []
                or any(v is None for row in o.pg.rows for v in row))),
    Pending("nullif of two integer types", "nullif(a, b) has the type of a in DuckDB; "
            "PostgreSQL resolves a and b to their common type (nullif(int2, int4) is int4)",
            lambda o, d: d.kind == "column_types" and "nullif(" in o.case.sql.lower()
            and {column_pair(o, d)[0][1], column_pair(o, d)[1][1]} <= {20, 21, 23}),
    Pending("time input forms", "DuckDB's time input refuses PostgreSQL's compact forms "
            "('0102' for 01:02, a zone suffix such as -107) with 22007",
            lambda o, d: d.kind in ("error_only_forge", "sqlstate")
            and forge_error(o, r'invalid input syntax for type time: "', "22007")
            and (o.pg.error is None or o.pg.error[1] != "22007")),
    Pending("= ANY(array parameter) beside DISTINCT", "the rewrite of x = ANY($1) unnests "
            "the parameter in a subquery, which DuckDB cannot correlate under DISTINCT",
            errors_when(r"UNNEST\(\) for correlated expressions is not supported", "0A000")),
    Pending("bytea cast to text", "bytea::text is the bytes as text in DuckDB, PostgreSQL "
            "prints the bytea's hex form (\\x...)", lambda o, d: d.kind in RESULT_KINDS
            and re.search(r"(bytea\)?|\bbt)\s*(::|AS )\s*(text|varchar)", o.case.sql)
            is not None),
    Pending("statement timeout on a loaded machine", "a statement of many to_char calls "
            "(each a chain of macros) passed the harness's statement timeout while the machine "
            "ran other suites; PostgreSQL answered",
            lambda o, d: d.kind == "error_only_forge" and forge_error(
                o, "canceling statement due to statement timeout", "57014")
            and "to_char(" in o.case.sql),
    Pending("array || NULL", "DuckDB's || of lists gives {} for NULL || NULL, PostgreSQL NULL; "
            "array_append and array_prepend of a NULL array give NULL where PostgreSQL gives "
            "a one-element array", results_differ_with(
                "fn:array_concat_op", "fn:array_append", "fn:array_prepend")),
    Pending("unknown-typed operand", "a string literal or text parameter next to an operator "
            "or function with several overloads is not resolved as PostgreSQL's unknown type",
            errors_when(r"Could not choose a best candidate function .*STRING_LITERAL|"
                        r"argument types '[^']*STRING_LITERAL")),
)

# Default run (seed 20261207, 3,000 statements): 445 differing before sum(interval), json's
# text, constants converted at Parse, extract's type and the catalog's types (14.8%), 308
# after (10.3%): missing overload 32 -> 0, json text normalised 44 -> 3, error phase of
# constant input 60 -> 1, extract returns bigint 8 -> 3; the other classes within +-1
# (statements that failed on sum(interval) now meet their next difference). Seed 11: 319
# differing, none unexplained.

# Differences kept on purpose: DuckDB-only behaviour PostgreSQL refuses, which keeps working,
# and the reference cluster's own settings.
ACCEPTED: tuple[Pending, ...] = (
    Pending("case mapping of non-ASCII letters", "the reference cluster runs with the C "
            "locale, whose upper/lower leave non-ASCII letters alone",
            lambda o, d: d.kind in RESULT_KINDS and bool(
                {"fn:upper", "fn:lower", "fn:initcap"} & o.case.tags) and
            re.search(r"[^\x00-\x7f]", o.case.sql + repr(o.case.params)) is not None),
    Pending("parameter of undeterminable type", "the server gives a parameter PostgreSQL "
            "cannot type (count($1)) a type; what PostgreSQL accepts is unaffected",
            lambda o, d: d.kind in ("error_only_pg", "sqlstate") and pg_error(
                o, "could not determine data type of parameter", "42P18")),
    Pending("calls PostgreSQL cannot resolve", "an unknown literal or int2 argument that "
            "PostgreSQL cannot resolve (to_hex(smallint), to_json('x'), int4[] && int2[], "
            "($1)[1]) is resolved by DuckDB (and the statement then runs, or fails on another "
            "error while running)",
            lambda o, d: (d.kind == "error_only_pg" or (
                d.kind == "sqlstate" and o.forge.error is not None
                and o.forge.error[0] == "execute")) and o.pg.error is not None and (
                o.pg.error[1] == "42725"
                or pg_error(o, "could not determine polymorphic type|cannot subscript type "
                               "unknown", "42804")
                or pg_error(o, r"operator does not exist: \w+\[\] (&&|@>) \w+\[\]",
                            "42883")
                # $1 + interval: PostgreSQL takes the unknown $1 for an interval
                or ("param" in o.case.tags and pg_error(
                    o, r"operator does not exist: [\w ]+ (<|<=|>|>=|=|<>) interval", "42883")))),
    Pending("casts PostgreSQL refuses", "DuckDB casts boolean to smallint and the like; "
            "statements PostgreSQL accepts are unaffected",
            lambda o, d: d.kind in ("error_only_pg", "sqlstate") and o.pg.error is not None
            and o.pg.error[1] == "42846" and "cannot cast type" in o.pg.error[2]),
    Pending("ambiguous ORDER BY name", "PostgreSQL refuses ORDER BY id when two select-list "
            "columns are named id; DuckDB takes the first", lambda o, d: d.kind ==
            "error_only_pg" and pg_error(o, r"ORDER BY \"\w+\" is ambiguous", "42702")),
    Pending("ORDER BY a constant", "PostgreSQL refuses a non-integer constant in ORDER BY; "
            "DuckDB-only syntax keeps working",
            lambda o, d: d.kind in ("error_only_pg", "sqlstate") and pg_error(
                o, "non-integer constant in ORDER BY", "42601")),
)


def explain(o: Outcome, d: Difference) -> Pending | None:
    """The class a difference belongs to, or None: a new difference."""
    for entry in PENDING + ACCEPTED:
        if entry.match(o, d):
            return entry
    if d.kind in ("values", "binary_values") and d.column is not None:
        # Rows printed differently in a column whose type already differs: the type's class.
        for other in o.differences:
            if other.kind == "column_types" and other.column == d.column:
                return explain(o, other)
    return None


def unexplained(o: Outcome) -> list[Difference]:
    return [d for d in o.differences if explain(o, d) is None]
