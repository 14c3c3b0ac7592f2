"""Python table functions called in FROM (``SELECT * FROM top_stories(10) s``): finding the
calls, binding their arguments to a declared signature, and the SQL that stands in for
them.

DuckDB has no Python table functions, so the server expands them. The rewrite pass puts a
typed empty relation where the call was (``stand_in``): DuckDB binds and describes the
statement without calling the function, and the argument expressions stay in the text, so
privileges are checked on what they read. When the statement runs, the engine calls the
function and scans its rows instead (``scan``; forge_sql.engine.table_functions).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.syntax import closing
from forge_sql.sql.syntax import name as name_of
from forge_sql.sql.tokens import Token

# Where a FROM item may start at the clause's own depth; a comma also starts one there.
_ITEM_STARTS = frozenset({"FROM", "JOIN", "LATERAL"})
# Keywords that end a FROM clause at its depth.
_CLAUSE_ENDS = frozenset({
    "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "WINDOW", "QUALIFY", "UNION",
    "INTERSECT", "EXCEPT", "RETURNING", "SELECT", "SET", "VALUES", "FETCH", "FOR", "TO",
    "WITH", "INTO",
})
# Keywords that may not follow a call as its alias.
NOT_ALIASES = _CLAUSE_ENDS | {
    "ON", "USING", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL",
    "POSITIONAL", "ASOF", "ANTI", "SEMI", "TABLESAMPLE", "PIVOT", "UNPIVOT",
}
# The prefix of the names the engine registers streams under; no client may name one.
STREAM_PREFIX = "forge_table_stream_"


@dataclass(frozen=True, slots=True)
class Parameter:
    """One declared argument: name, DuckDB type, and whether it may be left out."""

    name: str
    type: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Signature:
    """A table function as SQL sees it. ``columns`` are the declared output columns (name,
    DuckDB type); ``describe`` computes them from constant arguments when they depend on
    them (the arguments by parameter name; a left-out optional one is absent)."""

    schema: str
    name: str
    key: str  # the engine's name for this overload
    parameters: tuple[Parameter, ...]
    columns: tuple[tuple[str, str], ...] = ()
    describe: Callable[[Mapping[str, object]], Sequence[tuple[str, str]]] | None = None
    # The arguments the describe hook takes (None: all): only they must be constants.
    described_by: frozenset[str] | None = None

    def text(self) -> str:
        """``name(a bigint, b varchar)``, as PostgreSQL's candidate lists spell them."""
        args = ", ".join(
            f"{p.name} {p.type.lower()}" + (" DEFAULT ..." if p.optional else "")
            for p in self.parameters
        )
        return f"{self.name}({args})"


@dataclass(frozen=True, slots=True)
class Argument:
    """One argument as written: its name (``n => 10`` or ``n := 10``) and text span."""

    name: str | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a registered table function in FROM, bound to one signature."""

    signature: Signature
    start: int  # of the (qualified) name
    end: int  # after the closing bracket
    arguments: tuple[str | None, ...]  # per parameter: the argument's SQL text, or None
    alias: bool  # an alias follows the call

    @property
    def relation(self) -> str:
        """The name the call's rows go by without an alias: the function's, as PostgreSQL."""
        return self.signature.name


class Registered:
    """The table functions the server has loaded, by lower-cased name (replaced whole when
    extensions are reloaded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, tuple[Signature, ...]] = {}
        self.generation = 0  # counts replacements: texts rewritten before are stale

    def replace(self, signatures: Iterable[Signature]) -> None:
        by_name: dict[str, list[Signature]] = {}
        for signature in signatures:
            by_name.setdefault(signature.name.lower(), []).append(signature)
        with self._lock:
            self._by_name = {name: tuple(found) for name, found in by_name.items()}
            self.generation += 1

    def named(self, name: str) -> tuple[Signature, ...]:
        return self._by_name.get(name, ())

    def any(self) -> bool:
        """Whether any table function is loaded."""
        return bool(self._by_name)

    def wants(self, sql: str) -> bool:
        """Whether ``sql`` may call one (a cheap test of the text, for the hot path)."""
        by_name = self._by_name
        if not by_name:
            return False
        lowered = sql.lower()
        return any(name in lowered for name in by_name)


# The server's one set (forge_sql.engine.database fills it from the loaded extensions).
REGISTERED = Registered()


def calls(source: Source, registered: Registered = REGISTERED) -> list[Call]:
    """The calls of registered table functions in FROM items of ``source``."""
    tokens = source.tokens
    found: list[Call] = []
    starts = item_starts(tokens)
    for index in starts:
        assert index is not None
        call = _call_at(source, index, registered)
        if call is not None:
            found.append(call[0])
            starts.send(call[1])  # on after the call
    return found


def item_starts(tokens: Sequence[Token]) -> Generator[int | None, int | None, None]:
    """The indices of the tokens where a FROM item may start. ``send(index)`` (answered
    with None) goes on from ``index``, past an item the caller has read."""
    # Per bracket depth: whether a FROM clause is open at that depth.
    in_from = [False]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        text = token.text
        if text == "(":
            in_from.append(False)
        elif text == ")":
            if len(in_from) > 1:
                in_from.pop()
        elif token.kind == "keyword" and token.upper in _CLAUSE_ENDS:
            in_from[-1] = False
        if token.kind == "keyword" and token.upper == "FROM":
            in_from[-1] = True
        starts = token.upper in _ITEM_STARTS or (text == "," and in_from[-1])
        if starts and (in_from[-1] or token.upper in ("JOIN", "LATERAL")):
            if token.upper == "JOIN":
                in_from[-1] = True
            skip = yield index + 1
            if skip is not None:
                yield None  # send()'s own answer
                index = skip
                continue
        index += 1


def _call_at(source: Source, index: int, registered: Registered) -> tuple[Call, int] | None:
    """The call starting at token ``index`` and the index after it, if one is there."""
    tokens = source.tokens
    if index < len(tokens) and tokens[index].upper == "LATERAL":
        index += 1
    first = index
    schema = None
    if (
        index + 2 < len(tokens)
        and tokens[index + 1].text == "."
        and _is_name(tokens[index])
        and _is_name(tokens[index + 2])
    ):
        schema = name_of(tokens[index])
        index += 2
    if index + 1 >= len(tokens) or not _is_name(tokens[index]) or tokens[index + 1].text != "(":
        return None
    signatures = [
        s for s in registered.named(name_of(tokens[index]))
        if schema is None or s.schema.lower() == schema
    ]
    if not signatures:
        return None
    close = closing(tokens, index + 1)
    if close is None:
        raise errors.SyntaxError_("syntax error at end of input")
    arguments = _arguments(source, index + 1, close)
    following = tokens[close + 1] if close + 1 < len(tokens) else None
    alias = following is not None and (
        following.upper == "AS"
        or (_is_name(following) and following.upper not in NOT_ALIASES)
    )
    signature, bound = bind(signatures, arguments, source.sql)
    start = tokens[first].start
    return Call(signature, start, tokens[close].end, bound, alias), close + 1


def _arguments(source: Source, open_index: int, close: int) -> list[Argument]:
    tokens = source.tokens
    found: list[Argument] = []
    depth = 0
    start = open_index + 1
    for index in range(open_index + 1, close + 1):
        text = tokens[index].text
        if text in ("(", "[") or (text == "{"):
            depth += 1
        elif text in (")", "]", "}") and index != close:
            depth -= 1
        if (text == "," and depth == 0) or index == close:
            if index > start:
                name = None
                first = start
                if (
                    index - start >= 2
                    and _is_name(tokens[start])
                    and tokens[start + 1].text in ("=>", ":=")
                ):
                    name = name_of(tokens[start])
                    first = start + 2
                found.append(Argument(name, tokens[first].start, tokens[index - 1].end))
            elif index != close or found:
                raise errors.SyntaxError_("syntax error at or near \",\"")
            start = index + 1
    return found


def bind(
    signatures: Sequence[Signature], arguments: Sequence[Argument], sql: str
) -> tuple[Signature, tuple[str | None, ...]]:
    """The overload the arguments fit (by count and names, as PostgreSQL chooses among
    candidates it cannot tell apart by type, the first declared) and the argument text
    for each of its parameters; 42883 with the candidates when none fits."""
    for signature in signatures:
        bound = _fit(signature, arguments, sql)
        if bound is not None:
            return signature, bound
    first = signatures[0]
    given = ", ".join(
        (f"{a.name} => " if a.name else "") + "unknown" for a in arguments
    )
    candidates = "; ".join(s.text() for s in signatures)
    raise errors.UndefinedFunction(
        f"function {first.name}({given}) does not exist",
        hint="No function matches the given name and argument types. "
        f"Candidates: {candidates}",
    )


def _fit(
    signature: Signature, arguments: Sequence[Argument], sql: str
) -> tuple[str | None, ...] | None:
    parameters = signature.parameters
    texts: list[str | None] = [None] * len(parameters)
    names = [p.name for p in parameters]
    position = 0
    named = False
    for argument in arguments:
        if argument.name is None:
            if named or position >= len(parameters):
                return None
            texts[position] = sql[argument.start : argument.end]
            position += 1
            continue
        named = True
        if argument.name not in names:
            return None
        at = names.index(argument.name)
        if texts[at] is not None:
            return None
        texts[at] = sql[argument.start : argument.end]
    if any(t is None and not p.optional for t, p in zip(texts, parameters, strict=True)):
        return None
    return tuple(texts)


def _is_name(token: Token) -> bool:
    return token.kind in ("identifier", "keyword") and token.text not in ("(", ")")




# -- the SQL standing in for a call ------------------------------------------------------
def argument_list(call: Call) -> list[str]:
    """Each given argument cast to its parameter's type (those left out: absent)."""
    return [
        f"CAST(({text}) AS {p.type})"
        for text, p in zip(call.arguments, call.signature.parameters, strict=True)
        if text is not None
    ]


def _alias(call: Call) -> str:
    return "" if call.alias else f" AS {quote_ident(call.relation)}"


def stand_in(call: Call, columns: Sequence[tuple[str, str]]) -> str:
    """A relation with the call's columns and no rows; its arguments are bound (types
    checked, parameters typed, what they read seen by the privilege check), not run."""
    selected = ", ".join(
        f"CAST(NULL AS {kind}) AS {quote_ident(name)}" for name, kind in columns
    )
    arguments = argument_list(call)
    source = f" FROM (SELECT {', '.join(arguments)})" if arguments else ""
    return f"(SELECT {selected}{source} WHERE false){_alias(call)}"


def scan(call: Call, stream: str, columns: Sequence[tuple[str, str]]) -> str:
    """The relation reading the rows the engine registered as ``stream``, as the declared
    types (the stand-in's, which Describe reported)."""
    selected = ", ".join(
        f"CAST({quote_ident(name)} AS {kind}) AS {quote_ident(name)}" for name, kind in columns
    )
    return f"(SELECT {selected} FROM {quote_ident(stream)}){_alias(call)}"


def literal_value(text: str, function: str = "", argument: str = "") -> object:
    """The value of a constant argument written as a plain literal (for a describe hook
    at Parse): numbers, strings, booleans and NULL; 0A000 for anything else."""
    stripped = text.strip()
    upper = stripped.upper()
    if upper == "NULL":
        return None
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE"
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == "'":
        return stripped[1:-1].replace("''", "'")
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        pass
    # Describe answers before Bind: a parameter has no value yet, and a column or an
    # expression has none at all before the statement runs (PostgreSQL too must know a
    # statement's columns at Describe).
    what = ("a parameter, which has no value before Bind" if stripped.startswith("$")
            else "not a constant")
    raise errors.FeatureNotSupported(
        f"the columns of table function {function or '?'} depend on its argument "
        f"{argument or '?'}, which must be a constant written in the statement: "
        f"{stripped} is {what}",
        hint="Give that argument as a literal; the other arguments may be parameters, "
        "subqueries or LATERAL references when the function's columns do not depend on "
        "them.",
    )


def columns_of(call: Call) -> Sequence[tuple[str, str]]:
    """The call's output columns: declared, or computed by its describe hook."""
    signature = call.signature
    if signature.describe is None:
        return signature.columns
    wanted = signature.described_by
    given = {
        p.name: literal_value(text, signature.name, p.name)
        for p, text in zip(signature.parameters, call.arguments, strict=True)
        if text is not None and (wanted is None or p.name in wanted)
    }
    return signature.describe(given)


def kept_for_later(source: Source) -> bool:
    """CREATE [OR REPLACE] [TEMP] VIEW and PREPARE keep the calls, and DuckDB runs them
    (through the functions' table macros) each time the view is read or the statement is
    executed: the server cannot expand a call whose statement runs later."""
    words = [t.upper for t in source.tokens[:6] if t.kind == "keyword"]
    if words[:1] == ["PREPARE"]:
        return True
    if words[:1] != ["CREATE"]:
        return False
    rest = [w for w in words[1:] if w not in ("OR", "REPLACE", "TEMP", "TEMPORARY")]
    return rest[:1] == ["VIEW"]


def _edits(source: Source) -> Iterator[Edit]:
    if kept_for_later(source):
        for call in calls(source):
            if call.signature.describe is not None:
                raise errors.FeatureNotSupported(
                    f"table function {call.signature.name} can only be called directly: "
                    "its columns depend on its arguments (not in a view or PREPARE)"
                )
        return
    for call in calls(source):
        yield Edit(call.start, call.end, stand_in(call, columns_of(call)))


def names_stream(source: Source) -> bool:
    """Whether the text names a registered stream (reserved to the server)."""
    return any(
        _is_name(t) and name_of(t).lower().startswith(STREAM_PREFIX) for t in source.tokens
    )


RULES = (Rule("table_functions", _edits, REGISTERED.wants),)
