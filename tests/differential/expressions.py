"""Typed expression generator: operators, casts in both syntaxes, and the string, date,
numeric, json, array, aggregate and window functions PostgreSQL has, over columns, literals
(NULLs and extremes included) and parameters."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .nodes import Node, leaf
from .values import VALUES, sql_string

INTS = ("int2", "int4", "int8")
NUMBERS = (*INTS, "float4", "float8", "numeric")
ORDERED = (*NUMBERS, "text", "date", "time", "timestamp", "timestamptz", "interval", "uuid",
           "bytea", "bool")
TYPES = (*ORDERED, "varchar", "json", "int4[]", "text[]")
# Spelling of each type in casts (PostgreSQL accepts all of them).
SPELLINGS = {
    "int2": ("int2", "smallint"), "int4": ("int4", "integer", "int"),
    "int8": ("int8", "bigint"), "float4": ("float4", "real"),
    "float8": ("float8", "double precision"), "numeric": ("numeric", "decimal"),
    "text": ("text",), "varchar": ("varchar", "character varying"), "bytea": ("bytea",),
    "date": ("date",), "time": ("time",), "timestamp": ("timestamp",),
    "timestamptz": ("timestamptz", "timestamp with time zone"), "interval": ("interval",),
    "uuid": ("uuid",), "json": ("json",), "bool": ("bool", "boolean"),
    "int4[]": ("int4[]", "integer[]"), "text[]": ("text[]",),
}


def tags(*names: str) -> frozenset[str]:
    return frozenset(names)


def expr(template: str, type_: str, *args: Node, tag: frozenset[str] = frozenset()) -> Node:
    return Node(template, args, type=type_, kind="expr", tags=tag)


@dataclass
class Scope:
    """Columns a select list may name, by PostgreSQL type."""

    columns: dict[str, list[str]] = field(default_factory=dict)

    def of(self, type_: str) -> list[str]:
        return self.columns.get(type_, [])


Production = Callable[["ExpressionGenerator", int], Node]


class ExpressionGenerator:
    """Builds expressions of a requested type from a seeded ``random.Random``."""

    def __init__(self, rng: random.Random, scope: Scope, params: bool) -> None:
        self.rng = rng
        self.scope = scope
        self.params = params

    # -- leaves ---------------------------------------------------------------------------

    def literal(self, type_: str, null: bool = True) -> Node:
        rng = self.rng
        if null and rng.random() < 0.06:
            return self.null(type_)
        text, _ = rng.choice(VALUES[type_])
        quoted = sql_string(text)
        form = rng.random()
        extra = tags(f"literal:{type_}")
        bare_int = type_ == "int4" or (type_ == "int8" and int(text) > 2**31)
        if type_ in INTS and form < 0.6 and not text.startswith("-") and bare_int:
            return leaf(text, type_, extra)
        if type_ == "numeric" and form < 0.5 and text[0].isdigit():
            return leaf(text, type_, extra | tags("bare_decimal"))
        if type_ == "text" and form < 0.5:
            return leaf(quoted, "text", extra | tags("unknown_literal"))
        if type_ == "bool" and form < 0.6:
            return leaf(text, type_, extra)
        if type_ in ("date", "time", "timestamp", "interval") and form < 0.3:
            return leaf(f"{type_.upper()} {quoted}", type_, extra)
        spelled = rng.choice(SPELLINGS[type_])
        if rng.random() < 0.5:
            return leaf(f"{quoted}::{spelled}", type_, extra | tags("cast_colon"))
        return leaf(f"CAST({quoted} AS {spelled})", type_, extra | tags("cast_syntax"))

    def null(self, type_: str) -> Node:
        if self.rng.random() < 0.5:
            return leaf(f"NULL::{SPELLINGS[type_][0]}", type_, tags("null"))
        return leaf(f"CAST(NULL AS {SPELLINGS[type_][0]})", type_, tags("null"))

    def param(self, type_: str) -> Node:
        usable = [(text, value) for text, value in VALUES[type_] if value is not None
                  or text == "null"]
        _, value = self.rng.choice(usable)
        if type_ == "json":
            from psycopg.types.json import Json

            value = Json(value)
        node = Node("$?", type=type_, kind="param", value=value, tags=tags("param"))
        form = self.rng.random()
        if form < 0.45:  # placed where its type must be inferred
            return node
        spelled = self.rng.choice(SPELLINGS[type_])
        if form < 0.8:
            return expr(f"{{0}}::{spelled}", type_, node, tag=tags("param_cast"))
        return expr(f"CAST({{0}} AS {spelled})", type_, node, tag=tags("param_cast"))

    def leaf_of(self, type_: str) -> Node:
        columns = self.scope.of(type_)
        roll = self.rng.random()
        if columns and roll < 0.55:
            return leaf(self.rng.choice(columns), type_, tags("column"))
        if self.params and roll > 0.85:
            return self.param(type_)
        return self.literal(type_)

    # -- expressions ------------------------------------------------------------------------

    def e(self, type_: str, depth: int) -> Node:
        """An expression of ``type_`` at most ``depth`` operators deep."""
        productions = PRODUCTIONS.get(type_, [])
        if depth <= 0 or not productions or self.rng.random() < 0.4:
            node = self.leaf_of(type_)
        else:
            node = self.rng.choice(productions)(self, depth - 1)
        return Node(node.template, node.args, node.type or type_, node.kind, node.tags,
                    node.value, self.simplest(type_))

    def simplest(self, type_: str) -> Node:
        text = {"bool": "true", "int4": "1", "text": "'a'"}.get(type_)
        if text is not None:
            return leaf(text, type_)
        return leaf(f"{sql_string(VALUES[type_][0][0])}::{SPELLINGS[type_][0]}", type_)

    def any_type(self, choices: tuple[str, ...] = TYPES) -> str:
        return self.rng.choice(choices)


def _p(weight: int, fn: Production) -> list[Production]:
    return [fn] * weight


def arith(type_: str) -> list[Production]:
    def binary(op: str) -> Production:
        def make(g: ExpressionGenerator, d: int) -> Node:
            name = "int_div" if op == "/" and type_ in INTS else f"op{op}"
            return expr(f"({{0}} {op} {{1}})", type_, g.e(type_, d), g.e(type_, d),
                        tag=tags(name, f"op{op}:{type_}"))
        return make

    found: list[Production] = [binary(op) for op in ("+", "-", "*", "/")]
    if type_ in (*INTS, "numeric"):
        found.append(binary("%"))
    found += [
        lambda g, d: expr("(- {0})", type_, g.e(type_, d), tag=tags("neg")),
        lambda g, d: expr("abs({0})", type_, g.e(type_, d), tag=tags("fn:abs")),
        lambda g, d: expr("greatest({0}, {1})", type_, g.e(type_, d), g.e(type_, d),
                          tag=tags("fn:greatest")),
        lambda g, d: expr("least({0}, {1}, {2})", type_, g.e(type_, d), g.e(type_, d),
                          g.e(type_, d), tag=tags("fn:least")),
        lambda g, d: expr("coalesce({0}, {1})", type_, g.e(type_, d), g.e(type_, d),
                          tag=tags("fn:coalesce")),
        lambda g, d: expr("nullif({0}, {1})", type_, g.e(type_, d), g.e(type_, d),
                          tag=tags("fn:nullif")),
        lambda g, d: expr("CASE WHEN {0} THEN {1} ELSE {2} END", type_, g.e("bool", d),
                          g.e(type_, d), g.e(type_, d), tag=tags("case")),
        lambda g, d: cast_to(g, d, type_),
    ]
    return found


def cast_to(g: ExpressionGenerator, d: int, type_: str) -> Node:
    """A cast to ``type_`` from another type, in either syntax."""
    sources = CASTABLE.get(type_, (type_,))
    source = g.rng.choice(sources)
    spelled = g.rng.choice(SPELLINGS[type_])
    extra = tags(f"cast:{source}->{type_}")
    if g.rng.random() < 0.5:
        return expr(f"CAST({{0}} AS {spelled})", type_, g.e(source, d),
                    tag=extra | tags("cast_syntax"))
    return expr(f"{{0}}::{spelled}", type_, g.e(source, d), tag=extra | tags("cast_colon"))


CASTABLE: dict[str, tuple[str, ...]] = {
    "int2": ("int4", "int8", "numeric", "float8", "bool"),
    "int4": ("int2", "int8", "numeric", "float8", "float4", "text", "bool"),
    "int8": ("int4", "numeric", "float8", "text"),
    "float4": ("int4", "float8", "numeric"),
    "float8": ("int4", "int8", "numeric", "float4", "text"),
    "numeric": ("int4", "int8", "float8", "float4", "text"),
    "text": ("int4", "int8", "numeric", "float8", "float4", "date", "timestamp",
             "timestamptz", "interval", "bool", "uuid", "json", "bytea", "time",
             "int4[]", "text[]", "varchar"),
    "varchar": ("text", "int4"),
    "date": ("timestamp", "text", "timestamptz"),
    "timestamp": ("date", "timestamptz", "text"),
    "timestamptz": ("timestamp", "date", "text"),
    "time": ("timestamp", "text"),
    "interval": ("text", "time"),
    "bool": ("int4", "text"),
    "json": ("text",),
    "uuid": ("text",),
    "bytea": ("text",),
    "int4[]": ("text[]",),
    "text[]": ("int4[]",),
}


def fn(name: str, type_: str, *arg_types: str, template: str | None = None) -> Production:
    """A call of a PostgreSQL function with arguments of the given types."""
    body = template or f"{name}(" + ", ".join(f"{{{i}}}" for i in range(len(arg_types))) + ")"

    def make(g: ExpressionGenerator, d: int) -> Node:
        args = tuple(g.e(t, d) if not t.startswith("'") else leaf(t) for t in arg_types)
        return expr(body, type_, *args, tag=tags(f"fn:{name}"))
    return make


def lit(text: str) -> str:
    return sql_string(text)


def compare(g: ExpressionGenerator, d: int) -> Node:
    type_ = g.any_type(ORDERED)
    op = g.rng.choice(("=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM",
                       "IS NOT DISTINCT FROM"))
    return expr(f"({{0}} {op} {{1}})", "bool", g.e(type_, d), g.e(type_, d),
                tag=tags(f"cmp:{type_}"))


def pattern(g: ExpressionGenerator, d: int) -> Node:
    op = g.rng.choice(("LIKE", "ILIKE", "NOT LIKE", "~", "~*", "!~", "SIMILAR TO"))
    pat = g.rng.choice(("'a%'", "'%b%'", "'_l%'", "'b'", "'^a'", "'A.*'", "'%'", "'x|y'",
                        "'[a-c]+'"))
    name = "regex" if "~" in op else op.lower().replace(" ", "_")
    return expr(f"({{0}} {op} {pat})", "bool", g.e("text", d), tag=tags(f"pattern:{name}"))


def between(g: ExpressionGenerator, d: int) -> Node:
    type_ = g.any_type((*NUMBERS, "date", "text"))
    sym = g.rng.random() < 0.3
    word = "BETWEEN SYMMETRIC" if sym else g.rng.choice(("BETWEEN", "NOT BETWEEN"))
    return expr(f"({{0}} {word} {{1}} AND {{2}})", "bool", g.e(type_, d), g.e(type_, d),
                g.e(type_, d), tag=tags("between_symmetric" if sym else "between"))


def in_list(g: ExpressionGenerator, d: int) -> Node:
    type_ = g.any_type(("int4", "text", "int8", "numeric", "date"))
    return expr("({0} IN ({1}, {2}, {3}))", "bool", g.e(type_, d), g.e(type_, d),
                g.e(type_, d), g.e(type_, d), tag=tags("in_list"))


def any_array(g: ExpressionGenerator, d: int) -> Node:
    type_ = g.rng.choice(("int4", "text"))
    return expr("({0} = ANY({1}))", "bool", g.e(type_, d), g.e(f"{type_}[]", d),
                tag=tags("any_array"))


def is_null(g: ExpressionGenerator, d: int) -> Node:
    word = g.rng.choice(("IS NULL", "IS NOT NULL"))
    return expr(f"({{0}} {word})", "bool", g.e(g.any_type(), d), tag=tags("is_null"))


PRODUCTIONS: dict[str, list[Production]] = {t: arith(t) for t in NUMBERS}
PRODUCTIONS["int4"] += [
    fn("length", "int4", "text"), fn("char_length", "int4", "text"),
    fn("octet_length", "int4", "text"), fn("position", "int4", "text", "text",
                                           template="position({0} IN {1})"),
    fn("strpos", "int4", "text", "text"), fn("ascii", "int4", "text"),
    fn("array_length", "int4", "int4[]", "'1'", template="array_length({0}, 1)"),
    fn("cardinality", "int4", "int4[]"), fn("date_minus", "int4", "date", "date",
                                            template="({0} - {1})"),
    fn("array_position", "int4", "int4[]", "int4"),
    fn("json_array_length", "int4", "json"),
    fn("gcd", "int4", "int4", "int4"), fn("mod", "int4", "int4", "int4"),
    fn("width_bucket", "int4", "float8", "'0'", "'100'", "'5'",
       template="width_bucket({0}, 0, 100, 5)"),
    fn("subscript", "int4", "int4[]", template="({0})[1]"),
    fn("sign", "int4", "int4", template="sign({0})::int"),
]
PRODUCTIONS["int8"] += [fn("lcm", "int8", "int8", "int8"), fn("factorial_sum", "int8", "int4",
                        template="({0}::int8 * 3000000000)")]
PRODUCTIONS["float8"] += [
    fn("sqrt", "float8", "float8"), fn("power", "float8", "float8", "float8"),
    fn("ln", "float8", "float8"), fn("exp", "float8", "float8"), fn("floor", "float8", "float8"),
    fn("ceil", "float8", "float8"), fn("round", "float8", "float8"),
    fn("trunc", "float8", "float8"),
    fn("cbrt", "float8", "float8"), fn("degrees", "float8", "float8"),
    fn("pi", "float8", template="pi()"),
    fn("extract", "float8", "timestamp", template="date_part('epoch', {0})"),
    fn("date_part", "float8", "date", template="date_part('year', {0})"),
]
PRODUCTIONS["numeric"] += [
    fn("round", "numeric", "numeric", "int4", template="round({0}, 2)"),
    fn("round", "numeric", "numeric"), fn("trunc", "numeric", "numeric"),
    fn("ceil", "numeric", "numeric"), fn("floor", "numeric", "numeric"),
    fn("sqrt", "numeric", "numeric"), fn("power", "numeric", "numeric", "numeric"),
    fn("scale", "numeric", "numeric", template="scale({0})::numeric"),
    fn("div", "numeric", "numeric", "numeric"),
    fn("mixed_mul", "numeric", "int4", "numeric", template="({0} * {1})"),
    fn("int_by_decimal", "numeric", "int4", template="({0} / 100.0)"),
    fn("extract", "numeric", "timestamp", template="extract(year FROM {0})"),
    fn("extract", "numeric", "date", template="EXTRACT(DOW FROM {0})"),
    fn("to_number", "numeric", "'12,454.8-'", template="to_number('12,454.8-', '99G999D9S')"),
    fn("numeric_typmod", "numeric", "numeric", template="{0}::numeric(10,2)"),
    fn("numeric_typmod", "numeric", "float8", template="CAST({0} AS numeric(20, 4))"),
]
PRODUCTIONS["bool"] = [
    compare, compare, compare, pattern, between, in_list, any_array, is_null,
    lambda g, d: expr("({0} AND {1})", "bool", g.e("bool", d), g.e("bool", d)),
    lambda g, d: expr("({0} OR {1})", "bool", g.e("bool", d), g.e("bool", d)),
    lambda g, d: expr("(NOT {0})", "bool", g.e("bool", d)),
    fn("starts_with", "bool", "text", "text"),
    lambda g, d: cast_to(g, d, "bool"),
    fn("isfinite", "bool", "date"),
    fn("array_contains", "bool", "int4[]", "int4[]", template="({0} @> {1})"),
    fn("array_overlap", "bool", "int4[]", "int4[]", template="({0} && {1})"),
    fn("bytea_eq", "bool", "bytea", "'\\x0102'", template="({0} = '\\x0102')"),
]
TEXT: list[Production] = [
    fn("concat_op", "text", "text", "text", template="({0} || {1})"),
    fn("concat_op", "text", "text", "int4", template="({0} || {1})"),
    fn("lower", "text", "text"), fn("upper", "text", "text"), fn("initcap", "text", "text"),
    fn("btrim", "text", "text"), fn("ltrim", "text", "text"), fn("rtrim", "text", "text"),
    fn("trim", "text", "text", template="trim(both 'a' from {0})"),
    fn("substr", "text", "text", "int4", "int4"),
    fn("substring", "text", "text", template="substring({0} from 2 for 3)"),
    fn("left", "text", "text", "int2"), fn("right", "text", "text", "int2"),
    fn("repeat", "text", "text", "'3'", template="repeat({0}, 3)"),
    fn("replace", "text", "text", "text", "text"), fn("reverse", "text", "text"),
    fn("lpad", "text", "text", "'6'", template="lpad({0}, 6, '*')"),
    fn("rpad", "text", "text", "'6'", template="rpad({0}, 6)"),
    fn("split_part", "text", "text", "'1'", template="split_part({0}, ',', 2)"),
    fn("concat", "text", "text", "int4", "text"), fn("concat_ws", "text", "text", "text", "int8",
                                                   template="concat_ws('-', {0}, {1}, {2})"),
    fn("format", "text", "text", "int4", template="format('%s-%s', {0}, {1})"),
    fn("md5", "text", "text"), fn("to_hex", "text", "int4"), fn("chr", "text", "'65'",
                                                                template="chr(65)"),
    fn("translate", "text", "text", template="translate({0}, 'al', 'AL')"),
    fn("regexp_replace", "text", "text", template="regexp_replace({0}, '[aeiou]', '#', 'g')"),
    fn("quote_literal", "text", "text"), fn("quote_ident", "text", "text"),
    fn("to_char", "text", "timestamp", template="to_char({0}, 'YYYY-MM-DD HH24:MI:SS')"),
    fn("to_char", "text", "numeric", template="to_char({0}, '999D99')"),
    fn("array_to_string", "text", "text[]", template="array_to_string({0}, ',')"),
    fn("json_arrow", "text", "json", template="({0} ->> 'a')"),
    fn("json_typeof", "text", "json"),
    fn("encode", "text", "bytea", template="encode({0}, 'hex')"),
    fn("uuid_text", "text", "uuid", template="{0}::text"),
    lambda g, d: cast_to(g, d, "text"),
    lambda g, d: expr("CASE WHEN {0} THEN {1} ELSE {2} END", "text", g.e("bool", d),
                      g.e("text", d), g.e("text", d), tag=tags("case")),
    fn("coalesce", "text", "text", "text"),
]
PRODUCTIONS["text"] = TEXT
PRODUCTIONS["varchar"] = [lambda g, d: cast_to(g, d, "varchar"),
                          fn("varchar_n", "varchar", "text", template="{0}::varchar(3)")]
PRODUCTIONS["date"] = [
    fn("date_plus_int", "date", "date", "int2", template="({0} + {1})"),
    fn("date_minus_int", "date", "date", "int2", template="({0} - {1})"),
    fn("make_date", "date", "'2024'", template="make_date(2024, 2, 29)"),
    fn("to_date", "date", "'x'", template="to_date('05 Dec 2000', 'DD Mon YYYY')"),
    lambda g, d: cast_to(g, d, "date"),
]
PRODUCTIONS["timestamp"] = [
    fn("ts_plus_interval", "timestamp", "timestamp", "interval", template="({0} + {1})"),
    fn("ts_minus_interval", "timestamp", "timestamp", "interval", template="({0} - {1})"),
    fn("date_trunc", "timestamp", "timestamp", template="date_trunc('month', {0})"),
    fn("date_plus_time", "timestamp", "date", "time", template="({0} + {1})"),
    fn("make_timestamp", "timestamp", "'x'", template="make_timestamp(2024, 1, 2, 3, 4, 5.5)"),
    fn("to_timestamp", "timestamp", "'x'",
       template="to_timestamp('2024-01-02 03:04:05', 'YYYY-MM-DD HH24:MI:SS')::timestamp"),
    lambda g, d: cast_to(g, d, "timestamp"),
]
PRODUCTIONS["timestamptz"] = [
    fn("tz_plus_interval", "timestamptz", "timestamptz", "interval", template="({0} + {1})"),
    fn("date_trunc", "timestamptz", "timestamptz", template="date_trunc('day', {0})"),
    fn("to_timestamp", "timestamptz", "float8", template="to_timestamp({0})"),
    lambda g, d: cast_to(g, d, "timestamptz"),
]
PRODUCTIONS["time"] = [
    fn("time_plus_interval", "time", "time", "interval", template="({0} + {1})"),
    lambda g, d: cast_to(g, d, "time"),
]
PRODUCTIONS["interval"] = [
    fn("ts_minus_ts", "interval", "timestamp", "timestamp", template="({0} - {1})"),
    fn("interval_times", "interval", "interval", "int4", template="({0} * {1})"),
    fn("interval_plus", "interval", "interval", "interval", template="({0} + {1})"),
    fn("justify_hours", "interval", "interval"), fn("justify_days", "interval", "interval"),
    fn("justify_interval", "interval", "interval"),
    fn("age", "interval", "timestamp", "timestamp"),
    fn("make_interval", "interval", "'x'", template="make_interval(days => 10)"),
    lambda g, d: cast_to(g, d, "interval"),
]
PRODUCTIONS["bytea"] = [
    fn("bytea_concat", "bytea", "bytea", "bytea", template="({0} || {1})"),
    fn("decode", "bytea", "'x'", template="decode('68656c6c6f', 'hex')"),
    fn("convert_to", "bytea", "text", template="convert_to({0}, 'UTF8')"),
    fn("sha256", "bytea", "bytea"),
    lambda g, d: cast_to(g, d, "bytea"),
]
PRODUCTIONS["uuid"] = [lambda g, d: cast_to(g, d, "uuid")]
PRODUCTIONS["json"] = [
    fn("json_build_object", "json", "text", "int4",
       template="json_build_object('k', {0}, 'n', {1})"),
    fn("json_build_array", "json", "int4", "text"),
    fn("to_json", "json", "text"), fn("to_json", "json", "numeric"),
    fn("json_arrow", "json", "json", template="({0} -> 'a')"),
    fn("json_index", "json", "json", template="({0} -> 1)"),
    lambda g, d: cast_to(g, d, "json"),
]
PRODUCTIONS["int4[]"] = [
    fn("array_ctor", "int4[]", "int4", "int4", template="ARRAY[{0}, {1}]"),
    fn("array_append", "int4[]", "int4[]", "int4"), fn("array_cat", "int4[]", "int4[]", "int4[]"),
    fn("array_remove", "int4[]", "int4[]", "int4"),
    fn("array_prepend", "int4[]", "int4", "int4[]"),
    fn("array_concat_op", "int4[]", "int4[]", "int4[]", template="({0} || {1})"),
    lambda g, d: cast_to(g, d, "int4[]"),
]
PRODUCTIONS["text[]"] = [
    fn("array_ctor", "text[]", "text", "text", template="ARRAY[{0}, {1}]"),
    fn("string_to_array", "text[]", "text", template="string_to_array({0}, ',')"),
    fn("array_append", "text[]", "text[]", "text"),
    fn("regexp_split_to_array", "text[]", "text", template="regexp_split_to_array({0}, 'l')"),
]

# Aggregates over a group: result type -> productions taking the group's scope.
AGGREGATES: dict[str, list[Production]] = {
    "int8": [lambda g, d: leaf("count(*)", "int8", tags("agg:count")),
             fn("count", "int8", "text"), fn("count", "int8", "int4"),
             fn("count_distinct", "int8", "int4", template="count(DISTINCT {0})"),
             fn("sum", "int8", "int4"), fn("sum", "int8", "int2")],
    "numeric": [fn("sum", "numeric", "int8"), fn("sum", "numeric", "numeric"),
                fn("avg", "numeric", "int4"), fn("avg", "numeric", "numeric"),
                fn("stddev", "numeric", "int4"), fn("variance", "numeric", "numeric"),
                fn("min", "numeric", "numeric"), fn("max", "numeric", "numeric")],
    "float8": [fn("avg", "float8", "float8"), fn("sum", "float8", "float8"),
               fn("stddev_pop", "float8", "float8")],
    "int4": [fn("min", "int4", "int4"), fn("max", "int4", "int4")],
    "text": [fn("min", "text", "text"), fn("max", "text", "text"),
             fn("string_agg", "text", "text", template="string_agg({0}, ',' ORDER BY {0})")],
    "bool": [fn("bool_and", "bool", "bool"), fn("bool_or", "bool", "bool"),
             fn("every", "bool", "bool")],
    "date": [fn("max", "date", "date"), fn("min", "date", "date")],
    "interval": [fn("sum", "interval", "interval"), fn("avg", "interval", "interval")],
    "int4[]": [fn("array_agg", "int4[]", "int4", template="array_agg({0} ORDER BY {0})")],
    "json": [fn("json_agg", "json", "int4", template="json_agg({0} ORDER BY {0})")],
}
