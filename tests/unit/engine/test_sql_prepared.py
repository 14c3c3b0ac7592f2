"""Reading SQL PREPARE, EXECUTE and DEALLOCATE (engine.sql_prepared)."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine import sql_prepared
from forge_sql.sql.statements import classify


def test_prepare() -> None:
    found = sql_prepared.parse_prepare(classify("PREPARE Top AS SELECT * FROM f($1)"))
    assert found == sql_prepared.Prepare("top", "SELECT * FROM f($1)")


@pytest.mark.parametrize(
    ("sql", "name", "arguments"),
    [
        ("EXECUTE p", "p", ()),
        ('EXECUTE "P" (1, \'a, b\', f(2, 3), ARRAY[1, 2])',
         "P", ("1", "'a, b'", "f(2, 3)", "ARRAY[1, 2]")),
    ],
)
def test_execute(sql: str, name: str, arguments: tuple[str, ...]) -> None:
    assert sql_prepared.parse_execute(classify(sql)) == sql_prepared.Execute(name, arguments)


def test_deallocate() -> None:
    assert sql_prepared.deallocated(classify("DEALLOCATE PREPARE p")) == "p"
    assert sql_prepared.deallocated(classify("DEALLOCATE ALL")) == ""
    assert sql_prepared.deallocated(classify("DISCARD ALL")) is None


def test_arguments_query_counts_them() -> None:
    execute = sql_prepared.Execute("p", ("1", "'x' || 'y'"))
    assert sql_prepared.arguments_query(execute, 2) == (
        "SELECT (1) AS \"a0\", ('x' || 'y') AS \"a1\""
    )
    with pytest.raises(errors.SyntaxError_) as caught:
        sql_prepared.arguments_query(execute, 1)
    assert caught.value.sqlstate == "42601"
