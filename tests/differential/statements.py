"""Whole statements: queries with every clause PostgreSQL has, DML on a scratch table,
and statements that must fail; each one a ``Case`` rebuilt from its seed alone."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .expressions import AGGREGATES, ORDERED, TYPES, ExpressionGenerator, Scope, tags
from .nodes import EMPTY, Node, clause, items, leaf, render
from .tables import T1_COLUMNS, T2_COLUMNS

SCRATCH_COLUMNS = {"id": "int4", "i4": "int4", "nn": "numeric(12,2)", "s": "text",
                   "d": "date", "v": "varchar(5)"}
# The lake table DML cases write, made once with t1 and t2. Each DML case runs in a
# transaction rolled back after it, so every one starts from these rows (making the table
# inside each case's transaction was most of a DML case's time).
SCRATCH_CREATE = (
    "DROP TABLE IF EXISTS scratch",
    "CREATE TABLE scratch (" + ", ".join(f"{c} {t}" for c, t in SCRATCH_COLUMNS.items())
    + ")",
    "INSERT INTO scratch SELECT id, i4, nn, s, d, v FROM t1",
)
SCRATCH_SETUP = ("BEGIN",)
SCRATCH_CONTENT = "SELECT * FROM scratch ORDER BY id"
SCRATCH_TEARDOWN = "ROLLBACK"
PARAM_MODES = ("psycopg_text", "psycopg_binary", "asyncpg", "untyped_text")


def base_type(declared: str) -> str:
    return declared.split("(")[0]


def scope_of(columns: dict[str, str], prefix: str = "") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, declared in columns.items():
        found.setdefault(base_type(declared), []).append(prefix + name)
    return found


def merged(*scopes: dict[str, list[str]]) -> Scope:
    out: dict[str, list[str]] = {}
    for scope in scopes:
        for type_, names in scope.items():
            out.setdefault(type_, []).extend(names)
    return Scope(out)


@dataclass(frozen=True)
class Case:
    """One generated statement: its tree, whether its ORDER BY fixes the row order, whether
    it writes the scratch table, and how its parameters are sent."""

    seed: int
    index: int
    node: Node
    shape: str
    dml: bool = False
    param_mode: str = "psycopg_text"

    @property
    def sql(self) -> str:
        return render(self.node)[0]

    @property
    def params(self) -> list[object]:
        return [value for value, _ in render(self.node)[1]]

    @property
    def ordered(self) -> bool:
        return "total_order" in self.node.all_tags()

    @property
    def tags(self) -> frozenset[str]:
        return self.node.all_tags()

    def with_node(self, node: Node) -> Case:
        return Case(self.seed, self.index, node, self.shape, self.dml, self.param_mode)


class StatementGenerator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def exprs(self, scope: Scope, params: bool) -> ExpressionGenerator:
        return ExpressionGenerator(self.rng, scope, params)

    def select_items(self, g: ExpressionGenerator, count: int, depth: int) -> Node:
        nodes = []
        for i in range(count):
            node = g.e(g.any_type(TYPES), depth)
            if self.rng.random() < 0.2:
                node = Node("{0} AS c" + str(i), (node,), node.type, "expr", frozenset(),
                            None, node)
            nodes.append(node)
        return items(nodes)

    def order_by(self, g: ExpressionGenerator, unique: str, limit: bool = True) -> Node:
        keys = []
        for _ in range(self.rng.randint(0, 2)):
            type_ = g.any_type(ORDERED)
            key = g.e(type_, 1)
            direction = self.rng.choice(("", " ASC", " DESC", " DESC"))
            nulls = self.rng.choice(("", "", " NULLS FIRST", " NULLS LAST"))
            tag = f"order{direction.lower().strip() or '_asc'}{nulls.lower().replace(' ', '_')}"
            keys.append(Node("{0}" + direction + nulls, (key,), "", "expr",
                             tags(tag.replace("orderdesc", "order_desc").replace(
                                 "orderasc", "order_asc"))))
        keys.append(leaf(unique))
        tail = self.limit(g) if limit and self.rng.random() < 0.4 else EMPTY
        return clause(" ORDER BY {0}{1}", items(keys), tail, tags=tags("total_order"))

    def limit(self, g: ExpressionGenerator) -> Node:
        n, m = self.rng.randint(0, 4), self.rng.randint(0, 3)
        if g.params and self.rng.random() < 0.3:
            count = Node("$?", type="int8", kind="param", value=n, tags=tags("param_limit"))
            return clause(" LIMIT {0}", count)
        return clause(self.rng.choice((f" LIMIT {n}", f" LIMIT {n} OFFSET {m}",
                                       f" OFFSET {m}", f" FETCH FIRST {n} ROWS ONLY",
                                       " LIMIT ALL")), tags=tags("limit"))

    def where(self, g: ExpressionGenerator, chance: float = 0.5) -> Node:
        if self.rng.random() < chance:
            return clause(" WHERE {0}", g.e("bool", 1))
        return EMPTY

    # -- shapes ------------------------------------------------------------------------

    def simple(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS)), params)
        body = self.select_items(g, self.rng.randint(1, 2), 2)
        order = self.order_by(g, "id") if self.rng.random() < 0.6 else EMPTY
        return Node("SELECT {0} FROM t1{1}{2}", (body, self.where(g), order), kind="fixed")

    def constant(self, params: bool) -> Node:
        g = self.exprs(Scope(), params)
        return Node("SELECT {0}", (self.select_items(g, self.rng.randint(1, 2), 3),),
                    kind="fixed", tags=tags("total_order"))

    def grouped(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS)), params)
        key_type = g.any_type(("bool", "int4", "text", "date", "int2", "numeric"))
        key = g.e(key_type, 1)
        aggs = [self.aggregate(g) for _ in range(self.rng.randint(1, 2))]
        bound = self.exprs(Scope(), params).e("int4", 0)
        having = (clause(" HAVING {0}", Node("(count(*) > {0})", (bound,), "bool", "expr",
                                             tags("having")))
                  if self.rng.random() < 0.3 else EMPTY)
        direction = self.rng.choice(("", " DESC", " NULLS FIRST", " DESC NULLS LAST"))
        order = clause(f" ORDER BY 1{direction}",
                       tags=tags("total_order", f"group_order{direction.lower()}"))
        return Node("SELECT {0}, {1} FROM t1{2} GROUP BY 1{3}{4}",
                    (key, items(aggs), self.where(g, 0.3), having, order), kind="fixed",
                    tags=tags("group_by"))

    def aggregate(self, g: ExpressionGenerator) -> Node:
        type_ = self.rng.choice(list(AGGREGATES))
        return self.rng.choice(AGGREGATES[type_])(g, 1)

    def global_aggregate(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS)), params)
        aggs = [self.aggregate(g) for _ in range(self.rng.randint(1, 2))]
        return Node("SELECT {0} FROM t1{1}", (items(aggs), self.where(g, 0.3)), kind="fixed",
                    tags=tags("total_order"))

    def distinct(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS)), params)
        type_ = g.any_type(ORDERED)
        order = clause(" ORDER BY 1", tags=tags("total_order")) if self.rng.random() < 0.5 \
            else EMPTY
        return Node("SELECT DISTINCT {0} FROM t1{1}", (g.e(type_, 2), order), kind="fixed",
                    tags=tags("distinct"))

    def cte(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS)), params)
        type_ = g.any_type(TYPES)
        inner = g.e(type_, 2)
        outer = self.exprs(Scope({type_: ["x"], "int4": ["id"]}), params)
        return Node("WITH c AS (SELECT id, {0} AS x FROM t1{1}) SELECT id, {2} FROM c{3} "
                    "ORDER BY id", (inner, self.where(g, 0.4), outer.e(type_, 1),
                                    self.where(outer, 0.3)),
                    kind="fixed", tags=tags("cte", "total_order"))

    def subquery(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS), scope_of(T2_COLUMNS, "t2.")), params)
        t1 = self.exprs(merged(scope_of(T1_COLUMNS, "t1.")), params)
        form = self.rng.randint(0, 3)
        if form == 0:
            return Node("SELECT t1.id, (SELECT max(q) FROM t2 WHERE t2.t1_id = t1.id) FROM t1 "
                        "ORDER BY 1", kind="fixed", tags=tags("scalar_subquery", "total_order"))
        if form == 1:
            return Node("SELECT id, {0} FROM t1 WHERE id IN (SELECT t1_id FROM t2{1}) ORDER BY id",
                        (t1.e(t1.any_type(), 1), self.where(g, 0.5)), kind="fixed",
                        tags=tags("in_subquery", "total_order"))
        if form == 2:
            return Node("SELECT id FROM t1 WHERE {0}EXISTS (SELECT 1 FROM t2 WHERE "
                        "t2.t1_id = t1.id AND {1}) ORDER BY id",
                        (leaf(self.rng.choice(("", "NOT "))), g.e("bool", 1)), kind="fixed",
                        tags=tags("exists", "total_order"))
        return Node("SELECT * FROM (SELECT id, {0} AS x FROM t1) AS sub WHERE x IS NOT NULL "
                    "ORDER BY id", (t1.e(t1.any_type(), 2),), kind="fixed",
                    tags=tags("from_subquery", "total_order"))

    def set_operation(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS)), params)
        type_ = g.any_type(("int4", "text", "int8", "date", "numeric", "bool"))
        op = self.rng.choice(("UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL",
                              "EXCEPT ALL"))
        order = clause(" ORDER BY 1", tags=tags("total_order")) if self.rng.random() < 0.5 \
            else EMPTY
        return Node(f"SELECT {{0}} FROM t1 {op} SELECT {{1}} FROM t1{{2}}",
                    (g.e(type_, 2), g.e(type_, 2), order), kind="fixed",
                    tags=tags(f"setop:{op.lower()}"))

    def join(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS, "t1."), scope_of(T2_COLUMNS, "t2.")), params)
        kind = self.rng.choice(("JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"))
        return Node(f"SELECT t1.id, t2.id, {{0}} FROM t1 {kind} t2 ON t1.id = t2.t1_id{{1}} "
                    "ORDER BY t1.id, t2.id", (self.select_items(g, 1, 2), self.where(g, 0.3)),
                    kind="fixed", tags=tags(f"join:{kind.lower()}", "total_order"))

    def window(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS)), params)
        key_type = g.any_type(("int4", "text", "date", "numeric", "bool"))
        direction = self.rng.choice(("", " DESC", " NULLS FIRST", " DESC NULLS LAST"))
        windows = [
            f"row_number() OVER (ORDER BY {{0}}{direction}, id)",
            f"rank() OVER (ORDER BY {{0}}{direction})",
            f"dense_rank() OVER (ORDER BY {{0}}{direction})",
            "sum(i4) OVER (PARTITION BY b ORDER BY id)",
            "lag({0}) OVER (ORDER BY id)", "lead({0}, 2) OVER (ORDER BY id)",
            "first_value({0}) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)",
            "count(*) OVER ()", "avg(i4) OVER (PARTITION BY b)",
            "ntile(3) OVER (ORDER BY id)",
        ]
        chosen = self.rng.choice(windows)
        return Node(f"SELECT id, {chosen} FROM t1 ORDER BY id", (g.e(key_type, 1),),
                    kind="fixed", tags=tags("window", "total_order",
                                            f"window_order{direction.lower()}"))

    def dml(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(SCRATCH_COLUMNS)), params)
        values = self.exprs(Scope(), params)
        returning = clause(self.rng.choice((" RETURNING *", " RETURNING id, s", " RETURNING id")),
                           tags=tags("returning")) if self.rng.random() < 0.6 else EMPTY
        form = self.rng.randint(0, 3)
        if form == 0:
            return Node("INSERT INTO scratch (id, i4, nn, s, d, v) VALUES (100, {0}, {1}, {2}, "
                        "{3}, {4}){5}", (values.e("int4", 1), values.e("numeric", 1),
                                         values.e("text", 1), values.e("date", 1),
                                         values.e("text", 0), returning),
                        kind="fixed", tags=tags("insert_values"))
        if form == 1:
            return Node("INSERT INTO scratch (id, i4, s) SELECT id + 100, {0}, {1} FROM t1{2}{3}",
                        (self.exprs(merged(scope_of(T1_COLUMNS)), params).e("int4", 1),
                         self.exprs(merged(scope_of(T1_COLUMNS)), params).e("text", 1),
                         self.where(self.exprs(merged(scope_of(T1_COLUMNS)), params)),
                         returning), kind="fixed", tags=tags("insert_select"))
        if form == 2:
            return Node("UPDATE scratch SET i4 = {0}, s = {1}{2}{3}",
                        (g.e("int4", 1), g.e("text", 1), self.where(g, 0.7), returning),
                        kind="fixed", tags=tags("update"))
        return Node("DELETE FROM scratch{0}{1}", (self.where(g, 0.8), returning),
                    kind="fixed", tags=tags("delete"))

    def error(self, params: bool) -> Node:
        g = self.exprs(merged(scope_of(T1_COLUMNS)), params)
        forms = [
            ("SELECT nope FROM t1", "err:undefined_column"),
            ("SELECT * FROM missing_table", "err:undefined_table"),
            ("INSERT INTO missing_table VALUES (1)", "err:insert_missing"),
            ("UPDATE missing_table SET a = 1", "err:update_missing"),
            ("DELETE FROM missing_table", "err:delete_missing"),
            ("SELECT 1 +", "err:syntax"),
            ("SELECT 'abc'::int4", "err:invalid_text"),
            ("SELECT 2147483647::int4 + 1", "err:overflow"),
            ("SELECT i4 / 0 FROM t1", "int_div"),
            ("SELECT s, count(*) FROM t1 GROUP BY i4", "err:grouping"),
            ("SELECT no_such_function(1)", "err:undefined_function"),
            ("SELECT s + 1 FROM t1", "err:operator"),
            ("SELECT 32767::int2 * 2::int2", "err:overflow"),
            ("SELECT '2024-13-45'::date", "err:datetime"),
            ("SELECT ARRAY[1, 2][3] + 'x'", "err:invalid_text"),
            ("SELECT 10::numeric(3, 1) * 100", "err:numeric_overflow"),
            ("SELECT 1234.5::numeric(4, 1)", "err:numeric_overflow"),
            ("SELECT 'x'::varchar(2)::char(1), 'abc'::varchar(2)", "err:none"),
            ("SELECT sqrt(-1::float8)", "err:invalid_argument"),
            ("SELECT ln(0)", "err:invalid_argument"),
            ("SELECT '{\"a\":'::json", "err:invalid_json"),
            ("SELECT 'not-a-uuid'::uuid", "err:invalid_text"),
        ]
        text, tag = self.rng.choice(forms)
        if self.rng.random() < 0.3:  # an error inside a generated expression
            return Node("SELECT {0} FROM t1 WHERE {1} ORDER BY id",
                        (g.e("int4", 2), Node("({0} / 0 = 1)", (g.e("int4", 1),), "bool")),
                        kind="fixed", tags=tags("err:division_by_zero", "total_order"))
        return Node(text, kind="fixed", tags=tags(tag))

    SHAPES = (("simple", 30), ("constant", 22), ("grouped", 8), ("global_aggregate", 5),
              ("distinct", 4), ("cte", 4), ("subquery", 5), ("set_operation", 4), ("join", 5),
              ("window", 5), ("dml", 8), ("error", 5))

    def case(self, seed: int, index: int) -> Case:
        shape = self.rng.choices([s for s, _ in self.SHAPES], [w for _, w in self.SHAPES])[0]
        params = self.rng.random() < 0.35
        node = getattr(self, shape)(params)
        mode = self.rng.choice(PARAM_MODES)
        return Case(seed, index, node, shape, dml=shape == "dml", param_mode=mode)


def generate(seed: int, index: int) -> Case:
    """Case ``index`` of run ``seed``: the same on every machine and every run."""
    rng = random.Random(seed * 1_000_003 + index)
    return StatementGenerator(rng).case(seed, index)


def generate_many(seed: int, count: int, start: int = 0) -> list[Case]:
    return [generate(seed, i) for i in range(start, start + count)]
