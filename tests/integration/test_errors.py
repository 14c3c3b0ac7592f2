"""ErrorResponse fields as PostgreSQL sends them: SQLSTATE, position, and a usable session after."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pgerrors

# (statement, SQLSTATE, psycopg error class); {t} is an existing table with column a.
CASES = [
    ("SELEC 1", "42601", pgerrors.SyntaxError),
    ("SELECT 1 +", "42601", pgerrors.SyntaxError),
    ("SELECT * FROM no_such_table_x", "42P01", pgerrors.UndefinedTable),
    ("SELECT no_such_column FROM {t}", "42703", pgerrors.UndefinedColumn),
    ("SELECT no_such_function(1)", "42883", pgerrors.UndefinedFunction),
    ("CREATE TABLE {t} (a INTEGER)", "42P07", pgerrors.DuplicateTable),
    ("SELECT 'x'::INTEGER", "22P02", pgerrors.InvalidTextRepresentation),
    ("SELECT 40000::SMALLINT", "22003", pgerrors.NumericValueOutOfRange),
    ("SELECT 2147483647::INTEGER + 1", "22003", pgerrors.NumericValueOutOfRange),
    ("INSERT INTO {t} VALUES (NULL)", "23502", pgerrors.NotNullViolation),
]


@pytest.fixture
def table(conn: psycopg.Connection, table_name: str) -> str:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER NOT NULL)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1), (2)")
    return table_name


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
@pytest.mark.parametrize(("sql", "sqlstate", "error_class"), CASES,
                         ids=[f"{c[1]}-{c[0][:24]}" for c in CASES])
def test_sqlstate_and_session_usable(conn: psycopg.Connection, table: str, prepare: bool,
                                     sql: str, sqlstate: str,
                                     error_class: type[psycopg.Error]) -> None:
    """Each error carries its SQLSTATE (simple and extended protocol); the next query works."""
    statement = sql.format(t=table)
    with pytest.raises(error_class) as info:
        if prepare:
            conn.execute(statement, (), prepare=True)
        else:
            conn.execute(statement)
    assert info.value.sqlstate == sqlstate
    assert info.value.diag.severity == "ERROR"
    assert info.value.diag.severity_nonlocalized == "ERROR"
    assert info.value.diag.message_primary
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)


def test_many_errors_in_a_row_keep_the_session(conn: psycopg.Connection) -> None:
    for index in range(30):
        with pytest.raises(pgerrors.UndefinedTable):
            conn.execute(f"SELECT * FROM missing_{index}")
        assert conn.execute("SELECT %s::INTEGER", (index,)).fetchone() == (index,)


@pytest.mark.parametrize(("sql", "position"), [
    ("SELECT * FROM no_such_table_x", 15),
    ("SELEC 1", 1),
    ("SELECT no_such_function(1)", 8),
    ("SELECT 1,\n  no_such_function(2)", 13),
])
def test_error_position(conn: psycopg.Connection, sql: str, position: int) -> None:
    """``P`` is the 1-based character offset of the error in the statement text."""
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    assert info.value.diag.statement_position == str(position)


def test_error_position_counts_characters_not_bytes(conn: psycopg.Connection) -> None:
    sql = "SELECT 'ééé', * FROM no_such_table_y"
    with pytest.raises(pgerrors.UndefinedTable) as info:
        conn.execute(sql)
    assert info.value.diag.statement_position == str(sql.index("no_such_table_y") + 1)


def test_error_position_in_second_statement_of_a_simple_query(conn: psycopg.Connection) -> None:
    """PostgreSQL's position counts from the start of the whole query string."""
    sql = "SELECT 1; SELECT * FROM no_such_table_z"
    with pytest.raises(pgerrors.UndefinedTable) as info:
        conn.execute(sql)
    assert info.value.diag.statement_position == str(sql.index("no_such_table_z") + 1)


def test_error_in_simple_query_rolls_back_the_whole_message(conn: psycopg.Connection,
                                                            table: str) -> None:
    """Several statements in one Query run as one implicit transaction ("55.2.2.1"):
    an error in a later one rolls back the earlier ones."""
    with pytest.raises(pgerrors.UndefinedTable):
        conn.execute(f"INSERT INTO {table} VALUES (3); SELECT * FROM no_such_table_w")
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)


def test_feature_not_supported(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    with pytest.raises(pgerrors.FeatureNotSupported) as info:
        conn.execute("LISTEN channel")
    assert info.value.sqlstate == "0A000"
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT 42").fetchone() == (42,)


def test_error_with_hint_and_detail_fields_are_strings(conn: psycopg.Connection) -> None:
    with pytest.raises(pgerrors.UndefinedFunction) as info:
        conn.execute("SELECT lower(1, 2, 3)")
    diag = info.value.diag
    assert diag.sqlstate == "42883"
    assert diag.message_hint is None or isinstance(diag.message_hint, str)
    assert "lower" in (diag.message_primary or "")


def test_parameter_of_wrong_type_is_an_error_not_a_crash(conn: psycopg.Connection,
                                                         table: str) -> None:
    with pytest.raises(pgerrors.InvalidTextRepresentation) as info:
        conn.cursor().execute(f"SELECT * FROM {table} WHERE a = %s", ("not a number",))
    assert info.value.sqlstate == "22P02"
    assert conn.execute(f"SELECT count(*) FROM {table} WHERE a = %s", (1,)).fetchone() == (1,)
