"""PostgreSQL's data type formatting functions (to_char, to_timestamp, to_date), as macros.

A template is split into its patterns once per call (regexp_extract_all, longest pattern
first as in PostgreSQL's formatting.c keyword table), each pattern is formatted by one CASE,
and the pieces are joined: vectorized, no per-row Python. Text in double quotes is copied.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA

# Date/time patterns, longer spellings before their prefixes (RE2 takes the first match).
_DATETIME = (
    r"Y,YYY|YYYY|YYY|YY|IYYY|IYY|IY|IDDD|ID|IW|I|Y|HH24|HH12|HH|MI|MS|MM|SSSSS|SSSS|SS|US|"
    r"FF[1-6]|A\.M\.|P\.M\.|AM|PM|A\.D\.|B\.C\.|AD|BC|MONTH|MON|DAY|DY|DDD|DD|D|WW|W|Q|J|CC|"
    r"RM|TZH|TZM|TZ|OF"
)
_DATETIME_TOKENS = rf'(?i)"[^"]*"|(?:FM)?(?:{_DATETIME})(?:TH)?|.'
_NUMBER_TOKENS = r'(?i)"[^"]*"|FM|PR|SG|PL|MI|TH|.'
_ROMAN = "['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X', 'XI', 'XII']"


def definitions() -> Iterator[str]:
    yield from _numeric_output()
    yield from _datetime_output()
    yield from _input()


def macro(name: str, *overloads: tuple[str, str]) -> str:
    """``CREATE MACRO`` in the catalog schema, one ``(parameters) AS body`` per overload."""
    spelled = ", ".join(f"({params}) AS {body}" for params, body in overloads)
    return f"CREATE OR REPLACE MACRO {SCHEMA}.{name}{spelled}"


def _datetime_output() -> Iterator[str]:
    s = SCHEMA
    # A number padded with zeros to ``width`` digits, unless FM; negative keeps its sign.
    yield macro(
        "to_char_number",
        ("v, width, fm", "CASE WHEN fm OR v IS NULL OR len(abs(v)::VARCHAR) >= width "
                         "THEN v::VARCHAR WHEN v < 0 THEN '-' || lpad((-v)::VARCHAR, width, '0') "
                         "ELSE lpad(v::VARCHAR, width, '0') END"),
    )
    # A name in the case of its pattern (MONTH, Month, month), blank-padded unless FM.
    yield macro(
        "to_char_name",
        ("name, pattern, width, fm",
         "(CASE WHEN pattern[1] <> upper(pattern[1]) THEN lower(name) "
         "WHEN len(pattern) > 1 AND pattern[2] <> lower(pattern[2]) THEN upper(name) "
         "ELSE name END) || CASE WHEN fm THEN '' ELSE repeat(' ', width - len(name)) END"),
    )
    # English ordinal suffixes for the TH / th suffix.
    yield macro(
        "ordinal",
        ("v", "CASE WHEN abs(v) % 100 IN (11, 12, 13) THEN 'th' WHEN abs(v) % 10 = 1 THEN 'st' "
              "WHEN abs(v) % 10 = 2 THEN 'nd' WHEN abs(v) % 10 = 3 THEN 'rd' ELSE 'th' END"),
    )
    yield macro(
        "ordinal_suffix",
        ("v, pattern", f"CASE WHEN pattern = 'TH' THEN upper({s}.ordinal(v)) "
                       f"ELSE {s}.ordinal(v) END"),
    )
    number = f"{s}.to_char_number"
    name = f"{s}.to_char_name"
    # One pattern ``p`` (FM and TH taken off) of the fields ``f``.
    cases = {
        "Y,YYY": f"{number}(f.year // 1000, 1, fm) || ',' || {number}(f.year % 1000, 3, false)",
        "YYYY": f"{number}(f.year, 4, fm)",
        "YYY": f"{number}(f.year % 1000, 3, fm)",
        "YY": f"{number}(f.year % 100, 2, fm)",
        "Y": f"{number}(f.year % 10, 1, fm)",
        "IYYY": f"{number}(f.isoyear, 4, fm)",
        "IYY": f"{number}(f.isoyear % 1000, 3, fm)",
        "IY": f"{number}(f.isoyear % 100, 2, fm)",
        "I": f"{number}(f.isoyear % 10, 1, fm)",
        "MM": f"{number}(f.month, 2, fm)",
        "DDD": f"{number}(f.doy, 3, fm)",
        "DD": f"{number}(f.day, 2, fm)",
        "D": f"{number}(f.dow + 1, 1, fm)",
        "ID": f"{number}(f.isodow, 1, fm)",
        "IDDD": f"{number}((f.isoweek - 1) * 7 + f.isodow, 3, fm)",
        "IW": f"{number}(f.isoweek, 2, fm)",
        "WW": f"{number}((f.doy - 1) // 7 + 1, 2, fm)",
        "W": f"{number}((f.day - 1) // 7 + 1, 1, fm)",
        "Q": f"{number}(f.quarter, 1, fm)",
        "J": f"{number}(f.julian, 1, fm)",
        "CC": f"{number}(CASE WHEN f.year > 0 THEN (f.year + 99) // 100 "
              "ELSE f.year // 100 - 1 END, 2, fm)",
        "HH": f"{number}((f.hour + 11) % 12 + 1, 2, fm)",
        "HH12": f"{number}((f.hour + 11) % 12 + 1, 2, fm)",
        "HH24": f"{number}(f.hour, 2, fm)",
        "MI": f"{number}(f.minute, 2, fm)",
        "SS": f"{number}(f.second, 2, fm)",
        "MS": f"{number}(f.us // 1000, 3, fm)",
        "US": f"{number}(f.us, 6, fm)",
        "SSSS": "(f.hour * 3600 + f.minute * 60 + f.second)::VARCHAR",
        "SSSSS": "(f.hour * 3600 + f.minute * 60 + f.second)::VARCHAR",
        "AM": f"{name}(CASE WHEN f.hour < 12 THEN 'AM' ELSE 'PM' END, p, 0, true)",
        "PM": f"{name}(CASE WHEN f.hour < 12 THEN 'AM' ELSE 'PM' END, p, 0, true)",
        "A.M.": f"{name}(CASE WHEN f.hour < 12 THEN 'A.M.' ELSE 'P.M.' END, p, 0, true)",
        "P.M.": f"{name}(CASE WHEN f.hour < 12 THEN 'A.M.' ELSE 'P.M.' END, p, 0, true)",
        "AD": f"{name}(CASE WHEN f.year > 0 THEN 'AD' ELSE 'BC' END, p, 0, true)",
        "BC": f"{name}(CASE WHEN f.year > 0 THEN 'AD' ELSE 'BC' END, p, 0, true)",
        "A.D.": f"{name}(CASE WHEN f.year > 0 THEN 'A.D.' ELSE 'B.C.' END, p, 0, true)",
        "B.C.": f"{name}(CASE WHEN f.year > 0 THEN 'A.D.' ELSE 'B.C.' END, p, 0, true)",
        "MONTH": f"{name}(f.month_name, p, 9, fm)",
        "MON": f"{name}(left(f.month_name, 3), p, 3, true)",
        "DAY": f"{name}(f.day_name, p, 9, fm)",
        "DY": f"{name}(left(f.day_name, 3), p, 3, true)",
        "RM": f"{name}({_ROMAN}[f.month], p, 4, fm)",
        "TZ": f"{name}(f.zone, p, 0, true)",
        "OF": "f.offset",
        "TZH": "left(f.offset, 3)",
        "TZM": "coalesce(nullif(substr(f.offset, 5, 2), ''), '00')",
    }
    for digits in range(1, 7):
        cases[f"FF{digits}"] = f"left(lpad(f.us::VARCHAR, 6, '0'), {digits})"
    whens = " ".join(f"WHEN '{key}' THEN {body}" for key, body in cases.items())
    yield macro(
        "to_char_pattern",
        # Macro arguments are copied where the body names them: a one-element list binds
        # an expression once (list_transform([e], x -> ...)[1]), so bodies stay small.
        ("f, p, fm", f"list_transform([upper(p)], key -> CASE key {whens} ELSE p END)[1]"),
    )
    # A token: quoted text, or a pattern with its FM prefix and TH suffix, or one character.
    yield macro(
        "to_char_affixed",
        ("f, p, fm", "list_transform([CASE WHEN upper(p[-2:]) = 'TH' AND upper(p) <> 'MONTH' "
                     "THEN p[-2:] ELSE '' END], th -> list_transform([" f"{s}.to_char_pattern("
                     "f, CASE WHEN th = '' THEN p ELSE p[:-3] END, fm)], out -> out || CASE "
                     f"WHEN th = '' THEN '' ELSE {s}.ordinal_suffix(TRY_CAST(out AS BIGINT), th) "
                     "END)[1])[1]"),
    )
    yield macro(
        "to_char_token",
        ("f, token", "CASE WHEN token[1] = '\"' THEN token[2:-2] "
                     "WHEN len(token) = 1 AND upper(token) NOT IN ('Y', 'I', 'D', 'W', 'Q', 'J') "
                     "THEN token "
                     f"ELSE {s}.to_char_affixed(f, CASE WHEN upper(token[1:2]) = 'FM' "
                     "THEN token[3:] ELSE token END, upper(token[1:2]) = 'FM') END"),
    )
    yield macro(
        "to_char_fields",
        # The fields are computed once per row: a one-element list binds them to x.
        ("f, template", "list_transform([f], x -> CASE WHEN x IS NULL OR template IS NULL "
                        "THEN NULL ELSE array_to_string(list_transform(regexp_extract_all("
                        f"template, '{_DATETIME_TOKENS}'), token -> {s}.to_char_token(x, "
                        "token)), '') END)[1]"),
    )
    fields = (
        "{{'year': year(t), 'isoyear': isoyear(t), 'month': month(t), 'day': day(t), "
        "'doy': dayofyear(t), 'dow': dayofweek(t), 'isodow': isodow(t), "
        "'isoweek': weekofyear(t), 'quarter': quarter(t), "
        "'julian': (t::DATE - DATE '2000-01-01') + 2451545, 'hour': hour(t), "
        "'minute': minute(t), 'second': second(t), 'us': microsecond(t) % 1000000, "
        "'month_name': monthname(t), 'day_name': dayname(t), 'zone': {zone}, "
        "'offset': {offset}}}"
    )
    plain = fields.format(zone="''", offset="''")
    zoned = fields.format(
        zone="CASE WHEN strftime(t, '%Z') IN ('UTC', 'Etc/UTC', 'GMT', 'Etc/GMT') THEN 'UTC' "
             "ELSE strftime(t, '%z') END",
        offset="strftime(t, '%z')",
    )
    # An interval's fields as PostgreSQL's interval_to_tm gives them: hours beyond 23 stay.
    interval = (
        "{'year': datepart('year', t), 'isoyear': 0, 'month': datepart('month', t), "
        "'day': datepart('day', t), 'doy': 0, 'dow': 0, 'isodow': 0, 'isoweek': 0, "
        "'quarter': datepart('month', t) // 3 + 1, 'julian': 0, 'hour': datepart('hour', t), "
        "'minute': datepart('minute', t), 'second': datepart('second', t), "
        "'us': datepart('microseconds', t) % 1000000, 'month_name': '', 'day_name': '', "
        "'zone': '', 'offset': ''}"
    )
    yield macro("timestamp_fields", ("t", plain))
    yield macro("timestamptz_fields", ("t", zoned))
    yield macro("interval_tm_fields", ("t", interval))
    # Templates made only of patterns strftime prints alike (most dashboards') become one
    # strftime format when the template is a constant, which runs far faster than the
    # pattern-by-pattern path; NULL when some pattern has no exact strftime equivalent.
    exact = " ".join(f"WHEN '{key}' THEN '{spec}'" for key, spec in _STRFTIME_EXACT.items())
    numeric = " ".join(f"WHEN '{key}' THEN '{spec}'" for key, spec in _STRFTIME.items())
    yield macro(
        "strftime_part",
        ("token", "CASE WHEN token[1] = '\"' THEN replace(token[2:-2], '%', '%%') "
                  "WHEN token = '%' THEN '%%' "
                  "WHEN len(token) = 1 AND upper(token) NOT IN ('Y', 'I', 'D', 'W', 'Q', 'J') "
                  f"THEN token ELSE CASE token {exact} ELSE CASE upper(token) {numeric} END END "
                  "END"),
    )
    yield macro(
        "strftime_of_template",
        ("template", "list_transform([list_transform(regexp_extract_all(template, "
                     f"'{_DATETIME_TOKENS}'), token -> {s}.strftime_part(token))], parts -> "
                     "CASE WHEN len(list_filter(parts, x -> x IS NULL)) = 0 THEN "
                     "array_to_string(parts, '') END)[1]"),
    )
    # One macro for every argument type: typeof() is folded while binding, so each call
    # keeps one branch, and TRY_CAST binds whatever the type (typed macro parameters need
    # a newer storage version of the server's file).
    fast = f"{s}.strftime_of_template(template)"
    temporal = "('TIMESTAMP', 'DATE', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS')"
    # The fields of whichever type x has, so the template is laid out by one expression.
    yield macro(
        "to_char_fields_of",
        ("x", "CASE WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE' THEN "
              f"{s}.timestamptz_fields(TRY_CAST(x AS TIMESTAMPTZ)) "
              f"WHEN typeof(x) = 'INTERVAL' THEN {s}.interval_tm_fields(TRY_CAST(x AS INTERVAL)) "
              f"ELSE {s}.timestamp_fields(TRY_CAST(x AS TIMESTAMP)) END"),
    )
    yield macro(
        "to_char",
        ("x, template",
         "CASE WHEN typeof(x) = 'VARCHAR' THEN "
         "error('function to_char(text, text) does not exist') "
         f"WHEN typeof(x) NOT IN {temporal[:-1]}, 'TIMESTAMP WITH TIME ZONE', 'INTERVAL') THEN "
         f"{s}.to_char_numeric(TRY_CAST(x AS DOUBLE), template, "
         "typeof(x) IN ('DOUBLE', 'FLOAT')) "
         f"WHEN typeof(x) <> 'INTERVAL' AND {fast} IS NOT NULL THEN "
         f"strftime(TRY_CAST(x AS TIMESTAMP), {fast}) "
         f"ELSE {s}.to_char_fields({s}.to_char_fields_of(x), template) END"),
    )


# Patterns strftime prints exactly as PostgreSQL does, case as written (names, AM/PM) ...
_STRFTIME_EXACT = {
    "Mon": "%b", "FMMon": "%b", "FMMonth": "%B", "Dy": "%a", "FMDy": "%a", "FMDay": "%A",
    "AM": "%p", "PM": "%p", "FMAM": "%p", "FMPM": "%p",
}
# ... and numeric patterns in any case.
_STRFTIME = {
    "YYYY": "%Y", "YY": "%y", "MM": "%m", "FMMM": "%-m", "DD": "%d", "FMDD": "%-d",
    "HH24": "%H", "FMHH24": "%-H", "HH": "%I", "HH12": "%I", "FMHH": "%-I", "FMHH12": "%-I",
    "MI": "%M", "FMMI": "%-M", "SS": "%S", "FMSS": "%-S", "US": "%f", "MS": "%g", "DDD": "%j",
    "IW": "%V", "IYYY": "%G",
}


def _numeric_output() -> Iterator[str]:
    """to_char of a number: 9 (digit or blank), 0 (digit or zero), . / D, , / G, S, MI, PL,
    SG, PR, FM, as PostgreSQL's NUM_processor lays them out."""
    s = SCHEMA
    # The template's tokens and where its digits are: the plan is computed once per call.
    yield macro(
        "number_plan",
        ("tokens", "list_transform([tokens], tokens -> {'tokens': tokens, "
                   "'point': coalesce(list_position(list_transform(tokens, x -> upper(x) IN "
                   "('.', 'D')), true), len(tokens) + 1), "
                   "'fm': list_contains(list_transform(tokens, x -> upper(x)), 'FM')})[1]"),
    )
    yield macro(
        "number_layout",
        ("plan", "list_transform([plan], p -> {'tokens': p.tokens, 'point': p.point, 'fm': p.fm, "
              "'int_digits': len(list_filter(p.tokens[:p.point - 1], x -> x IN ('9', '0'))), "
              "'frac_digits': len(list_filter(p.tokens[p.point + 1:], x -> x IN ('9', '0'))), "
              "'first_zero': coalesce(list_position(p.tokens[:p.point - 1], '0'), p.point), "
              "'last_zero': coalesce(len(p.tokens) + 1 - "
              "list_position(list_reverse(p.tokens), '0'), 0), "
              "'explicit_sign': list_has_any(list_transform(p.tokens, x -> upper(x)), "
              "['S', 'MI', 'PL', 'SG', 'PR'])})[1]"),
    )
    # The absolute value rounded to the fraction digits, as integer and fraction digits. A
    # number that rounds to zero loses its sign, except a float's (PostgreSQL rounds a
    # numeric before taking its sign, and prints a float with %+.*f).
    yield macro(
        "number_digits",
        ("n, l, is_float",
         "list_transform([format('{:.{}f}', round(abs(n)::DOUBLE, l.frac_digits::INTEGER), "
                 "l.frac_digits)], d -> {'int': CASE WHEN split_part(d, '.', 1) = '0' AND "
                 "l.point <= len(l.tokens) THEN '' ELSE split_part(d, '.', 1) END, "
                 "'frac': split_part(d, '.', 2), 'negative': n < 0 AND (is_float "
                 "OR regexp_matches(d, '[1-9]'))})[1]"),
    )
    # The integer digit ``r`` places left of the point: '#' when the value is too wide.
    yield macro(
        "number_int_digit",
        ("l, g, r, k", "CASE WHEN len(g.int) > l.int_digits THEN '#' "
                       "WHEN r <= len(g.int) THEN g.int[len(g.int) - r + 1] "
                       "WHEN k >= l.first_zero THEN '0' WHEN l.fm THEN '' ELSE ' ' END"),
    )
    # The fraction digit ``j``; FM drops trailing zeros of 9 places after the last 0 place.
    yield macro(
        "number_frac_digit",
        ("l, g, j, k", "CASE WHEN len(g.int) > l.int_digits THEN '#' "
                       "WHEN l.fm AND k > l.last_zero AND regexp_full_match(g.frac[j:], '0*') "
                       "THEN '' ELSE g.frac[j] END"),
    )
    yield macro(
        "number_token",
        ("l, g, token, k",
         "CASE WHEN token[1] = '\"' THEN token[2:-2] "
         "WHEN upper(token) = 'FM' THEN '' "
         "WHEN token IN ('9', '0') AND k < l.point THEN "
         f"{s}.number_int_digit(l, g, l.int_digits - len(list_filter(l.tokens[:k - 1], "
         "x -> x IN ('9', '0'))), k) "
         "WHEN token IN ('9', '0') THEN "
         f"{s}.number_frac_digit(l, g, len(list_filter(l.tokens[l.point + 1:k], "
         "x -> x IN ('9', '0'))), k) "
         "WHEN upper(token) IN ('.', 'D') THEN '.' "
         "WHEN upper(token) IN (',', 'G') THEN CASE WHEN len(g.int) > 0 AND "
         "len(g.int) > l.int_digits - len(list_filter(l.tokens[:k - 1], x -> x IN ('9', '0'))) "
         "OR k > l.first_zero THEN ',' WHEN l.fm THEN '' ELSE ' ' END "
         "WHEN upper(token) = 'S' AND k > 1 THEN CASE WHEN g.negative THEN '-' ELSE '+' END "
         "WHEN upper(token) = 'S' THEN '' "
         "WHEN upper(token) = 'MI' THEN CASE WHEN g.negative THEN '-' WHEN l.fm THEN '' "
         "ELSE ' ' END "
         "WHEN upper(token) = 'PL' THEN CASE WHEN g.negative THEN '' ELSE '+' END "
         "WHEN upper(token) = 'SG' THEN CASE WHEN g.negative THEN '-' ELSE '+' END "
         "WHEN upper(token) = 'PR' THEN '' "
         "ELSE token END"),
    )
    # The sign: before the first digit (a blank when positive) unless the template places
    # it; PR wraps a negative value in <>.
    yield macro(
        "number_signed",
        ("l, g, text",
         "list_transform([text], body -> CASE WHEN list_contains(list_transform(l.tokens, "
         "x -> upper(x)), 'PR') THEN "
         "CASE WHEN g.negative THEN '<' || body || '>' WHEN l.fm THEN body "
         "ELSE ' ' || body || ' ' END "
         "WHEN l.explicit_sign AND NOT (upper(l.tokens[1]) = 'S' OR (upper(l.tokens[1]) = 'FM' "
         "AND upper(l.tokens[2]) = 'S')) THEN body "
         "WHEN l.fm THEN (CASE WHEN g.negative THEN '-' WHEN l.explicit_sign THEN '+' ELSE '' END) "
         "|| ltrim(body) "
         "ELSE regexp_replace(' ' || body, '^( *) ', '\\1' || CASE WHEN g.negative THEN '-' "
         "WHEN l.explicit_sign THEN '+' ELSE ' ' END) END)[1]"),
    )
    yield macro(
        "number_format",
        ("n, l, g", f"{s}.number_signed(l, g, array_to_string(list_transform(l.tokens, "
                    f"(token, k) -> {s}.number_token(l, g, token, k)), ''))"),
    )
    yield macro(
        "to_char_numeric",
        ("n, template, is_float",
         "CASE WHEN n IS NULL OR template IS NULL THEN NULL "
         "WHEN isnan(n::DOUBLE) OR isinf(n::DOUBLE) THEN NULL ELSE "
         f"list_transform([{s}.number_layout({s}.number_plan(regexp_extract_all(template, "
         f"'{_NUMBER_TOKENS}')))], l -> list_transform([{s}.number_digits(n, l, is_float)], "
         f"g -> {s}.number_format(n, l, g))[1])[1] END"),
    )


# to_timestamp / to_date patterns as strptime specifiers; FM and FX change nothing here.
_STRPTIME = {
    "YYYY": "%Y", "YY": "%y", "MM": "%m", "DD": "%d", "HH24": "%H", "HH12": "%I", "HH": "%I",
    "MI": "%M", "SS": "%S", "MS": "%g", "US": "%f", "AM": "%p", "PM": "%p", "MONTH": "%B",
    "MON": "%b", "DAY": "%A", "DY": "%a", "DDD": "%j", "TZ": "%Z", "OF": "%z",
    "FF1": "%f", "FF2": "%f", "FF3": "%g", "FF4": "%f", "FF5": "%f", "FF6": "%f",
}
_INPUT_TOKENS = (
    r'(?i)"[^"]*"|(?:FM|FX)?(?:YYYY|YY|MM|DDD|DD|HH24|HH12|HH|MI|MS|US|SS|AM|PM|MONTH|MON|'
    r"DAY|DY|TZ|OF|FF[1-6])|%|."
)


def _input() -> Iterator[str]:
    s = SCHEMA
    whens = " ".join(f"WHEN '{key}' THEN '{spec}'" for key, spec in _STRPTIME.items())
    # strptime wants a constant format, and DuckDB checks a macro body when it is created:
    # to_timestamp is created over a stand-in strptime_format, replaced by the real one
    # below (macros are expanded when called), so a constant template folds to a constant.
    yield macro("strptime_format", ("template", "template"))
    # to_timestamp(text, text) reads the text in the session's time zone (timestamptz).
    yield macro(
        "to_timestamp",
        ("x, template", f"strptime(x, {s}.strptime_format(template))::TIMESTAMPTZ"),
        ("x", "system.main.to_timestamp(x)"),
    )
    yield macro(
        "to_date",
        ("x, template", f"strptime(x, {s}.strptime_format(template))::DATE"),
    )
    yield macro(
        "strptime_token",
        ("token", "CASE WHEN token[1] = '\"' THEN replace(token[2:-2], '%', '%%') "
                  "WHEN token = '%' THEN '%%' ELSE coalesce(CASE upper(CASE WHEN upper("
                  f"token[1:2]) IN ('FM', 'FX') THEN token[3:] ELSE token END) {whens} END, "
                  "token) END"),
    )
    yield macro(
        "strptime_format",
        ("template", "array_to_string(list_transform(regexp_extract_all(template, "
                     f"'{_INPUT_TOKENS}'), token -> {s}.strptime_token(token)), '')"),
    )
