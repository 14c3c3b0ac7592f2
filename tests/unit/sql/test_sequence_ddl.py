"""CREATE / ALTER / DROP SEQUENCE parsed from tokens (forge_sql.sql.sequence_ddl), and the
definitions they give, checked as PostgreSQL checks them (forge_sql.engine.sequences)."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine.sequences import declare
from forge_sql.sql import sequence_ddl
from forge_sql.sql.statements import split


def parse(sql: str) -> sequence_ddl.SequenceCommand:
    statement = split(sql)[0]
    assert statement.kind == "SEQUENCE"
    return sequence_ddl.parse(statement)


def test_every_option_of_create() -> None:
    command = parse(
        'CREATE SEQUENCE IF NOT EXISTS s."Seq" AS int INCREMENT BY -2 MINVALUE -10 '
        "NO MAXVALUE START WITH -1 CACHE 20 CYCLE OWNED BY t.id"
    )
    assert command.verb == "CREATE" and command.if_exists
    assert command.names == (("s", "Seq"),)
    assert command.options == {
        "as": "integer", "increment": -2, "minvalue": -10, "maxvalue": None, "start": -1,
        "cache": 20, "cycle": True, "owned_by": ("t", "id"),
    }


def test_alter_restart_rename_and_drop_lists() -> None:
    assert parse("ALTER SEQUENCE s RESTART").options == {"restart": None}
    assert parse("ALTER SEQUENCE s RESTART WITH 5 NO CYCLE").options == {
        "restart": 5, "cycle": False}
    assert parse("ALTER SEQUENCE IF EXISTS s RENAME TO t").rename_to == "t"
    dropped = parse("DROP SEQUENCE IF EXISTS a, b.c CASCADE")
    assert dropped.names == (("a",), ("b", "c")) and dropped.cascade and dropped.if_exists


@pytest.mark.parametrize("sql", ["CREATE SEQUENCE s INCREMENT 1 INCREMENT 2",
                                 "CREATE SEQUENCE s WHATEVER 3", "DROP SEQUENCE s t"])
def test_syntax_errors(sql: str) -> None:
    with pytest.raises(errors.SyntaxError_):
        parse(sql)


def test_defaults_follow_the_increment_and_type() -> None:
    up = declare("public", "s", {})
    assert (up.start, up.minimum, up.maximum) == (1, 1, 2**63 - 1)
    down = declare("public", "s", {"increment": -1, "as": "smallint"})
    assert (down.start, down.minimum, down.maximum) == (-1, -32768, -1)


@pytest.mark.parametrize(("options", "message"), [
    ({"increment": 0}, "INCREMENT must not be zero"),
    ({"minvalue": 5, "maxvalue": 5}, "MINVALUE (5) must be less than MAXVALUE (5)"),
    ({"start": 0}, "START value (0) cannot be less than MINVALUE (1)"),
    ({"as": "smallint", "maxvalue": 40000},
     "MAXVALUE (40000) is out of range for sequence data type smallint"),
    ({"cache": 0}, "CACHE (0) must be greater than zero"),
])
def test_refused_definitions(options: dict[str, object], message: str) -> None:
    with pytest.raises(errors.InvalidParameterValue, match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        declare("public", "s", options)
