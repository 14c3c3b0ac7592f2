"""CREATE / ALTER / DROP SEQUENCE parsed from the token stream (DuckDB's parser refuses
PostgreSQL's CACHE, AS type, OWNED BY and NO MINVALUE), as PostgreSQL's grammar has them
(docs: sql-createsequence, sql-altersequence, sql-dropsequence)."""

from __future__ import annotations

from dataclasses import dataclass, field

from forge_sql import errors
from forge_sql.sql.statements import Statement
from forge_sql.sql.words import WordReader

# Option -> its value: an int, None for NO MINVALUE / NO MAXVALUE / RESTART without a
# value / OWNED BY NONE, a bool for [NO] CYCLE, a type name for AS, (table..., column) for
# OWNED BY.
Options = dict[str, object]

TYPE_NAMES = {
    "smallint": "smallint", "int2": "smallint",
    "integer": "integer", "int": "integer", "int4": "integer",
    "bigint": "bigint", "int8": "bigint",
}


@dataclass(frozen=True)
class SequenceCommand:
    verb: str  # CREATE, ALTER or DROP
    names: tuple[tuple[str, ...], ...]  # DROP may name several
    options: Options = field(default_factory=dict)
    if_exists: bool = False  # IF EXISTS (ALTER, DROP) or IF NOT EXISTS (CREATE)
    temporary: bool = False
    cascade: bool = False
    rename_to: str | None = None


def parse(statement: Statement) -> SequenceCommand:
    """The command ``statement`` (of kind SEQUENCE) spells."""
    r = WordReader(statement)
    verb = r.peek()
    r.at += 1
    temporary = r.take("TEMP") or r.take("TEMPORARY")
    r.take("UNLOGGED")
    r.take("SEQUENCE")
    if verb == "DROP":
        if_exists = r.take("IF", "EXISTS")
        names = [r.name()]
        while r.take(","):
            names.append(r.name())
        cascade = r.take("CASCADE")
        r.take("RESTRICT")
        if not r.done():
            raise r.fail()
        return SequenceCommand(verb, tuple(names), if_exists=if_exists, cascade=cascade)
    if_exists = r.take("IF", "NOT", "EXISTS") if verb == "CREATE" else r.take("IF", "EXISTS")
    name = r.name()
    if verb == "ALTER" and r.take("RENAME", "TO"):
        new = r.name()
        if not r.done() or len(new) != 1:
            raise r.fail()
        return SequenceCommand(verb, (name,), if_exists=if_exists, rename_to=new[0])
    options = _options(r, verb)
    return SequenceCommand(verb, (name,), options, if_exists, temporary)


def _options(r: WordReader, verb: str) -> Options:
    options: Options = {}

    def once(key: str, value: object) -> None:
        if key in options:
            raise errors.SyntaxError_("conflicting or redundant options")
        options[key] = value

    while not r.done():
        if r.take("AS"):
            type_name = r.name()[-1]
            if type_name not in TYPE_NAMES:
                raise errors.InvalidParameterValue(
                    "sequence type must be smallint, integer, or bigint"
                )
            once("as", TYPE_NAMES[type_name])
        elif r.take("INCREMENT"):
            r.take("BY")
            once("increment", r.integer())
        elif r.take("MINVALUE"):
            once("minvalue", r.integer())
        elif r.take("MAXVALUE"):
            once("maxvalue", r.integer())
        elif r.take("NO", "MINVALUE"):
            once("minvalue", None)
        elif r.take("NO", "MAXVALUE"):
            once("maxvalue", None)
        elif r.take("NO", "CYCLE"):
            once("cycle", False)
        elif r.take("CYCLE"):
            once("cycle", True)
        elif r.take("START"):
            r.take("WITH")
            once("start", r.integer())
        elif r.take("CACHE"):
            once("cache", r.integer())
        elif verb == "ALTER" and r.take("RESTART"):
            r.take("WITH")
            number = not r.done() and (
                r.peek() in ("-", "+") or r.tokens[r.at].kind == "numeric_const")
            once("restart", r.integer() if number else None)
        elif r.take("OWNED", "BY"):
            if r.take("NONE"):
                once("owned_by", None)
            else:
                owner = r.name()
                if len(owner) < 2:
                    raise errors.InvalidParameterValue(
                        "invalid OWNED BY option",
                    )
                once("owned_by", owner)
        else:
            raise r.fail()
    return options
