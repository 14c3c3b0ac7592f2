"""``CREATE TABLE ... WITH (fillfactor = 100)``: PostgreSQL's storage parameters, checked
and taken out (a rule of the rewrite pass, slot ``postgres``).

They tune PostgreSQL's heap pages, TOAST and autovacuum (docs, "CREATE TABLE", "Storage
Parameters"); this storage writes immutable Parquet files and has none of those, so each
is accepted and ignored, as is ``WITHOUT OIDS``. An unknown name is refused as PostgreSQL
refuses it (22023), and so is a fillfactor out of its bounds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from forge_sql import errors
from forge_sql.sql import syntax
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.tokens import Token

_AUTOVACUUM = (
    "autovacuum_enabled", "autovacuum_vacuum_threshold", "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_threshold", "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_threshold", "autovacuum_analyze_scale_factor",
    "autovacuum_vacuum_cost_delay", "autovacuum_vacuum_cost_limit",
    "autovacuum_freeze_min_age", "autovacuum_freeze_max_age", "autovacuum_freeze_table_age",
    "autovacuum_multixact_freeze_min_age", "autovacuum_multixact_freeze_max_age",
    "autovacuum_multixact_freeze_table_age", "log_autovacuum_min_duration",
    "vacuum_index_cleanup", "vacuum_truncate",
)
# A table's parameters, and its TOAST table's (``toast.`` prefix), as of PostgreSQL 17.
TABLE_PARAMETERS = frozenset(
    ("fillfactor", "toast_tuple_target", "parallel_workers", "user_catalog_table", "oids",
     *_AUTOVACUUM)
)
TOAST_PARAMETERS = frozenset(_AUTOVACUUM)
_PREFIX = ("OR", "REPLACE", "GLOBAL", "LOCAL", "TEMP", "TEMPORARY", "UNLOGGED")


def _edits(source: Source) -> Iterator[Edit]:
    """The WITH (...) and WITHOUT OIDS clauses of a CREATE TABLE, removed."""
    tokens = source.tokens
    at = _after_name(tokens)
    if at is None:
        return
    while at < len(tokens):
        token = tokens[at]
        if token.text == "(":
            close = syntax.closing(tokens, at)
            if close is None:
                return
            at = close + 1
        elif token.upper == "AS":
            return  # the query of CREATE TABLE AS: its WITH is a query's
        elif token.upper == "WITH" and at + 1 < len(tokens) and tokens[at + 1].text == "(":
            close = syntax.closing(tokens, at + 1)
            if close is None:
                return
            check(tokens[at + 2 : close])
            yield Edit(token.start, tokens[close].end, "")
            at = close + 1
        elif token.upper == "WITHOUT" and at + 1 < len(tokens) and tokens[at + 1].upper == "OIDS":
            yield Edit(token.start, tokens[at + 1].end, "")
            at += 2
        else:
            at += 1


def _after_name(tokens: Sequence[Token]) -> int | None:
    """The index after the table name of ``CREATE ... TABLE [IF NOT EXISTS] name``, or None
    when the statement is not a CREATE TABLE."""
    if not tokens or tokens[0].upper != "CREATE":
        return None
    at = 1
    while at < len(tokens) and tokens[at].upper in _PREFIX:
        at += 1
    if at >= len(tokens) or tokens[at].upper != "TABLE":
        return None
    at += 1
    if [t.upper for t in tokens[at : at + 3]] == ["IF", "NOT", "EXISTS"]:
        at += 3
    while at + 2 < len(tokens) and tokens[at + 1].text == ".":
        at += 2
    return at + 1


def check(tokens: Sequence[Token]) -> None:
    """Refuse what PostgreSQL refuses in a storage parameter list: unknown names (22023),
    a fillfactor outside 10..100, OIDS."""
    items: list[list[Token]] = [[]]
    for token in tokens:
        if token.text == ",":
            items.append([])
        else:
            items[-1].append(token)
    for item in items:
        if not item:
            raise errors.SyntaxError_('syntax error at or near ","')
        name = syntax.name(item[0])
        rest = item[1:]
        namespace = None
        if len(rest) >= 2 and rest[0].text == ".":
            namespace, name, rest = name, syntax.name(rest[1]), rest[2:]
        known = TOAST_PARAMETERS if namespace == "toast" else TABLE_PARAMETERS
        if namespace not in (None, "toast"):
            raise errors.InvalidParameterValue(f'unrecognized parameter namespace "{namespace}"')
        if name not in known:
            shown = f"{namespace}.{name}" if namespace else name
            raise errors.InvalidParameterValue(f'unrecognized parameter "{shown}"')
        value = ""
        if rest and rest[0].text == "=":
            value = "".join(t.text for t in rest[1:]).strip("'").lower()
        if name == "oids" and value not in ("false", "off", "0", "no"):
            raise errors.FeatureNotSupported("tables declared WITH OIDS are not supported")
        if name == "fillfactor":
            number = int(value) if re.fullmatch(r"-?\d+", value) else None
            if number is None:
                raise errors.InvalidParameterValue(
                    f'invalid value for integer option "fillfactor": {value}'
                )
            if not 10 <= number <= 100:
                raise errors.InvalidParameterValue(
                    f'value {value} out of bounds for option "fillfactor"',
                    detail="Valid values are between \"10\" and \"100\".",
                )


_WANTED = re.compile(r"\bwith(out)?\b", re.IGNORECASE)

RULE = Rule(
    "storage parameters",
    _edits,
    lambda sql: sql.lstrip()[:6].upper() == "CREATE" and _WANTED.search(sql) is not None,
)
