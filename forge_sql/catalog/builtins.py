"""PostgreSQL built-in functions DuckDB lacks or answers otherwise, as macros in the catalog
schema every session has on its search path (PostgreSQL 16 docs, "Functions and Operators").

A macro in that schema hides DuckDB's built-in function of the same name, so where DuckDB has
one with other semantics (to_hex, string_to_array, array_length, encode) the macro gives
PostgreSQL's answer for PostgreSQL's argument types (told apart by ``typeof``, folded while
the call is bound) and calls ``system.main.<name>`` for DuckDB-only uses, which keep
working. Aggregates a macro can only alias (``every``) lose DISTINCT/FILTER/ORDER BY, which
DuckDB refuses on macros.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, formatting
from forge_sql.catalog.formatting import macro as _macro

_DAY_US = 86_400_000_000
_UTF8_NAMES = "('UTF8', 'UTF-8', 'UNICODE')"
_INT4 = "('INTEGER', 'SMALLINT', 'TINYINT', 'UTINYINT', 'USMALLINT')"


def definitions() -> Iterator[str]:
    yield from _strings()
    yield from _arrays()
    yield from _intervals()
    yield from _numbers()
    yield from _json()
    yield from _bytes()
    yield from formatting.definitions()
    yield from _functiondef()


def _strings() -> Iterator[str]:
    s = SCHEMA
    yield _macro("btrim", ("x", "trim(x)"), ("x, characters", "trim(x, characters)"))
    # PostgreSQL's 2-argument lpad/rpad pad with spaces; both truncate to the length.
    for side in ("lpad", "rpad"):
        yield _macro(
            side,
            ("x, width", f"system.main.{side}(x, greatest(width, 0), ' ')"),
            ("x, width, fill", f"CASE WHEN fill = '' THEN left(x, greatest(width, 0)) "
                               f"ELSE system.main.{side}(x, greatest(width, 0), fill) END"),
        )
    # initcap: a letter or digit following a letter or digit is lower case, any other
    # upper case (PostgreSQL's str_initcap; ASCII classes as in the C locale).
    yield _macro(
        "initcap_letters",
        ("c", "array_to_string(list_transform(c, (x, i) -> CASE WHEN i = 1 OR NOT "
              "regexp_full_match(c[i - 1], '[a-z0-9]') THEN upper(x) ELSE x END), '')"),
    )
    yield _macro(
        "initcap",
        ("x", f"CASE WHEN x = '' THEN '' ELSE {s}.initcap_letters(string_split(lower(x), '')) "
              "END"),
    )
    # '' splits into no element; a NULL delimiter splits into characters, '' into none.
    split = (
        "CASE WHEN x = '' THEN []::VARCHAR[] WHEN delimiter IS NULL THEN string_split(x, '') "
        "WHEN delimiter = '' THEN [x::VARCHAR] "
        "ELSE system.main.string_to_array(x, delimiter) END"
    )
    yield _macro(
        "string_to_array",
        ("x, delimiter", split),
        ("x, delimiter, null_string",
         f"list_transform({split}, e -> CASE WHEN e = null_string THEN NULL ELSE e END)"),
    )
    # PostgreSQL prints two's complement of the argument's width, in lower case.
    # typeof() is folded while binding, so each call keeps one branch; TRY_CAST binds for
    # any argument type (typed macro parameters need a newer storage version of the file).
    yield _macro(
        "to_hex",
        ("x", f"CASE WHEN typeof(x) IN {_INT4} THEN lower(system.main.to_hex("
              "(TRY_CAST(x AS BIGINT) + 4294967296) % 4294967296)) "
              "WHEN typeof(x) = 'BIGINT' THEN lower(system.main.to_hex(TRY_CAST(x AS BIGINT))) "
              "ELSE system.main.to_hex(x) END"),
    )
    # Lengths and positions are integer (int4) in PostgreSQL, BIGINT in DuckDB.
    for name, arguments in (("length", "x"), ("char_length", "x"), ("character_length", "x"),
                            ("bit_length", "x"), ("strpos", "x, y")):
        yield _macro(name, (arguments, f"system.main.{name}({arguments})::INTEGER"))
    # substr(s, start [, count]) counts a start below 1 as positions before the string
    # (substr('abc', -1, 3) is 'a'); DuckDB counts a negative start from the end. BIGINT: the
    # sum of two extreme integers does not overflow. (substring is not shadowed: DuckDB's
    # parser binds it to its own function whatever the search path.)
    for name in ("substr",):
        yield _macro(
            name,
            # greatest() skips NULLs: a NULL argument is tested first (substr is strict).
            ("s, start", "CASE WHEN start IS NOT NULL THEN "
                         f"system.main.{name}(s, greatest(start::BIGINT, 1)) END"),
            ("s, start, count",
             "CASE WHEN s IS NULL OR start IS NULL OR count IS NULL THEN NULL "
             "WHEN count < 0 THEN error('negative substring length not allowed') "
             f"ELSE system.main.{name}(s, greatest(start::BIGINT, 1), greatest("
             "start::BIGINT + count::BIGINT - greatest(start::BIGINT, 1), 0)) END"),
        )
    yield _macro(
        "octet_length",
        ("x", "CASE WHEN typeof(x) = 'BLOB' THEN "
              "system.main.octet_length(TRY_CAST(x AS BLOB))::INTEGER "
              "WHEN typeof(x) = 'BIT' THEN system.main.octet_length(TRY_CAST(x AS BIT))::INTEGER "
              "ELSE strlen(TRY_CAST(x AS VARCHAR))::INTEGER END"),
    )


def _arrays() -> Iterator[str]:
    s = SCHEMA
    yield _macro(
        "array_length",
        ("a", "system.main.array_length(a)"),  # DuckDB's own one-argument form
        ("a, dimension", "CASE WHEN dimension = 1 AND len(a) > 0 THEN len(a)::INTEGER END"),
    )
    # array_cat(NULL, a) is a, array_cat(NULL, NULL) is NULL (DuckDB gives []).
    yield _macro(
        "array_cat",
        ("a, b", "CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE list_concat(a, b) END"),
    )
    # Elements are compared with IS NOT DISTINCT FROM, so NULLs can be removed or replaced.
    yield _macro("array_remove", ("a, x", "list_filter(a, e -> e IS DISTINCT FROM x)"))
    yield _macro(
        "array_replace",
        ("a, x, y", "list_transform(a, e -> CASE WHEN e IS NOT DISTINCT FROM x THEN y "
                    "ELSE e END)"),
    )
    yield _macro(
        "array_positions",
        ("a, x", "CASE WHEN a IS NOT NULL THEN list_filter(range(1, len(a) + 1)::INTEGER[], "
                 "i -> a[i] IS NOT DISTINCT FROM x) END"),
    )
    # cardinality counts every element of every dimension; DuckDB's takes MAPs only. Arrays
    # (nested lists) and MAPs (DuckDB's meaning) alike through their JSON form: dimensions
    # multiply (PostgreSQL's arrays are rectangular), a MAP counts its keys.
    dims = " * ".join(
        f"CASE WHEN json_type(j, '$' || repeat('[0]', {depth})) = 'ARRAY' "
        f"THEN json_array_length(j, '$' || repeat('[0]', {depth})) ELSE 1 END"
        for depth in range(1, 6)
    )
    yield _macro(
        "json_cardinality",
        ("j", f"CASE WHEN json_type(j) = 'OBJECT' THEN len(json_keys(j)) "
              f"ELSE json_array_length(j) * {dims} END"),
    )
    yield _macro(
        "cardinality",
        ("a", f"CASE WHEN a IS NOT NULL THEN {s}.json_cardinality(to_json(a))::INTEGER END"),
    )


def _intervals() -> Iterator[str]:
    s = SCHEMA
    # An interval's three fields, as PostgreSQL keeps them: months, days, microseconds.
    yield _macro(
        "interval_fields",
        ("i", "{'months': datepart('year', i) * 12 + datepart('month', i), "
              "'days': datepart('day', i), "
              "'us': datepart('hour', i) * 3600000000 + datepart('minute', i) * 60000000 "
              "+ datepart('microseconds', i)}"),
    )
    yield _macro(
        "interval_of",
        ("g", "list_transform([g], f -> to_months(f.months) + to_days(f.days) "
              "+ to_microseconds(f.us))[1]"),
    )
    # interval_justify_hours / _days / _interval of PostgreSQL's timestamp.c: whole days out
    # of the time, whole months out of the days, then signs made to agree.
    yield _macro(
        "agree_days",
        ("g", "list_transform([g], f -> CASE WHEN f.days > 0 AND f.us < 0 THEN "
              f"{{'months': f.months, 'days': f.days - 1, 'us': f.us + {_DAY_US}}} "
              f"WHEN f.days < 0 AND f.us > 0 THEN {{'months': f.months, 'days': f.days + 1, "
              f"'us': f.us - {_DAY_US}}} ELSE f END)[1]"),
    )
    yield _macro(
        "months_out_of_days",
        ("g", "list_transform([g], f -> {'months': f.months + f.days // 30, "
              "'days': f.days % 30, 'us': f.us})[1]"),
    )
    yield _macro(
        "agree_months",
        ("g, with_time", "list_transform([g], f -> CASE WHEN f.months > 0 AND (f.days < 0 "
                         "OR (with_time AND f.days = 0 AND f.us < 0)) THEN "
                         "{'months': f.months - 1, 'days': f.days + 30, 'us': f.us} "
                         "WHEN f.months < 0 AND (f.days > 0 OR (with_time AND f.days = 0 "
                         "AND f.us > 0)) THEN {'months': f.months + 1, 'days': f.days - 30, "
                         "'us': f.us} ELSE f END)[1]"),
    )
    yield _macro(
        "justify_hours_fields",
        ("g", f"{s}.agree_days(list_transform([g], f -> {{'months': f.months, "
              f"'days': f.days + f.us // {_DAY_US}, 'us': f.us % {_DAY_US}}})[1])"),
    )
    yield _macro(
        "justify_hours",
        ("i", f"{s}.interval_of({s}.justify_hours_fields({s}.interval_fields(i)))"),
    )
    yield _macro(
        "justify_days",
        ("i", f"{s}.interval_of({s}.agree_months({s}.months_out_of_days("
              f"{s}.interval_fields(i)), false))"),
    )
    yield _macro(
        "justify_interval",
        ("i", f"{s}.interval_of({s}.agree_days({s}.agree_months({s}.months_out_of_days("
              f"list_transform([{s}.interval_fields(i)], f -> {{'months': f.months, "
              f"'days': f.days + f.us // {_DAY_US}, 'us': f.us % {_DAY_US}}})[1]), true)))"),
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.make_interval(years := 0, months := 0, weeks := 0, "
        "days := 0, hours := 0, mins := 0, secs := 0.0) AS "
        "to_months((years * 12 + months)::BIGINT) + to_days((weeks * 7 + days)::BIGINT) + "
        "to_microseconds(round(hours * 3600000000.0 + mins * 60000000.0 "
        "+ secs::DOUBLE * 1000000)::BIGINT)"
    )


def _numbers() -> Iterator[str]:
    # width_bucket_float8 of PostgreSQL's float.c, bounds in either order.
    yield _macro(
        "width_bucket",
        ("x, low, high, count",
         "CASE WHEN x IS NULL OR low IS NULL OR high IS NULL OR count IS NULL THEN NULL "
         "WHEN count <= 0 THEN error('count must be greater than zero') "
         "WHEN low = high THEN error('lower bound cannot equal upper bound') "
         "WHEN isnan(x::DOUBLE) OR isnan(low::DOUBLE) OR isnan(high::DOUBLE) THEN "
         "error('operand, lower bound, and upper bound cannot be NaN') "
         "WHEN isinf(low::DOUBLE) OR isinf(high::DOUBLE) THEN "
         "error('lower and upper bounds must be finite') "
         "WHEN low < high THEN CASE WHEN x < low THEN 0 WHEN x >= high THEN count + 1 "
         "ELSE least(trunc(count * ((x::DOUBLE - low) / (high - low))), count - 1) + 1 END "
         "ELSE CASE WHEN x > low THEN 0 WHEN x <= high THEN count + 1 "
         "ELSE least(trunc(count * ((low - x::DOUBLE) / (low - high))), count - 1) + 1 END "
         "END::INTEGER"),
    )
    # div: the quotient truncated towards zero (a - a % b is an exact multiple of b).
    yield _macro(
        "div",
        ("a, b", "CASE WHEN b = 0 THEN error('division by zero') "
                 "ELSE round((a - a % b) / b)::DECIMAL(38, 0) END"),
    )
    # gcd and lcm have the type of their arguments (smallint widened to integer); DuckDB
    # computes them in BIGINT. cast_to_type takes only the second argument's type.
    for name in ("gcd", "lcm"):
        yield _macro(
            name, ("a, b", f"cast_to_type(system.main.{name}(a, b), a + b + NULL::INTEGER)"),
        )
    yield _macro("every", ("x", "bool_and(x)"))
    # sha256 is bytea in PostgreSQL (encode(sha256(x), 'hex') is the hex text); DuckDB's is
    # the hex text itself.
    yield _macro("sha256", ("x", "unhex(system.main.sha256(x))"))
    # x BETWEEN SYMMETRIC a AND b, as forge_sql.sql.between spells it.
    yield _macro(
        "between_symmetric",
        ("x, a, b", "(x BETWEEN a AND b) OR (x BETWEEN b AND a)"),
    )


def _json() -> Iterator[str]:
    # PostgreSQL's json text of json_build_array and json_agg: the elements' json text
    # (each made by to_json, compact) joined by ", "; of json_build_object: "key : value"
    # pairs joined by ", ", in braces (json.c: json_build_object, json_agg_transfn).
    # The rewrite (sql.postgres) hands each element's json text over as a list of VARCHAR.
    s = SCHEMA
    # A value's json text as json.c's datum_to_json makes it: a json value as written
    # (DuckDB's to_json would re-serialise it), anything else through to_json.
    yield _macro(
        "datum_to_json",
        ("x", "CASE WHEN typeof(x) = 'JSON' THEN x::VARCHAR ELSE to_json(x)::VARCHAR END"),
    )
    yield _macro(
        "json_build_array_of",
        ("elements", "('[' || array_to_string(list_transform(elements, "
                     "lambda e: coalesce(e, 'null')), ', ') || ']')::JSON"),
    )
    yield _macro(
        "json_build_object_of",
        # The lambdas name only their own parameters: a statement's column in a lambda (the
        # arguments, were pairs indexed inside it) cannot be an outer query's (DuckDB 1.5);
        # and they are spelled lambda x: ..., as (p, i) -> ... reads as json's -> where the
        # statement has columns named so.
        ("pairs", "CASE WHEN len(pairs) % 2 = 1 "
                  "THEN error('argument list must have even number of elements') "
                  "ELSE ('{' || array_to_string(list_transform(list_zip(list_slice(pairs, 1, "
                  "-1, 2), list_slice(pairs, 2, -1, 2)), lambda p, i: CASE WHEN p[1] IS NULL "
                  "THEN error('argument ' || (2 * i - 1) || ' cannot be null') "
                  "ELSE p[1] || ' : ' || coalesce(p[2], 'null') END), ', ') "
                  "|| '}')::JSON END"),
    )
    yield _macro(
        "json_agg_of",
        # json_agg_transfn starts an array or a row after the first on a new line.
        ("elements", f"CASE WHEN elements IS NULL THEN NULL ELSE {s}.json_build_array_of("
                     "list_transform(elements, lambda e, i: CASE WHEN i > 1 AND (typeof(e) "
                     "LIKE '%[]' OR typeof(e) LIKE 'STRUCT(%') THEN chr(10) || ' ' ELSE '' END "
                     f"|| {s}.datum_to_json(e))) END"),
    )
    # An integer, and an error where PostgreSQL's json_array_length refuses (DuckDB says 0).
    yield _macro(
        "json_array_length",
        ("j", "CASE WHEN j IS NULL THEN NULL WHEN json_type(j::JSON) = 'ARRAY' THEN "
              "system.main.json_array_length(j)::INTEGER WHEN json_type(j::JSON) = 'OBJECT' "
              "THEN error('cannot get array length of a non-array') "
              "ELSE error('cannot get array length of a scalar') END"),
        ("j, path", "system.main.json_array_length(j, path)"),
    )
    yield _macro(
        "json_typeof",
        ("j", "CASE WHEN j IS NULL THEN NULL ELSE CASE json_type(j::JSON) "
              "WHEN 'OBJECT' THEN 'object' WHEN 'ARRAY' THEN 'array' "
              "WHEN 'VARCHAR' THEN 'string' WHEN 'BOOLEAN' THEN 'boolean' "
              "WHEN 'NULL' THEN 'null' ELSE 'number' END END"),
    )


def _bytes() -> Iterator[str]:
    # encode(bytea, format) is text; DuckDB's encode(text) is its text -> bytes cast.
    newline = "chr(10)"
    base64 = (f"rtrim(regexp_replace(to_base64(TRY_CAST(b AS BLOB)), '(.{{76}})', "
              f"'\\1' || {newline}, 'g'), {newline})")
    yield _macro(
        "encode",
        ("b, format",
         f"CASE lower(format) WHEN 'hex' THEN lower(hex(TRY_CAST(b AS BLOB))) "
         f"WHEN 'base64' THEN {base64} "
         "ELSE error('encoding \"' || format || '\" is not supported') END"),
        ("x", "system.main.encode(x)"),
    )
    yield _macro(
        "decode",
        ("x, format",
         "CASE lower(format) WHEN 'hex' THEN unhex(x) "
         f"WHEN 'base64' THEN from_base64(replace(x, {newline}, '')) "
         "ELSE error('encoding \"' || format || '\" is not supported') END"),
        ("b", "system.main.decode(b)"),
    )
    # Text is UTF-8 here: converting to or from UTF8 is the identity on the bytes.
    for name, body in (("convert_to", "system.main.encode(x)"),
                       ("convert_from", "system.main.decode(x)")):
        yield _macro(
            name,
            ("x, encoding",
             f"CASE WHEN upper(encoding) IN {_UTF8_NAMES} THEN {body} "
             "ELSE error('conversion to or from encoding \"' || encoding || '\" is not "
             "supported: the server keeps text in UTF8') END"),
        )


def _functiondef() -> Iterator[str]:
    s = SCHEMA
    # PostgreSQL's pg_get_functiondef layout (ruleutils.c); a macro's parameters and result
    # have no declared type, a table macro returns a set of records.
    # Aliases no caller uses: the argument is often the caller's own p.oid. A name is
    # taken too: X::regproc is rewritten to the function's name (forge_sql.catalog.regtypes).
    body = (
        "'CREATE OR REPLACE FUNCTION ' || def_n.nspname || '.' || def_p.proname || '(' || "
        "coalesce(array_to_string(list_transform(def_p.proargnames, a -> a || ' unknown'), "
        "', '), '') || ')' || chr(10) || ' RETURNS ' || CASE WHEN def_p.proretset THEN "
        "'SETOF record' WHEN def_p.prolang = 12 THEN 'internal' ELSE 'unknown' END || chr(10) "
        "|| ' LANGUAGE ' || CASE def_p.prolang WHEN 14 THEN 'sql' ELSE 'internal' END || "
        "chr(10) || 'AS $function$' || CASE WHEN def_p.prolang = 14 AND NOT def_p.proretset "
        "THEN 'SELECT ' ELSE '' END || def_p.prosrc || '$function$' || chr(10)"
    )
    yield _macro(
        "pg_get_functiondef",
        ("func", f"(SELECT {body} FROM {s}.pg_proc AS def_p JOIN {s}.pg_namespace AS def_n "
                 "ON def_n.oid = def_p.pronamespace WHERE def_p.oid = TRY_CAST(func AS BIGINT) "
                 "OR (TRY_CAST(func AS BIGINT) IS NULL AND def_p.proname = func::VARCHAR))"),
    )
