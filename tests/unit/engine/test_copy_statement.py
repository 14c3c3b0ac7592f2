"""COPY statements in both PostgreSQL option syntaxes."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine import copy_statement as copy
from forge_sql.sql.statements import classify


def parse(sql: str) -> copy.CopyStatement:
    statement = classify(sql)
    assert statement.kind == "COPY"
    return copy.parse(statement)


def test_text_defaults() -> None:
    parsed = parse("COPY t FROM STDIN")
    assert (parsed.direction, parsed.table, parsed.columns) == ("in", "t", ())
    fmt = parsed.format
    assert (fmt.kind, fmt.delimiter, fmt.null, fmt.header) == ("text", "\t", "\\N", False)


def test_csv_options_new_syntax() -> None:
    parsed = parse(
        "COPY s.t (a, \"B\") FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', "
        "NULL 'NA', QUOTE '''', ESCAPE '\\', FORCE_NULL (a), FORCE_NOT_NULL (\"B\"))"
    )
    assert parsed.table == "s.t"
    assert parsed.columns == ("a", "B")
    fmt = parsed.format
    assert (fmt.kind, fmt.header, fmt.delimiter, fmt.null) == ("csv", True, ";", "NA")
    assert (fmt.quote, fmt.escape) == ("'", "\\")
    assert (fmt.force_null, fmt.force_not_null) == (("a",), ("B",))


def test_csv_options_old_syntax() -> None:
    fmt = parse("COPY t TO STDOUT WITH CSV HEADER DELIMITER AS '|' FORCE QUOTE *").format
    assert (fmt.kind, fmt.header, fmt.delimiter, fmt.null) == ("csv", True, "|", "")
    assert fmt.force_quote == ("*",)


def test_query_and_binary() -> None:
    parsed = parse("COPY (SELECT a, (b + 1) FROM t WHERE c > 2) TO STDOUT (FORMAT binary)")
    assert parsed.query == "SELECT a, (b + 1) FROM t WHERE c > 2"
    assert parsed.select_sql() == parsed.query
    assert parsed.format.binary


def test_select_sql_of_a_table() -> None:
    assert parse("COPY t (a, b) TO STDOUT").select_sql() == 'SELECT "a", "b" FROM t'


@pytest.mark.parametrize(
    ("sql", "plain"),
    [
        # what pgbench -i sends
        ("COPY pgbench_accounts FROM STDIN WITH (FREEZE ON)", "COPY pgbench_accounts FROM STDIN"),
        ("COPY t FROM STDIN (FORMAT csv, FREEZE)", "COPY t FROM STDIN (FORMAT csv)"),
        ("COPY t FROM STDIN (FREEZE false)", "COPY t FROM STDIN"),
        ("COPY t FROM STDIN WITH CSV FREEZE", "COPY t FROM STDIN WITH CSV"),
    ],
)
def test_freeze_changes_nothing(sql: str, plain: str) -> None:
    assert parse(sql) == parse(plain)


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("COPY t FROM STDIN (FREEZE maybe)", errors.SyntaxError_),
        ("COPY t FROM STDIN (FORMAT xml)", errors.InvalidParameterValue),
        ("COPY t FROM STDIN (FORMAT binary, HEADER)", errors.SyntaxError_),
        ("COPY t FROM STDIN (DELIMITER ',,')", errors.FeatureNotSupported),
        ("COPY t FROM STDIN (FORMAT csv, DELIMITER '\"')", errors.InvalidParameterValue),
        ("COPY t FROM STDIN (FORCE_NULL (a))", errors.FeatureNotSupported),
        ("COPY t FROM STDIN (BOGUS 1)", errors.SyntaxError_),
        ("COPY t FROM STDIN (ENCODING 'LATIN1')", errors.FeatureNotSupported),
        ("COPY (SELECT 1) FROM STDIN", errors.SyntaxError_),
        ("COPY t TO STDIN", errors.InsufficientPrivilege),
    ],
)
def test_refused(sql: str, error: type[errors.ForgeError]) -> None:
    with pytest.raises(error):
        parse(sql)
