"""Exceptions of extension functions become the client's error: wrapped functions keep
the exception; unwrapped (row-wise, the hot path) ones are read back from DuckDB's report."""

from __future__ import annotations

import textwrap

import duckdb
import pytest

from forge_sql.plugins import faults, loader, scalars

SOURCE = '''
from forge_sql.ext import Context, ExtensionError, scalar


def helper(x):
    return 10 // x


@scalar
def divide(x: int) -> int:
    return helper(x)


@scalar
def refuse(x: int) -> int:
    raise ExtensionError("no", "22023", detail="why", hint="how")


@scalar
def with_context(x: int, *, ctx: Context) -> int:
    return 10 // x
'''


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    directory = tmp_path_factory.mktemp("faults")
    (directory / "errs.py").write_text(textwrap.dedent(SOURCE))
    registry = loader.load([directory], entry_points=False)
    connection = duckdb.connect()
    env = scalars.Environment(lambda token: scalars.Caller("u", False), {}, {})
    scalars.register(connection, registry, env)
    return connection


def error(con: duckdb.DuckDBPyConnection, sql: str, superuser: bool = False) -> object:
    with pytest.raises(duckdb.Error) as caught:
        con.execute(sql).fetchall()
    return faults.error_of(caught.value, superuser)


@pytest.mark.parametrize("call", ["divide(0)", "with_context(0)"])
def test_an_exception_names_the_function_and_line(con: duckdb.DuckDBPyConnection,
                                                  call: str) -> None:
    fault = error(con, f"SELECT forge_ext.public.{call}")
    assert isinstance(fault, faults.FaultError)
    assert fault.sqlstate == "38000"
    assert fault.message == "ZeroDivisionError: integer division or modulo by zero"
    assert "errs.py:" in (fault.detail or "") and call.split("(")[0] in (fault.detail or "")
    assert fault.context is None
    traced = error(con, f"SELECT forge_ext.public.{call}", superuser=True)
    assert isinstance(traced, faults.FaultError)
    assert "errs.py" in (traced.context or "")


def test_extension_error_keeps_its_sqlstate(con: duckdb.DuckDBPyConnection) -> None:
    fault = error(con, "SELECT forge_ext.public.refuse(1)")
    assert isinstance(fault, faults.FaultError)
    assert (fault.sqlstate, fault.message, fault.hint) == ("22023", "no", "how")
    assert (fault.detail or "").startswith("why\nFunction public.refuse()")


def test_other_errors_are_not_taken(con: duckdb.DuckDBPyConnection) -> None:
    assert error(con, "SELECT 1 / 'x'::INTEGER") is None


def test_unrelated_exceptions_are_not_taken() -> None:
    assert faults.error_of(RuntimeError("unrelated"), True) is None
