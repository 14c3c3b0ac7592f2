"""COPY ... FROM STDIN / TO STDOUT: the statement's parts, and the sink that inserts rows.

Both PostgreSQL spellings of the options are accepted: ``WITH (FORMAT csv, HEADER)`` and
the older ``WITH CSV HEADER DELIMITER ','`` (PostgreSQL docs, "COPY", Compatibility).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from forge_sql import errors
from forge_sql.seam.backend import CopyFormat
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement, Token

_FLAGS = {"HEADER", "FREEZE", "CSV", "BINARY", "TEXT"}
_BOOLEANS = {"true", "false", "on", "off", "1", "0", "yes", "no"}


@dataclass(frozen=True, slots=True)
class CopyStatement:
    """``COPY target FROM STDIN`` or ``COPY target|(query) TO STDOUT``."""

    direction: str  # "in" or "out"
    table: str | None  # qualified name as written, None for a query
    columns: tuple[str, ...]  # explicit column list, () for all
    query: str | None  # COPY (query) TO STDOUT
    format: CopyFormat

    def relation_name(self) -> str:
        """The table's own name, unquoted, as PostgreSQL prints it in error context."""
        name = (self.table or "").rpartition(".")[2]
        if name.startswith('"') and name.endswith('"'):
            return name[1:-1].replace('""', '"')
        return name.lower()

    def schema_name(self) -> str | None:
        """The schema part of a qualified table name, unquoted; None when unqualified."""
        parts = (self.table or "").split(".")
        if len(parts) < 2:
            return None
        name = parts[-2]
        return name[1:-1] if name.startswith('"') else name.lower()

    def select_sql(self) -> str:
        """The query whose rows COPY TO sends."""
        if self.query is not None:
            return self.query
        columns = ", ".join(quote_ident(c) for c in self.columns) or "*"
        return f"SELECT {columns} FROM {self.table}"


def parse(statement: Statement) -> CopyStatement:
    tokens = statement.tokens
    sql = statement.sql
    index = 1
    table: str | None = None
    query: str | None = None
    columns: tuple[str, ...] = ()
    if index < len(tokens) and tokens[index].text == "(":
        end = _closing(tokens, index)
        query = sql[tokens[index + 1].start : tokens[end].start].strip()
        index = end + 1
    else:
        start = index
        while index < len(tokens) and tokens[index].upper not in ("FROM", "TO", "("):
            index += 1
        if index == start:
            raise errors.SyntaxError_("COPY needs a table name or a (query)")
        table = sql[tokens[start].start : tokens[index - 1].end]
        if index < len(tokens) and tokens[index].text == "(":
            end = _closing(tokens, index)
            columns = tuple(
                t.text.strip('"') if t.text.startswith('"') else t.text.lower()
                for t in tokens[index + 1 : end]
                if t.text != ","
            )
            index = end + 1
    if index + 1 >= len(tokens) or tokens[index].upper not in ("FROM", "TO"):
        raise errors.SyntaxError_("COPY needs FROM STDIN or TO STDOUT")
    direction = "in" if tokens[index].upper == "FROM" else "out"
    target = tokens[index + 1].upper
    if (direction, target) not in (("in", "STDIN"), ("out", "STDOUT")):
        raise errors.InsufficientPrivilege(
            "permission denied: COPY to or from a server file is not allowed; "
            "use COPY ... FROM STDIN or TO STDOUT"
        )
    if query is not None and direction == "in":
        raise errors.SyntaxError_("COPY FROM STDIN needs a table, not a query")
    copy_format = _options(tokens[index + 2 :], sql)
    return CopyStatement(direction, table, columns, query, copy_format)


def _closing(tokens: Sequence[Token], index: int) -> int:
    depth = 0
    for position in range(index, len(tokens)):
        text = tokens[position].text
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            if depth == 0:
                return position
    raise errors.SyntaxError_("unbalanced parentheses in COPY")


def _options(tokens: Sequence[Token], sql: str) -> CopyFormat:
    """Options in either syntax, as a CopyFormat with PostgreSQL's per-format defaults."""
    words = [t for t in tokens if t.upper not in ("WITH", "AS", ";")]
    if words and words[0].text == "(" and words[-1].text == ")":
        words = words[1:-1]
    values: dict[str, object] = {}
    index = 0
    while index < len(words):
        name = words[index].upper
        index += 1
        if name == ",":
            continue
        if name == "FORCE":  # legacy FORCE QUOTE / FORCE NOT NULL / FORCE NULL
            parts = []
            while index < len(words) and words[index].upper in ("QUOTE", "NOT", "NULL"):
                parts.append(words[index].upper)
                index += 1
            name = "FORCE_" + "_".join(parts)
        if name in ("FORCE_QUOTE", "FORCE_NULL", "FORCE_NOT_NULL"):
            names, index = _column_list(words, index)
            values[name.lower()] = names
            continue
        if name in ("CSV", "BINARY", "TEXT") and "format" not in values:
            values["format"] = name.lower()
            continue
        value: str | None = None
        if (
            index < len(words)
            and words[index].text not in (",",)
            and not (
                name in _FLAGS and words[index].upper in _FLAGS | {"DELIMITER", "NULL", "QUOTE"}
            )
        ):
            value = _literal(words[index])
            index += 1
        if name == "FORMAT":
            values["format"] = (value or "").lower()
        elif name == "HEADER":
            values["header"] = (value or "true").lower() not in ("false", "off", "0")
        elif name in ("DELIMITER", "NULL", "QUOTE", "ESCAPE", "ENCODING"):
            if value is None:
                raise errors.SyntaxError_(f"COPY option {name} needs a value")
            values[name.lower()] = value
        elif name == "FREEZE":
            # PostgreSQL's FREEZE writes rows already frozen, to spare a later VACUUM;
            # rows of this storage never need freezing, so it changes nothing.
            if (value or "true").lower() not in _BOOLEANS:
                raise errors.SyntaxError_("freeze requires a Boolean value")
        elif name in ("DEFAULT", "ON_ERROR", "LOG_VERBOSITY"):
            raise errors.FeatureNotSupported(f"COPY option {name} is not supported")
        else:
            raise errors.SyntaxError_(f'option "{name.lower()}" not recognized')
    return _copy_format(values)


def _copy_format(values: dict[str, object]) -> CopyFormat:
    kind = str(values.get("format", "text"))
    if kind not in ("text", "csv", "binary"):
        raise errors.InvalidParameterValue(f'COPY format "{kind}" not recognized')
    encoding = str(values.get("encoding", "UTF8")).upper().replace("-", "")
    if encoding not in ("UTF8", "UNICODE"):
        raise errors.FeatureNotSupported(f'COPY encoding "{encoding}": only UTF8 is supported')
    base = CopyFormat(kind=kind)
    if kind == "csv":
        base = replace(base, delimiter=",", null="")
    quote = str(values.get("quote", base.quote))
    fields: dict[str, object] = {
        "delimiter": values.get("delimiter", base.delimiter),
        "null": values.get("null", base.null),
        "quote": quote,
        "escape": values.get("escape", quote),
        "header": bool(values.get("header", False)),
    }
    for name in ("force_null", "force_not_null", "force_quote"):
        if name in values:
            listed = values[name]
            assert isinstance(listed, list)
            fields[name] = tuple(listed)
    result = replace(base, **fields)  # type: ignore[arg-type]
    _check(result)
    return result


def _check(fmt: CopyFormat) -> None:
    if fmt.binary and (fmt.header or fmt.force_quote or fmt.force_null):
        raise errors.SyntaxError_("cannot specify HEADER or FORCE options in BINARY mode")
    if len(fmt.delimiter) != 1:
        raise errors.FeatureNotSupported("COPY delimiter must be a single one-byte character")
    if fmt.kind == "csv" and (len(fmt.quote) != 1 or len(fmt.escape) != 1):
        raise errors.FeatureNotSupported("COPY quote and escape must be single characters")
    if fmt.kind == "csv" and fmt.delimiter == fmt.quote:
        raise errors.InvalidParameterValue("COPY delimiter and quote must be different")
    if fmt.delimiter in "\r\n" or (fmt.kind == "text" and fmt.delimiter == "\\"):
        raise errors.InvalidParameterValue(f"COPY delimiter cannot be {fmt.delimiter!r}")
    if fmt.kind != "csv" and (fmt.force_null or fmt.force_not_null or fmt.force_quote):
        raise errors.FeatureNotSupported("COPY FORCE options are available only in CSV mode")


def _column_list(words: Sequence[Token], index: int) -> tuple[list[str], int]:
    names: list[str] = []
    parenthesised = index < len(words) and words[index].text == "("
    if parenthesised:
        index += 1
    while index < len(words):
        text = words[index].text
        if text == ")" and parenthesised:
            return names, index + 1
        if text == ",":
            index += 1
            continue
        if not parenthesised and names and words[index - 1].text != ",":
            break
        names.append(text.strip('"') if text.startswith('"') else text.lower())
        index += 1
    return names, index


def _literal(token: Token) -> str:
    text = token.text
    if text[:2].upper() == "E'":
        body = text[2:-1]
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text
