"""Views that call Python table functions, expanded in the statements that read them, as
PostgreSQL's rewriter expands views: ``SELECT * FROM v`` becomes ``SELECT * FROM (body) AS
v``, so the calls in the body reach the server's own expansion (sql.table_functions), which
streams the rows, instead of DuckDB's table macros, which hold each call's rows whole.

Only views whose body calls a registered table function, directly or through another such
view, are expanded; a statement naming none is left as written. The privilege check reads
the client's statement (the view's relations against its owner, its functions against
the reader), never the expansion.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.sql import table_functions
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.rewrite import Edit, Source, apply
from forge_sql.sql.syntax import closing
from forge_sql.sql.syntax import name as name_of
from forge_sql.sql.tokens import Token, tokenize

DEFAULT_SCHEMA = "public"  # where unqualified names resolve (the session's search path)
_MAX_DEPTH = 16  # views inside views: as grants._MAX_VIEW_DEPTH, past it nothing expands


@dataclass(frozen=True, slots=True)
class View:
    """A view to expand: its schema, name, query and the column names given in CREATE
    VIEW v (a, b) (empty: the query's own)."""

    schema: str
    name: str
    body: str
    columns: tuple[str, ...] = ()

    def replacement(self) -> str:
        """The body as a FROM item (the caller adds the alias)."""
        if not self.columns:
            return f"({self.body})"
        names = ", ".join(quote_ident(c) for c in self.columns)
        return f"(SELECT * FROM ({self.body}) AS {quote_ident(self.name)}({names}))"


def calling(
    relations: Mapping[tuple[str, str], str | None],
    registered: table_functions.Registered = table_functions.REGISTERED,
) -> dict[tuple[str, str], View]:
    """The views of ``relations`` ((schema, name) -> CREATE VIEW text, None for a table)
    whose query calls a registered table function, directly or through such views."""
    parsed: dict[tuple[str, str], tuple[View, list[tuple[str, str]]]] = {}
    found: dict[tuple[str, str], View] = {}
    for key, sql in relations.items():
        if not sql:
            continue
        view = _parse(key, sql)
        if view is None:
            continue
        source = Source.of(view.body, tokenize(view.body))
        try:
            direct = registered.wants(view.body) and bool(
                table_functions.calls(source, registered))
        except errors.ForgeError:
            continue  # a call that no longer binds: left to DuckDB, which reports it
        if direct:
            found[key] = view
        else:
            parsed[key] = (view, [
                name if name in relations else (DEFAULT_SCHEMA, name[1])
                for _, name, _ in _names(source, view.schema)
            ])
    changed = True
    while changed:  # through views of such views
        changed = False
        for key, (view, names) in list(parsed.items()):
            if any(name in found for name in names):
                found[key] = view
                del parsed[key]
                changed = True
    return found


def _parse(key: tuple[str, str], sql: str) -> View | None:
    """The schema, name, column names and query of DuckDB's CREATE VIEW text."""
    tokens = [t for t in tokenize(sql) if t.kind != "comment"]
    index = next((i for i, t in enumerate(tokens) if t.upper == "VIEW"), None)
    if index is None:
        return None
    index += 1
    while index < len(tokens) and (tokens[index].text == "." or _is_name(tokens[index])) \
            and tokens[index].upper != "AS":
        index += 1
    columns: list[str] = []
    if index < len(tokens) and tokens[index].text == "(":
        index += 1
        while index < len(tokens) and tokens[index].text != ")":
            if tokens[index].text != ",":
                columns.append(name_of(tokens[index]))
            index += 1
        index += 1
    if index >= len(tokens) or tokens[index].upper != "AS" or index + 1 >= len(tokens):
        return None
    body = sql[tokens[index + 1].start :].rstrip().rstrip(";").rstrip()
    return View(key[0], key[1], body, tuple(columns))


def _names(source: Source, schema: str) -> Iterator[tuple[int, tuple[str, str], int]]:
    """The relations named as FROM items: (first token, (schema, name), token after),
    an unqualified name taken in ``schema``; CTE names left out."""
    tokens = source.tokens
    ctes = _cte_names(tokens)
    for index in table_functions.item_starts(tokens):
        assert index is not None
        at = index
        if at < len(tokens) and tokens[at].upper == "LATERAL":
            continue
        if at + 2 < len(tokens) and tokens[at + 1].text == "." and _is_name(tokens[at]) \
                and _is_name(tokens[at + 2]):
            if at + 3 < len(tokens) and tokens[at + 3].text in (".", "("):
                continue  # catalog.schema.name, or a function
            yield index, (name_of(tokens[at]), name_of(tokens[at + 2])), at + 3
        elif at < len(tokens) and _is_name(tokens[at]):
            if at + 1 < len(tokens) and tokens[at + 1].text in (".", "("):
                continue
            name = name_of(tokens[at])
            if name not in ctes:
                yield index, (schema, name), at + 1


def _cte_names(tokens: Sequence[Token]) -> frozenset[str]:
    """Names a WITH clause defines anywhere in the statement (``name [(cols)] AS (``)."""
    found = set()
    for index in range(len(tokens) - 2):
        token = tokens[index]
        if not _is_name(token):
            continue
        following = tokens[index + 1]
        if following.upper == "AS" and tokens[index + 2].text == "(":
            found.add(name_of(token))
        elif following.text == "(":
            close = closing(tokens, index + 1)
            close = len(tokens) if close is None else close
            if close + 2 < len(tokens) and tokens[close + 1].upper == "AS" \
                    and tokens[close + 2].text == "(":
                found.add(name_of(token))
    return frozenset(found)


def named(sql: str, views: Mapping[tuple[str, str], View]) -> bool:
    """Whether ``sql`` may read one of ``views`` (a cheap test of the text)."""
    if not views:
        return False
    lowered = sql.lower()
    return any(name in lowered for _, name in views)


def expand(sql: str, views: Mapping[tuple[str, str], View],
           relations: Mapping[tuple[str, str], str | None] | None = None) -> str | None:
    """``sql`` with every view of ``views`` it reads replaced by its query (views in
    views too); None when it reads none. ``relations``: the lake's relations, by which an
    unqualified name in a view of another schema than public is qualified with it (DuckDB
    binds a view's query in its own schema first)."""
    if not named(sql, views):
        return None
    text = sql
    for _ in range(_MAX_DEPTH):
        replaced = _expand_once(text, views, relations or {})
        if replaced is None:
            return None if text is sql else text
        text = replaced
    return text


def _expand_once(sql: str, views: Mapping[tuple[str, str], View],
                 relations: Mapping[tuple[str, str], str | None]) -> str | None:
    source = Source.of(sql, tokenize(sql))
    tokens = source.tokens
    edits: list[Edit] = []
    for first, key, after in _names(source, DEFAULT_SCHEMA):
        view = views.get(key)
        if view is None:
            continue
        following = tokens[after] if after < len(tokens) else None
        aliased = following is not None and (
            following.upper == "AS"
            or (_is_name(following) and following.upper not in table_functions.NOT_ALIASES)
        )
        body = _qualified(view, relations)
        alias = "" if aliased else f" AS {quote_ident(view.name)}"
        edits.append(Edit(tokens[first].start, tokens[after - 1].end,
                          body.replacement() + alias))
    return apply(sql, edits) if edits else None


def _qualified(view: View, relations: Mapping[tuple[str, str], str | None]) -> View:
    """``view`` with its unqualified relation names that are in its own schema qualified,
    when that is not the schema unqualified names reach from a session."""
    if view.schema == DEFAULT_SCHEMA:
        return view
    source = Source.of(view.body, tokenize(view.body))
    edits = [
        Edit(source.tokens[first].start, source.tokens[first].start,
             f"{quote_ident(view.schema)}.")
        for first, (schema, name), after in _names(source, view.schema)
        if after == first + 1 and (schema, name) in relations
    ]
    if not edits:
        return view
    return View(view.schema, view.name, apply(view.body, edits), view.columns)


def _is_name(token: Token) -> bool:
    return token.kind in ("identifier", "keyword") and token.text not in ("(", ")")


